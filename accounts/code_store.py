"""The pending code in the cache: only a keyed hash of it, with its expiry, the pending name and
an attempt counter, under ``otp:<subject>`` and ``otp-n:<subject>``; never the code itself. The
subject is the phone number for sign-in, and the number with its account for a number change (see
``subject_of``), so a code sent for one can never be used for the other.

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
from accounts.counters import Write
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


def subject_of(phone: str, changing_for=None) -> str:
    """Whose code it is: ``phone`` signing in, or ``phone`` becoming ``changing_for``'s number."""
    return phone if changing_for is None else f"{phone}>user:{changing_for.pk}"


def generate_code(length: int) -> str:
    """A code uniform over all 10**length values, leading zeros included."""
    return f"{secrets.randbelow(10**length):0{length}d}"


def pending_writes(subject: str, code: str, name: str, *, keep_attempts: bool = False) -> tuple[list[Write], int]:
    """The cache writes that keep ``code``'s hash for ``subject`` (replacing any earlier code) and
    its expiry (epoch s); the code request makes them with its limits, in one round trip.

    ``keep_attempts``: a fixed code (a test number) keeps the tries already spent on it."""
    ttl = app_settings.OTP_TTL
    expires_at = int(time.time()) + ttl
    state = PendingCode(digest(subject, code), expires_at, name).pack()
    return [Write(state_key(subject), state, ttl), Write(attempts_key(subject), 0, ttl, keep_attempts)], expires_at


def claim_attempt(subject: str) -> tuple[PendingCode, int]:
    """The pending code and the number of this try, reserved; OTPExpired if there is none left."""
    packed = cache.get(state_key(subject))
    if packed is None:
        raise OTPExpired()
    pending = PendingCode.unpack(packed)
    if pending.expires_at <= time.time():
        raise OTPExpired()
    try:
        attempt = cache.incr(attempts_key(subject))
    except ValueError:
        raise OTPExpired() from None
    if attempt > app_settings.OTP_MAX_ATTEMPTS:
        raise OTPExpired()
    return pending, attempt


def consume(subject: str, pending: PendingCode, attempt: int, code: str) -> str:
    """Consume the pending code if ``code`` matches and return its pending name.

    Raises OTPInvalid (wrong; the code is destroyed at the limit) or OTPExpired (another try won).
    """
    if not hmac.compare_digest(pending.digest, digest(subject, code)):
        attempts_left = app_settings.OTP_MAX_ATTEMPTS - attempt
        if attempts_left <= 0:
            discard(subject)
        raise OTPInvalid(attempts_left=attempts_left)
    if not cache.delete(state_key(subject)):
        raise OTPExpired()
    cache.delete(attempts_key(subject))
    return pending.name


def discard(subject: str) -> None:
    cache.delete_many([state_key(subject), attempts_key(subject)])


def digest(subject: str, code: str) -> bytes:
    """HMAC-SHA256 keyed from SECRET_KEY, cut to 128 bits (the code, not the hash, bounds guessing)."""
    return salted_hmac("cheershare.otp", f"{subject}:{code}", algorithm="sha256").digest()[:DIGEST_SIZE]


def state_key(subject: str) -> str:
    return f"otp:{subject}"


def attempts_key(subject: str) -> str:
    return f"otp-n:{subject}"
