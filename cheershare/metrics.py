"""Prometheus metrics (prometheus-client): requests by route and status, and the /metrics view
(the apps keep their own counters in their ``metrics`` modules; one registry holds them all).

With several server workers (scripts/serve runs 2) set PROMETHEUS_MULTIPROC_DIR so every worker's
samples are summed.
Every label is bounded: methods outside the known ones count as ``other``, routes are URL patterns.
/metrics answers only METRICS_ALLOWED_IPS (default: loopback) or a scraper sending
``Authorization: Bearer <METRICS_TOKEN>``; anyone else gets 404.
"""

import hmac
import ipaddress

from django.conf import settings
from django.http import HttpResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from core.client_ip import client_ip
from messaging.backlog import BacklogCollector

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

REQUESTS = Counter("cheershare_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram(
    "cheershare_http_request_duration_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    method = method if method in METHODS else "other"
    key = (method, route, status)
    series = _series.get(key)
    if series is None:  # labels() looks up under a lock; keep each child once (labels are bounded)
        series = _series[key] = (REQUESTS.labels(method, route, str(status)), LATENCY.labels(method, route))
    series[0].inc()
    series[1].observe(seconds)


_series: dict[tuple, tuple] = {}


class MetricsView(APIView):
    """Prometheus exposition; 404 unless METRICS_ENABLED (keep it off the public port, see README)."""

    permission_classes = [AllowAny]
    authentication_classes = []
    schema = None

    def get(self, request):
        if not settings.METRICS_ENABLED or not scraper_allowed(request):
            raise NotFound()
        registry = CollectorRegistry()
        if settings.PROMETHEUS_MULTIPROC_DIR:
            multiprocess.MultiProcessCollector(registry)
        else:
            registry.register(_Everything())
        registry.register(BacklogCollector())  # computed now, from the database and the cache
        return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)


class _Everything:
    """The process's default registry, as one collector of a registry built per scrape."""

    def collect(self):
        return REGISTRY.collect()


def scraper_allowed(request) -> bool:
    token = settings.METRICS_TOKEN
    sent = request.headers.get("Authorization", "")
    if token and hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
        return True
    try:
        address = ipaddress.ip_address(client_ip(request))
    except ValueError:
        return False
    return any(address in network for network in settings.METRICS_ALLOWED_IPS)
