"""Admin for delivery: message records, suppressed numbers (lift), closed regions (reopen) and the
"Delivery by country" page."""

from datetime import timedelta

from django.contrib import admin
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from messaging import alarm, conversion, suppression
from messaging.models import Message, RegionBlock, Suppression

BAR_WIDTH = 240


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Message)
class MessageAdmin(ReadOnlyAdmin):
    list_display = (
        "created_at",
        "phone_number",
        "region",
        "channel",
        "status",
        "error_code",
        "attempts",
        "verified_at",
    )
    list_filter = ("status", "channel", "region")
    search_fields = ("=phone_number", "=sid")
    date_hierarchy = "created_at"
    show_full_result_count = False  # no COUNT(*) over millions of rows per page
    change_list_template = "admin/messaging/message_change_list.html"

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        page = self.admin_site.admin_view(self.by_country_view)
        return [path("by-country/", page, name="messaging_message_by_country"), *super().get_urls()]

    def by_country_view(self, request):
        now = timezone.now()
        periods = [
            {"title": _("Last 24 hours"), "rows": _rows(conversion.by_region(now - timedelta(hours=24)))},
            {"title": _("Last 7 days"), "rows": _rows(conversion.by_region(now - timedelta(days=7)))},
        ]
        context = {
            **self.admin_site.each_context(request),
            "title": _("Delivery by country"),
            "periods": periods,
            "bar_width": BAR_WIDTH,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/messaging/by_country.html", context)


def _rows(figures: list[conversion.RegionFigures]) -> list[dict]:
    busiest = max((row.sent for row in figures), default=0) or 1

    def width(count: int) -> int:
        return round(BAR_WIDTH * count / busiest)

    return [
        {
            "figures": row,
            "delivery_percent": round(100 * row.delivery_rate, 1),
            "conversion_percent": round(100 * row.conversion, 1),
            "sent_width": width(row.sent),
            "delivered_width": width(row.delivered),
            "verified_width": width(row.verified),
        }
        for row in figures
    ]


@admin.register(Suppression)
class SuppressionAdmin(ReadOnlyAdmin):
    list_display = ("phone_number", "error_code", "created_at", "until", "active")
    search_fields = ("=phone_number",)
    actions = ["lift"]

    def has_delete_permission(self, request, obj=None):
        return False  # lifting is the one way out (the action below)

    @admin.display(boolean=True, description=_("active"))
    def active(self, suppression: Suppression) -> bool:
        return suppression.until > timezone.now()

    @admin.action(description=_("Lift the selected suppressions"))
    def lift(self, request, queryset):
        lifted = suppression.lift(queryset)
        self.message_user(request, _("%(count)d suppressions lifted.") % {"count": lifted})


@admin.register(RegionBlock)
class RegionBlockAdmin(ReadOnlyAdmin):
    list_display = ("region", "number_range", "reason", "conversion", "sample", "created_at", "until", "closed")
    list_filter = ("region",)
    actions = ["reopen"]

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("number range"), ordering="prefix")
    def number_range(self, block: RegionBlock) -> str:
        return block.prefix or _("the whole region")

    @admin.display(boolean=True, description=_("closed"))
    def closed(self, block: RegionBlock) -> bool:
        return block.until > timezone.now()

    @admin.action(description=_("Reopen the selected regions and ranges"))
    def reopen(self, request, queryset):
        reopened = alarm.reopen(queryset)
        self.message_user(request, _("%(count)d regions or ranges reopened.") % {"count": reopened})
