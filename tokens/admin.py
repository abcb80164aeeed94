"""Admin for sessions and tokens: inspect, end and revoke; never a plaintext, never a token of a
chosen value."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from core.moments import moment
from tokens.keys import SigningKey
from tokens.models import Session, Token


class LiveFilter(admin.SimpleListFilter):
    """Live or not: each choice is the queryset method of that name (tokens: ``expired``)."""

    title = _("state")
    parameter_name = "state"
    not_live = ("expired", _("expired"))

    def lookups(self, request, model_admin):
        return [("live", _("live")), self.not_live]

    def queryset(self, request, queryset):
        if self.value() in ("live", self.not_live[0]):
            return getattr(queryset, self.value())()
        return queryset


class SessionColumns:
    """The columns a session shows beside its fields, wherever it is listed (here, the user page)."""

    @admin.display(description=_("ends if unused"))
    def expiry(self, session: Session) -> str:
        return moment(session.expiry)

    @admin.display(description=_("signed in"))
    def signed_in(self, session: Session) -> str:
        return moment(session.created_at)

    @admin.display(description=_("last used"))
    def last_used(self, session: Session) -> str:
        return moment(session.last_used_at)

    @admin.display(description=_("live"), boolean=True)
    def live(self, session: Session) -> bool:
        return session.is_live()


@admin.register(Token)
class TokenAdmin(admin.ModelAdmin):
    list_display = (
        "hash_prefix",
        "user",
        "scope",
        "session",
        "device_name",
        "created_at",
        "expiry",
        "live",
        "last_used_at",
    )
    list_filter = ("scope", LiveFilter)
    list_select_related = ("user", "session")
    search_fields = ("user__phone_number", "user__name", "device_name")
    fields = (
        "hash_prefix",
        "user",
        "scope",
        "session",
        "device_name",
        "created_at",
        "expiry",
        "last_used_at",
        "spent_at",
    )
    readonly_fields = fields
    ordering = ("-created_at",)
    actions = ["revoke_selected", "revoke_users_tokens"]

    @admin.display(description=_("hash (prefix)"))
    def hash_prefix(self, token: Token) -> str:
        return token.hash_prefix

    @admin.display(description=_("live"), boolean=True)
    def live(self, token: Token) -> bool:
        return token.is_live

    @admin.action(description=_("Revoke selected tokens"))
    def revoke_selected(self, request, queryset):
        revoked = queryset.revoke()
        self.message_user(request, _("%(count)d tokens revoked.") % {"count": revoked})

    @admin.action(description=_("Revoke every token of the selected tokens' users"))
    def revoke_users_tokens(self, request, queryset):
        revoked = Token.objects.filter(user__in=queryset.values("user")).revoke()
        self.message_user(request, _("%(count)d tokens revoked.") % {"count": revoked})

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class SessionLiveFilter(LiveFilter):
    not_live = ("ended", _("ended"))


@admin.register(Session)
class SessionAdmin(SessionColumns, admin.ModelAdmin):
    list_display = ("id", "user", "device_name", "created_at", "last_used_at", "expiry", "live")
    list_filter = (SessionLiveFilter,)
    list_select_related = ("user",)
    search_fields = ("user__phone_number", "user__name", "device_name")
    fields = ("user", "device_name", "created_at", "last_used_at", "expiry", "ends_at")
    readonly_fields = fields
    ordering = ("-created_at",)
    actions = ["end_selected"]

    @admin.action(description=_("End selected sessions"))
    def end_selected(self, request, queryset):
        ended = queryset.end("ended by an admin")
        self.message_user(request, _("%(count)d sessions ended.") % {"count": ended})

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(SigningKey)
class SigningKeyAdmin(admin.ModelAdmin):
    """The keys that sign JWTs, public parts only; managed with ``manage.py signing_keys``."""

    list_display = ("kid", "algorithm", "state", "created_at", "activated_at", "retired_at", "published_until")
    list_filter = ("state", "algorithm")
    fields = ("kid", "algorithm", "state", "public_jwk", "created_at", "activated_at", "retired_at", "published_until")
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
