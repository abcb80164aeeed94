"""WhatsApp's fallback: a code WhatsApp refuses for the number (at send time or in a status
callback) goes out once more by OTP_FALLBACK_CHANNEL, the same code.

For a refusal that comes later by callback, the sealed code (encrypted, never plain) waits in the
cache under the message's sid until the code expires; taking it is single-use, so a repeated
callback never sends twice.
"""

import time

from django.core.cache import cache

from messaging.app_settings import app_settings

# Per-number refusals: not a WhatsApp user / invalid recipient, invalid number, not a mobile.
REFUSALS = {63003, 63024, 21211, 21614}


def channel_after(channel: str, error_code: int | None) -> str | None:
    """The channel to try next after ``channel`` failed with ``error_code``, if any."""
    fallback = app_settings.OTP_FALLBACK_CHANNEL
    if channel == "whatsapp" and error_code in REFUSALS and fallback and fallback != channel:
        return fallback
    return None


def stash(sid: str, sealed_code: str, language: str, expires_at: int) -> None:
    if app_settings.OTP_FALLBACK_CHANNEL:
        cache.set(_key(sid), [sealed_code, language, expires_at], max(int(expires_at - time.time()), 1))


def take(sid: str) -> tuple[str, str, int] | None:
    """The stashed (sealed code, language, expiry) for ``sid``, once."""
    stashed = cache.get(_key(sid))
    if stashed is None or not cache.delete(_key(sid)):
        return None
    return tuple(stashed)


def _key(sid: str) -> str:
    return f"msg-fallback:{sid}"
