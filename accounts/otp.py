"""The sign-in code services: request a code (limits, store, send) and verify it.

Views call these two functions; the jobs live in ``limits``, ``code_store`` and ``sending``.
"""

import logging
from dataclasses import dataclass

from django.core.cache import cache

from accounts import code_store, limits, metrics, sending, signals
from accounts.app_settings import app_settings
from accounts.exceptions import OTPInvalid, SignInError, SMSUnavailable
from accounts.phone import mask_phone

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class IssuedCode:
    expires_in: int
    resend_in: int


def request_code(*, phone: str, name: str, client_ip: str, language: str) -> IssuedCode:
    """Issue a code for ``phone`` (E.164) and queue its SMS; raises RateLimited or SMSUnavailable."""
    fixed = app_settings.test_numbers().get(phone)
    if fixed is None:
        limits.enforce_send_limits(phone, client_ip)
    code = fixed or code_store.generate_code(app_settings.OTP_LENGTH)
    expires_at = code_store.store(phone, code, name)
    if fixed is None:
        try:
            sending.queue_sms(phone, code, language, expires_at)
        except SMSUnavailable:
            code_store.discard(phone)
            cache.delete(limits.cooldown_key(phone))
            raise
        metrics.CODES_SENT.inc()
    else:
        logger.warning("test number used: fixed code issued, no SMS", extra={"phone": mask_phone(phone)})
    signals.code_requested.send(sender=request_code, phone=phone, test_number=fixed is not None)
    return IssuedCode(expires_in=app_settings.OTP_TTL, resend_in=app_settings.OTP_RESEND_COOLDOWN)


def verify_code(*, phone: str, code: str) -> str:
    """Consume the pending code for ``phone`` if ``code`` matches; returns the pending name."""
    try:
        name = code_store.check(phone, code)
    except SignInError as exc:
        metrics.VERIFICATIONS.labels(exc.code).inc()
        if isinstance(exc, OTPInvalid):
            if exc.attempts_left <= 0:
                signals.locked_out.send(sender=verify_code, phone=phone)
            signals.verification_failed.send(sender=verify_code, phone=phone, attempts_left=exc.attempts_left)
        raise
    metrics.VERIFICATIONS.labels("success").inc()
    return name
