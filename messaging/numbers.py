"""Small facts about an E.164 number that sending and reporting need: its region, its range, and a
masked form for logs."""

from functools import lru_cache

import phonenumbers


@lru_cache(maxsize=4096)  # a request needs it several times (its type, its region, limits, records, metrics)
def parsed(e164: str) -> phonenumbers.PhoneNumber:
    """An E.164 number, parsed (do not modify the result: it is shared)."""
    return phonenumbers.parse(e164)


def region_of(e164: str) -> str:
    """The ISO region of an E.164 number (``IN`` for +91...), or ``ZZ`` if unknown."""
    return phonenumbers.region_code_for_number(parsed(e164)) or "ZZ"


def range_of(e164: str) -> str:
    """The number's range (what the pumping alarm closes): E.164 without its last SMS_RANGE_DIGITS
    digits, keeping the country code and at least three national digits."""
    from messaging.app_settings import app_settings

    shortest = len(str(parsed(e164).country_code)) + 4
    return e164[: max(len(e164) - app_settings.SMS_RANGE_DIGITS, shortest)]


def mask_phone(e164: str) -> str:
    """``+919876543210`` -> ``+91******3210``: enough to correlate, not enough to identify."""
    return e164[:3] + "*" * max(len(e164) - 7, 0) + e164[-4:]
