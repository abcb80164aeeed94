"""Prometheus metrics (prometheus-client): requests by route and status, and the /metrics view
(the apps keep their own counters in their ``metrics`` modules; one registry holds them all).

Under gunicorn with several workers set PROMETHEUS_MULTIPROC_DIR so every worker's samples are summed.
"""

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

REQUESTS = Counter("cheershare_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram(
    "cheershare_http_request_duration_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    REQUESTS.labels(method, route, str(status)).inc()
    LATENCY.labels(method, route).observe(seconds)


class MetricsView(APIView):
    """Prometheus exposition; 404 unless METRICS_ENABLED (keep it off the public port, see README)."""

    permission_classes = [AllowAny]
    authentication_classes = []
    schema = None

    def get(self, request):
        if not settings.METRICS_ENABLED:
            raise NotFound()
        if settings.PROMETHEUS_MULTIPROC_DIR:
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
        else:
            registry = REGISTRY
        return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
