"""Admin for delivery: message records, suppressed numbers (lift), closed regions (reopen) and the
"Delivery by country" page."""

import re
from datetime import timedelta

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db.models import OuterRef, Subquery
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from messaging import alarm, conversion, suppression, twilio_errors
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
        "account",
        "region",
        "channel",
        "status",
        "error",
        "attempts",
        "verified_at",
    )
    list_filter = ("status", "channel", "region")
    search_fields = ("=phone_number", "=sid")
    search_help_text = _("A number in any spelling (+91 98765 43210, 09876543210, 9876543210), or a Twilio sid.")
    date_hierarchy = "created_at"
    show_full_result_count = False  # no COUNT(*) over millions of rows per page
    change_list_template = "admin/messaging/message_change_list.html"

    def has_delete_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        users = get_user_model()._default_manager.filter(**{get_user_model().USERNAME_FIELD: OuterRef("phone_number")})
        return super().get_queryset(request).annotate(user_id=Subquery(users.values("pk")[:1]))

    def get_search_results(self, request, queryset, search_term):
        """A number in any spelling matches by its digits (the national number is the end of the
        E.164 one); anything else searches as Django's admin does (an exact number or sid)."""
        digits = re.sub(r"\D", "", search_term).lstrip("0")
        if len(digits) >= 6 and re.fullmatch(r"[\d\s()+.\-]+", search_term.strip()):
            return queryset.filter(phone_number__endswith=digits), False
        return super().get_search_results(request, queryset, search_term)

    @admin.display(description=_("account"))
    def account(self, message: Message) -> str:
        if message.user_id is None:
            return ""
        opts = get_user_model()._meta
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[message.user_id])
        return format_html('<a href="{}">{}</a>', url, _("user #%(id)s") % {"id": message.user_id})

    @admin.display(description=_("error"), ordering="error_code")
    def error(self, message: Message) -> str:
        return twilio_errors.describe(message.error_code)

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
            # no delivery report yet (a development run's console backend never sends one): no rate
            "delivery_percent": round(100 * row.delivery_rate, 1) if row.delivered + row.failed else None,
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
