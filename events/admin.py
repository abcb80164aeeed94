"""Admin for webhooks: endpoints (a secret generated and shown once; rotate it) and every event with
its deliveries and attempts, filtered by type and state, with a resend action."""

from django.contrib import admin
from django.db.models import Q
from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy as _

from events.delivery import resend
from events.models import Delivery, Endpoint, Event, new_secret
from events.outbox import endpoints_changed


@admin.register(Endpoint)
class EndpointAdmin(admin.ModelAdmin):
    list_display = ("url", "enabled", "types", "from_environment", "failing_since", "created_at")
    list_filter = ("enabled",)
    fields = ("url", "event_types", "enabled", "failing_since", "from_environment")
    readonly_fields = ("failing_since", "from_environment")
    actions = ["rotate_secret"]

    @admin.display(description=_("event types"))
    def types(self, endpoint: Endpoint) -> str:
        return ", ".join(endpoint.event_types) or _("all")

    def save_model(self, request, obj, form, change):
        if not change:
            secret = obj.secret = new_secret()
            self.message_user(request, _("Its signing secret, shown only now: %(secret)s") % {"secret": secret})
        super().save_model(request, obj, form, change)
        endpoints_changed()

    @admin.action(description=_("Rotate the signing secret (shown once)"))
    def rotate_secret(self, request, queryset):
        for endpoint in queryset.filter(from_environment=False):
            endpoint.secret = secret = new_secret()
            endpoint.save(update_fields=["sealed_secret"])
            self.message_user(request, _("%(url)s signs with %(secret)s") % {"url": endpoint.url, "secret": secret})


class DeliveryStateFilter(admin.SimpleListFilter):
    title = _("delivery")
    parameter_name = "delivery"

    def lookups(self, request, model_admin):
        return [("pending", _("pending")), ("delivered", _("delivered")), ("failed", _("failed"))]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(deliveries__state=self.value()).distinct()
        return queryset


class UserFilter(admin.SimpleListFilter):
    """The events about one user (the user page links here): ``?user=<id>``."""

    title = _("user")
    parameter_name = "user"

    def lookups(self, request, model_admin):
        value = self.value()
        return [(value, value)] if value and value.isdigit() else []

    def queryset(self, request, queryset):
        if self.value() and self.value().isdigit():
            user_id = int(self.value())
            return queryset.filter(Q(payload__data__id=user_id) | Q(payload__data__user__id=user_id))
        return queryset


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ("type", "webhook_id", "created_at", "dispatched_at", "delivery_states")
    list_filter = ("type", DeliveryStateFilter, UserFilter)
    search_fields = ("webhook_id",)
    fields = ("type", "webhook_id", "created_at", "dispatched_at", "payload", "attempts")
    readonly_fields = fields
    actions = ["resend_selected"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("deliveries")

    @admin.display(description=_("deliveries"))
    def delivery_states(self, event: Event) -> str:
        return ", ".join(f"{d.state} ({d.attempts})" for d in event.deliveries.all()) or "-"

    @admin.display(description=_("attempts"))
    def attempts(self, event: Event) -> str:
        rows = [
            (a.started_at.strftime("%Y-%m-%d %H:%M:%S"), d.endpoint.url, a.status_code or "-", a.duration_ms, a.error)
            for d in event.deliveries.select_related("endpoint")
            for a in d.attempt_log.all()
        ]
        return format_html_join("", "<div>{} {} status {} in {} ms {}</div>", rows) or "-"

    @admin.action(description=_("Resend to their endpoints"))
    def resend_selected(self, request, queryset):
        count = resend(Delivery.objects.filter(event__in=queryset))
        self.message_user(request, _("%(count)d deliveries queued again.") % {"count": count})

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
