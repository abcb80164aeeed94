"""Delivery and conversion by region over a period: what the operators' country page shows."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Q

from messaging.models import Message


@dataclass(frozen=True)
class RegionFigures:
    region: str
    sent: int
    delivered: int
    failed: int
    verified: int

    @property
    def delivery_rate(self) -> float:
        return self.delivered / self.sent if self.sent else 0.0

    @property
    def conversion(self) -> float:
        """Codes verified per message sent."""
        return self.verified / self.sent if self.sent else 0.0


def by_region(since: datetime) -> list[RegionFigures]:
    """One row per region with messages since ``since``, the busiest first (one aggregate query)."""
    rows = (
        Message.objects.filter(created_at__gte=since)
        .values("region")
        .annotate(
            sent=Count("id"),
            delivered=Count("id", filter=Q(status="delivered")),
            failed=Count("id", filter=Q(status__in=["failed", "undelivered"])),
            verified=Count("verified_at"),
        )
        .order_by("-sent", "region")
    )
    return [RegionFigures(**row) for row in rows]
