"""Delivery counters for Prometheus, labelled by region only (a bounded set), never by number."""

from prometheus_client import Counter

SMS_DELIVERIES = Counter("cheershare_sms_deliveries_total", "SMS send attempts by outcome", ["outcome"])
MESSAGES = Counter("cheershare_messages_total", "Message status reports by region and status", ["region", "status"])
CODES_VERIFIED = Counter("cheershare_codes_verified_total", "Codes verified, by the region of their number", ["region"])
REGIONS_CLOSED = Counter(
    "cheershare_regions_closed_total", "Number ranges and regions closed by the pumping alarm", ["region", "scope"]
)
