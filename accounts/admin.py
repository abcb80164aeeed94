"""Admin for users: staff sign in with phone number + password; search by phone and name."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from messaging.models import Message
from tokens.models import Token

RECENT_MESSAGES = 10


class SessionInline(admin.TabularInline):
    """The user's tokens; deleting one revokes it (through the one revocation path)."""

    model = Token
    fields = ("device_name", "scope", "created_at", "last_used_at", "expiry", "live")
    readonly_fields = fields
    extra = 0
    can_delete = True
    verbose_name = _("session")
    verbose_name_plural = _("sessions (tick Delete and save to revoke)")
    ordering = ("-created_at",)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(boolean=True, description=_("live"))
    def live(self, token: Token) -> bool:
        return token.is_live


class UserCreationForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("phone_number", "name")


class UserEditForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    form = UserEditForm
    add_form = UserCreationForm
    list_display = ("phone_number", "name", "created_at", "is_active", "is_staff", "live_tokens")
    list_filter = ("is_active", "is_staff", "is_superuser", "created_at")
    search_fields = ("phone_number", "name")
    ordering = ("-created_at",)
    readonly_fields = ("created_at", "last_login", "recent_messages")
    inlines = [SessionInline]
    actions = ["revoke_tokens"]
    fieldsets = (
        (None, {"fields": ("phone_number", "name", "password")}),
        (_("Permissions"), {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        (_("Dates"), {"fields": ("created_at", "last_login")}),
        (_("Recent messages to this number"), {"fields": ("recent_messages",)}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("phone_number", "name", "password1", "password2")}),)

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(live_token_count=Count("tokens", filter=Q(tokens__expiry__gt=timezone.now())))
        )

    @admin.display(description=_("live tokens"), ordering="live_token_count")
    def live_tokens(self, user: User) -> int:
        return user.live_token_count

    @admin.display(description=_("messages"))
    def recent_messages(self, user: User) -> str:
        messages = Message.objects.filter(phone_number=user.phone_number)[:RECENT_MESSAGES]
        if not messages:
            return _("none")
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    m.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                    m.channel,
                    m.status,
                    m.error_code or "",
                    m.verified_at or "",
                )
                for m in messages
            ),
        )
        header = format_html(
            "<tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
            _("sent"),
            _("channel"),
            _("status"),
            _("error"),
            _("code verified"),
        )
        return format_html('<table class="recent-messages">{}{}</table>', header, rows)

    @admin.action(description=_("Revoke all tokens of the selected users"))
    def revoke_tokens(self, request, queryset):
        revoked = Token.objects.filter(user__in=queryset).revoke()
        self.message_user(request, _("%(count)d tokens revoked.") % {"count": revoked})
