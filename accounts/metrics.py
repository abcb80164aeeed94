"""Sign-in counters for Prometheus (exposed at /metrics with the HTTP ones)."""

from prometheus_client import Counter

CODES_SENT = Counter("cheershare_otp_codes_sent_total", "One-time codes queued for delivery, by region", ["region"])
VERIFICATIONS = Counter("cheershare_otp_verifications_total", "Code verifications by outcome", ["outcome"])
NUMBERS_GUESSED_AT = Counter(
    "cheershare_numbers_guessed_at_total", "Numbers whose failure budget was spent (their next codes are longer)"
)
CACHE_LOST = Counter(
    "cheershare_cache_lost_total", "Times the cache came back empty (failure budgets then count as half spent)"
)
