"""Times as an operator reads them in the admin: "in 29 days", "3 minutes ago", with the exact time
(UTC, to the second) on hover."""

from datetime import UTC, datetime

from django.contrib.humanize.templatetags.humanize import naturaltime
from django.utils.html import format_html


def moment(value: datetime | None) -> str:
    """An HTML ``<time>`` of ``value`` in words, its exact time as the title; "" for None."""
    if value is None:
        return ""
    exact = value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return format_html('<time datetime="{}" title="{}">{}</time>', value.isoformat(), exact, naturaltime(value))
