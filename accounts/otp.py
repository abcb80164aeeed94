"""The one-time code's life in the cache: issue, check, consume, attempts, cooldown and quotas.

Per number the cache holds ``otp:<phone>`` (a PendingCode: HMAC of the code, expiry, pending name,
packed into a few dozen bytes) and ``otp-n:<phone>`` (attempts), both with the code's TTL, plus the
``otp-cd:<phone>`` cooldown; the code itself is never stored.
"""

import hmac
import logging
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NamedTuple

from django.conf import settings
from django.core.cache import cache
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import ValidationError

from accounts import limits, signals
from accounts.exceptions import Cooldown, OTPExpired, OTPInvalid, RateLimited, SMSUnavailable
from accounts.phone import mask_phone, normalize_phone, region_of
from accounts.sealing import seal
from accounts.tasks import send_code_sms
from cheershare import metrics

logger = logging.getLogger("cheershare.otp")
DIGEST_SIZE = 16


@dataclass(frozen=True)
class IssuedCode:
    expires_in: int
    resend_in: int


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


def request_code(*, phone: str, name: str, client_ip: str, language: str) -> IssuedCode:
    """Issue a code for ``phone`` (E.164) and queue its SMS; raises RateLimited or SMSUnavailable."""
    fixed = test_numbers().get(phone)
    if fixed is None:
        _enforce_send_limits(phone, client_ip)
    code = fixed or generate_code(settings.OTP_LENGTH)
    expires_at = int(time.time()) + settings.OTP_TTL
    cache.set(_state_key(phone), PendingCode(_digest(phone, code), expires_at, name).pack(), settings.OTP_TTL)
    cache.set(_attempts_key(phone), 0, settings.OTP_TTL)
    if fixed is None:
        _queue_sms(phone, code, language, expires_at)
        metrics.CODES_SENT.inc()
    else:
        logger.warning("test number used: fixed code issued, no SMS", extra={"phone": mask_phone(phone)})
    signals.code_requested.send(sender=request_code, phone=phone, test_number=fixed is not None)
    return IssuedCode(expires_in=settings.OTP_TTL, resend_in=settings.OTP_RESEND_COOLDOWN)


def verify_code(*, phone: str, code: str) -> str:
    """Consume the pending code if ``code`` matches and return its pending name.

    Every try reserves an attempt first, so parallel guesses cannot exceed OTP_MAX_ATTEMPTS; the
    winning try deletes the state, and ``cache.delete`` answering True makes exactly one winner.
    """
    packed = cache.get(_state_key(phone))
    if packed is None:
        raise OTPExpired()
    pending = PendingCode.unpack(packed)
    if pending.expires_at <= time.time():
        raise OTPExpired()
    try:
        attempt = cache.incr(_attempts_key(phone))
    except ValueError:
        raise OTPExpired() from None
    if attempt > settings.OTP_MAX_ATTEMPTS:
        raise OTPExpired()
    if not hmac.compare_digest(pending.digest, _digest(phone, code)):
        attempts_left = settings.OTP_MAX_ATTEMPTS - attempt
        if attempts_left <= 0:
            cache.delete_many([_state_key(phone), _attempts_key(phone)])
            signals.locked_out.send(sender=verify_code, phone=phone)
        signals.verification_failed.send(sender=verify_code, phone=phone, attempts_left=attempts_left)
        raise OTPInvalid(attempts_left=attempts_left)
    if not cache.delete(_state_key(phone)):
        raise OTPExpired()
    cache.delete(_attempts_key(phone))
    return pending.name


def test_numbers() -> dict[str, str]:
    """OTP_TEST_NUMBERS with the numbers in E.164: fixed codes for reviewers, never an SMS."""
    return {normalize_phone(number): code for number, code in settings.OTP_TEST_NUMBERS.items()}


def _enforce_send_limits(phone: str, client_ip: str) -> None:
    region = region_of(phone)
    if settings.SMS_ALLOWED_REGIONS and region not in settings.SMS_ALLOWED_REGIONS:
        raise ValidationError({"phone_number": [_("SMS cannot be sent to this country.")]})
    wait = limits.start_cooldown(_cooldown_key(phone), settings.OTP_RESEND_COOLDOWN)
    if wait:
        raise Cooldown(wait)
    checks = [
        ("phone", f"ph:{phone}", settings.OTP_MAX_SENDS_PER_HOUR),
        ("ip", f"ip:{client_ip}", settings.OTP_MAX_SENDS_PER_IP_PER_HOUR),
        ("sms_global", "sms-global", settings.SMS_MAX_PER_HOUR),
        ("sms_country", f"sms-country:{region}", settings.SMS_MAX_PER_COUNTRY_PER_HOUR),
    ]
    for limit, name, maximum in checks:
        wait = limits.count_in_window(name, maximum)
        if wait:
            if limit.startswith("sms_") and limits.first_refusal_in_window(name):
                logger.error("SMS breaker tripped: hourly cap reached", extra={"limit": name, "cap": maximum})
            signals.send_limit_tripped.send(sender=request_code, limit=limit, phone=phone)
            raise RateLimited(wait)


def _queue_sms(phone: str, code: str, language: str, expires_at: int) -> None:
    try:
        send_code_sms.apply_async(
            args=[phone, seal(code), language, expires_at],
            expires=datetime.fromtimestamp(expires_at, tz=UTC),  # a worker discards it unrun after that
            retry=False,
        )
    except Exception:
        logger.exception("SMS task could not be queued", extra={"phone": mask_phone(phone)})
        cache.delete_many([_state_key(phone), _attempts_key(phone), _cooldown_key(phone)])
        raise SMSUnavailable() from None


def _digest(phone: str, code: str) -> bytes:
    """HMAC-SHA256 keyed from SECRET_KEY, cut to 128 bits (the code, not the hash, bounds guessing)."""
    return salted_hmac("cheershare.otp", f"{phone}:{code}", algorithm="sha256").digest()[:DIGEST_SIZE]


def _state_key(phone: str) -> str:
    return f"otp:{phone}"


def _attempts_key(phone: str) -> str:
    return f"otp-n:{phone}"


def _cooldown_key(phone: str) -> str:
    return f"otp-cd:{phone}"
