"""Admin for users: staff sign in with phone number + password; search by phone and name."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from tokens.models import Token


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
    readonly_fields = ("created_at", "last_login")
    actions = ["revoke_tokens"]
    fieldsets = (
        (None, {"fields": ("phone_number", "name", "password")}),
        (_("Permissions"), {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        (_("Dates"), {"fields": ("created_at", "last_login")}),
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

    @admin.action(description=_("Revoke all tokens of the selected users"))
    def revoke_tokens(self, request, queryset):
        revoked = Token.objects.filter(user__in=queryset).revoke()
        self.message_user(request, _("%(count)d tokens revoked.") % {"count": revoked})
