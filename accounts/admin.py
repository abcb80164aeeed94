"""Admin for users: staff sign in with phone number + password; search by phone and name."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.db.models import Count, Q
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from accounts import otp
from accounts.models import Passkey, User
from core.moments import moment
from messaging import twilio_errors
from messaging.models import Message
from tokens.admin import SessionColumns
from tokens.models import Session, Token

RECENT_ROWS = 20
EVENT_WORDS = {
    "signed_in": _("signed in"),
    "session_ended": _("session ended"),
    "wrong_code": _("wrong code"),
    "codes_lengthened": _("codes lengthened"),
    "number_locked": _("sign-in paused"),
    "number_unlocked": _("sign-in lock lifted"),
    "phone_changed": _("number changed"),
    "refresh_reused": _("refresh token reused"),
}


class SessionInline(SessionColumns, admin.TabularInline):
    """The user's live sessions; deleting one ends it (through the one revocation path)."""

    model = Session
    fields = ("device_name", "signed_in", "last_used", "expiry", "live")
    readonly_fields = fields
    extra = 0
    can_delete = True
    verbose_name = _("session")
    verbose_name_plural = _("sessions (tick Delete and save to end one)")
    ordering = ("-created_at",)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class PasskeyInline(admin.TabularInline):
    """The user's passkeys, never their keys; deleting one removes it (announced, audited)."""

    model = Passkey
    fields = ("name", "added", "last_used", "backed_up")
    readonly_fields = fields
    extra = 0
    can_delete = True
    verbose_name_plural = _("passkeys (tick Delete and save to remove one)")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description=_("added"))
    def added(self, passkey: Passkey) -> str:
        return moment(passkey.created_at)

    @admin.display(description=_("last used"))
    def last_used(self, passkey: Passkey) -> str:
        return moment(passkey.last_used_at) or _("never")


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
    """The user's page leads with who they are and what they did: number, name, status, sessions
    (live, and recently ended with how), messages and events; what only matters for staff accounts
    (groups, permissions, password) is folded away unless the user is staff."""

    form = UserEditForm
    add_form = UserCreationForm
    list_display = ("phone_number", "name", "joined", "is_active", "is_staff", "live_sessions")
    list_filter = ("is_active", "is_staff", "is_superuser", "created_at")
    search_fields = ("phone_number", "name")
    ordering = ("-created_at",)
    readonly_fields = (
        "joined", "last_signed_in", "sessions_now", "recent_messages", "recent_events", "webhook_events",
    )  # fmt: skip
    inlines = [SessionInline, PasskeyInline]
    actions = ["end_sessions", "unlock_numbers"]
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("phone_number", "name", "password1", "password2")}),)

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return self.add_fieldsets
        staff = {"fields": ("is_staff", "is_superuser", "groups", "user_permissions", "password")}
        if not obj.is_staff:
            staff["classes"] = ("collapse",)
        return (
            (None, {"fields": ("phone_number", "name", "is_active", "joined", "last_signed_in")}),
            (_("Sessions"), {"fields": ("sessions_now",)}),
            (_("Recent messages to this number"), {"fields": ("recent_messages",)}),
            (_("Recent events"), {"fields": ("recent_events", "webhook_events")}),
            (_("Staff access"), staff),
        )

    @admin.display(description=_("joined"), ordering="created_at")
    def joined(self, user: User) -> str:
        return moment(user.created_at)

    @admin.display(description=_("last signed in"))
    def last_signed_in(self, user: User) -> str:
        """By code or by passkey: the newest session's ``signed_in`` row."""
        last = user.audit_events.filter(event="signed_in").first()
        return moment(last.created_at) if last else _("never")

    @admin.display(description=_("sessions"))
    def sessions_now(self, user: User) -> str:
        """Live sessions, then the recently ended ones with how each ended (their audit rows)."""
        live = [
            (session.device_name, moment(session.created_at), moment(session.last_used_at), moment(session.expiry))
            for session in Session.objects.filter(user=user).live().order_by("-created_at")
        ]
        ended = [
            (moment(event.created_at), event.detail)
            for event in user.audit_events.filter(event="session_ended")[:RECENT_ROWS]
        ]
        columns = [_("device"), _("signed in"), _("last used"), _("ends if unused")]
        return format_html(
            "<h4>{}</h4>{}<h4>{}</h4>{}",
            _("Live"),
            _table("live-sessions", columns, live),
            _("Recently ended"),
            _table("ended-sessions", [_("ended"), _("how")], ended),
        )

    def get_queryset(self, request):
        live = Session.objects.live().values("pk")
        return super().get_queryset(request).annotate(live_session_count=Count("sessions", filter=Q(sessions__in=live)))

    @admin.display(description=_("live sessions"), ordering="live_session_count")
    def live_sessions(self, user: User) -> int:
        return user.live_session_count

    @admin.display(description=_("messages"))
    def recent_messages(self, user: User) -> str:
        messages = Message.objects.filter(phone_number=user.phone_number)[:RECENT_ROWS]
        rows = [
            (moment(m.created_at), m.channel, m.status, twilio_errors.describe(m.error_code), moment(m.verified_at))
            for m in messages
        ]
        return _table("recent-messages", [_("sent"), _("channel"), _("status"), _("error"), _("code verified")], rows)

    @admin.display(description=_("events"))
    def recent_events(self, user: User) -> str:
        rows = [
            (moment(e.created_at), EVENT_WORDS.get(e.event, e.event), e.detail)
            for e in user.audit_events.all()[:RECENT_ROWS]
        ]
        return _table("audit-events", [_("at"), _("event"), _("detail")], rows)

    @admin.display(description=_("webhook events"))
    def webhook_events(self, user: User) -> str:
        url = reverse("admin:events_event_changelist") + f"?user={user.pk}"
        return format_html('<a href="{}">{}</a>', url, _("Events sent about this user"))

    @admin.action(description=_("End every session of the selected users"))
    def end_sessions(self, request, queryset):
        ended = Session.objects.filter(user__in=queryset).end("ended by an admin")
        Token.objects.filter(user__in=queryset).revoke()  # and any token outside a session
        self.message_user(request, _("%(count)d sessions ended.") % {"count": ended})

    @admin.action(description=_("Lift the sign-in locks of the selected users' numbers"))
    def unlock_numbers(self, request, queryset):
        phones = list(queryset.values_list("phone_number", flat=True))
        for phone in phones:
            otp.unlock(phone, by=request.user.phone_number)
        self.message_user(request, _("%(count)d numbers unlocked.") % {"count": len(phones)})


def _table(css_class: str, headers: list, rows: list[tuple]) -> str:
    """A small HTML table (every value escaped), or "none"."""
    if not rows:
        return _("none")
    head = format_html_join("", "<th>{}</th>", ((header,) for header in headers))
    body = format_html_join(
        "", "<tr>{}</tr>", ((format_html_join("", "<td>{}</td>", ((cell,) for cell in row)),) for row in rows)
    )
    return format_html('<table class="{}"><tr>{}</tr>{}</table>', css_class, head, body)
