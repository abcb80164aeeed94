"""Token counters for Prometheus (exposed at /metrics with the HTTP ones)."""

from prometheus_client import Counter

TOKENS_ISSUED = Counter("cheershare_tokens_issued_total", "Bearer tokens issued")
