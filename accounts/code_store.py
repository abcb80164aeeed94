"""The pending code in the cache: only a keyed hash of it, with its expiry, the pending name and
an attempt counter, under ``otp:<phone>`` and ``otp-n:<phone>``; never the code itself.

``claim_attempt`` reserves an attempt before ``consume`` compares, so parallel guesses cannot exceed
OTP_MAX_ATTEMPTS; the winning try deletes the state, and ``cache.delete`` answering True makes
exactly one winner.
"""

import hmac
import secrets
import time
from typing import NamedTuple

from django.core.cache import cache
from django.utils.crypto import salted_hmac

from accounts.app_settings import app_settings
from accounts.exceptions import OTPExpired, OTPInvalid

DIGEST_SIZE = 16


class PendingCode(NamedTuple):
    digest: bytes
    expires_at: int
    name: str

    def pack(self) -> bytes:
        return self.digest + self.expires_at.to_bytes(5, "big") + self.name.encode()

    @classmethod
    def unpack(cls, packed: bytes) -> "PendingCode":
        size = DIGEST_SIZE
        return cls(packed[:size], int.from_bytes(packed[size : size + 5], "big"), packed[size + 5 :].decode())


def generate_code(length: int) -> str:
    """A code uniform over all 10**length values, leading zeros included."""
    return f"{secrets.randbelow(10**length):0{length}d}"


def store(phone: str, code: str, name: str, *, keep_attempts: bool = False) -> int:
    """Keep ``code``'s hash for ``phone`` (replacing any earlier code); returns its expiry (epoch s).

    ``keep_attempts``: a fixed code (a test number) keeps the tries already spent on it."""
    expires_at = int(time.time()) + app_settings.OTP_TTL
    cache.set(state_key(phone), PendingCode(digest(phone, code), expires_at, name).pack(), app_settings.OTP_TTL)
    if keep_attempts:
        cache.add(attempts_key(phone), 0, app_settings.OTP_TTL)
    else:
        cache.set(attempts_key(phone), 0, app_settings.OTP_TTL)
    return expires_at


def claim_attempt(phone: str) -> tuple[PendingCode, int]:
    """The pending code and the number of this try, reserved; OTPExpired if there is none left."""
    packed = cache.get(state_key(phone))
    if packed is None:
        raise OTPExpired()
    pending = PendingCode.unpack(packed)
    if pending.expires_at <= time.time():
        raise OTPExpired()
    try:
        attempt = cache.incr(attempts_key(phone))
    except ValueError:
        raise OTPExpired() from None
    if attempt > app_settings.OTP_MAX_ATTEMPTS:
        raise OTPExpired()
    return pending, attempt


def consume(phone: str, pending: PendingCode, attempt: int, code: str) -> str:
    """Consume the pending code if ``code`` matches and return its pending name.

    Raises OTPInvalid (wrong; the code is destroyed at the limit) or OTPExpired (another try won).
    """
    if not hmac.compare_digest(pending.digest, digest(phone, code)):
        attempts_left = app_settings.OTP_MAX_ATTEMPTS - attempt
        if attempts_left <= 0:
            discard(phone)
        raise OTPInvalid(attempts_left=attempts_left)
    if not cache.delete(state_key(phone)):
        raise OTPExpired()
    cache.delete(attempts_key(phone))
    return pending.name


def discard(phone: str) -> None:
    cache.delete_many([state_key(phone), attempts_key(phone)])


def digest(phone: str, code: str) -> bytes:
    """HMAC-SHA256 keyed from SECRET_KEY, cut to 128 bits (the code, not the hash, bounds guessing)."""
    return salted_hmac("cheershare.otp", f"{phone}:{code}", algorithm="sha256").digest()[:DIGEST_SIZE]


def state_key(phone: str) -> str:
    return f"otp:{phone}"


def attempts_key(phone: str) -> str:
    return f"otp-n:{phone}"
