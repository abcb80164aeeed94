"""Sign-in counters for Prometheus (exposed at /metrics with the HTTP ones)."""

from prometheus_client import Counter

CODES_SENT = Counter("cheershare_otp_codes_sent_total", "One-time codes queued for delivery, by region", ["region"])
VERIFICATIONS = Counter("cheershare_otp_verifications_total", "Code verifications by outcome", ["outcome"])
NUMBERS_LOCKED = Counter("cheershare_numbers_locked_total", "Numbers locked after spending their failure budget")
CACHE_LOST = Counter(
    "cheershare_cache_lost_total", "Times the cache came back empty (failure budgets then count as half spent)"
)
