"""The send backlog: messages published for a worker and not taken by one for over a minute (their
record says ``queued`` with no attempt), and the Prometheus gauges /metrics computes when scraped:
that count and the age of the workers' last heartbeat."""

from datetime import timedelta

from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from messaging import heartbeat
from messaging.models import Message

WAITING_AFTER = timedelta(minutes=1)
LOOKBACK = timedelta(days=1)  # a code's message waits at most its lifetime; older rows are history


def waiting() -> int:
    """Messages published over a minute ago that no worker has tried yet (a partial index's count)."""
    now = timezone.now()
    return Message.objects.filter(
        attempts=0, created_at__lt=now - WAITING_AFTER, created_at__gte=now - LOOKBACK
    ).count()


class BacklogCollector(Collector):
    def collect(self):
        age = heartbeat.age()
        yield GaugeMetricFamily(
            "cheershare_worker_heartbeat_age_seconds",
            "Seconds since a Celery worker last wrote its heartbeat (NaN: none ever did)",
            value=float("nan") if age is None else age,
        )
        yield GaugeMetricFamily(
            "cheershare_messages_waiting", "Messages queued over a minute ago that no worker has tried", value=waiting()
        )
