"""The sign-in code services: request a code (limits, store, send) and verify it.

Views call these two functions; the jobs live in ``limits``, ``code_store`` and ``messaging``.
"""

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from accounts import code_store, limits, metrics, signals
from accounts.app_settings import app_settings
from accounts.captcha import require_captcha
from accounts.exceptions import OTPExpired, OTPInvalid, SignInError, SMSUnavailable
from messaging import records, sending
from messaging.numbers import mask_phone, region_of

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class IssuedCode:
    expires_in: int
    resend_in: int
    channel: str


def request_code(
    *,
    phone: str,
    name: str,
    client_ip: str,
    language: str,
    channel: str = "sms",
    captcha_token: str = "",
    changing_for=None,
) -> IssuedCode:
    """Issue a code for ``phone`` (E.164) and queue its SMS; raises a SignInError if refused.

    The CAPTCHA gate comes first. The limits and the code's storage take one cache round trip, the
    send one broker publish; a disabled account's number gets the same answer as anyone's, and the
    send task sends it nothing. ``changing_for``: the signed-in user whose number would become
    ``phone`` (its daily change cap applies too). Test numbers skip the CAPTCHA and the send limits."""
    fixed = app_settings.test_numbers().get(phone)
    if fixed is None:
        require_captcha(captcha_token, client_ip)
    code = fixed or code_store.generate_code(app_settings.OTP_LENGTH)
    network = limits.network_key(client_ip)
    subject = code_store.subject_of(phone, network, changing_for)
    writes, expires_at = code_store.pending_writes(subject, code, name, keep_attempts=fixed is not None)
    region = region_of(phone)
    account = changing_for.pk if changing_for is not None else None
    if fixed is None and sending.breaker.open:  # the broker failed a moment ago: count nothing
        raise SMSUnavailable()
    counted = limits.admit_code_request(
        phone, region, client_ip, test_number=fixed is not None, writes=writes, account=account
    )
    issued = IssuedCode(app_settings.OTP_TTL, app_settings.OTP_RESEND_COOLDOWN, channel)
    if fixed is None:
        try:
            sending.queue_code(phone, code, language, expires_at, channel)
        except sending.NotQueued:
            code_store.discard(subject)
            limits.give_back(counted)
            raise SMSUnavailable() from None
        metrics.CODES_SENT.labels(region).inc()
    else:
        logger.warning("test number used: fixed code issued, no SMS", extra={"phone": mask_phone(phone)})
    signals.code_requested.send(sender=request_code, phone=phone, test_number=fixed is not None)
    return issued


@dataclass(frozen=True)
class VerifiedCode:
    """A right code, consumed: the name sent with its request, and how to give it back."""

    name: str
    subject: str
    consumed: tuple[bytes, int]

    def give_back(self) -> None:
        """The sign-in it allowed failed on the server (503): the same code works again, with the
        tries it had, while it lives."""
        code_store.restore(self.subject, self.consumed)


def verify_code(*, phone: str, code: str, client_ip: str, changing_for=None) -> VerifiedCode:
    """Consume the pending code for ``phone`` (for ``changing_for``'s number change, if given) if
    ``code`` matches.

    One atomic cache step: a locked number or address is refused before anything else, a wrong code
    spends both failure budgets, a right one resets the number's (see ``code_store.check``)."""
    subject = code_store.subject_of(phone, limits.network_key(client_ip), changing_for)
    budgets = limits.guess_budgets(phone, client_ip)
    assumed = limits.assumed_spent(budgets)
    verdict = code_store.check(subject, code, budgets, forgotten_key=limits.CACHE_LOST, assumed=assumed)
    try:
        if verdict.refusal:
            limits.refuse(verdict.refusal, phone)
        if verdict.outcome == "expired":
            raise OTPExpired()
        if verdict.outcome == "wrong":
            raise OTPInvalid(attempts_left=verdict.attempts_left)
    except SignInError as exc:
        metrics.VERIFICATIONS.labels(exc.code).inc()
        if isinstance(exc, OTPInvalid):
            _wrong_code(phone, client_ip, exc.attempts_left)
        raise
    metrics.VERIFICATIONS.labels("success").inc()
    return VerifiedCode(verdict.name, subject, verdict.consumed)


def record_verified(phone: str) -> None:
    """Mark the message that carried ``phone``'s code as verified (callers do it in their transaction)."""
    records.mark_verified(phone, sent_after=timezone.now() - timedelta(seconds=app_settings.OTP_TTL))


def forget(phone: str, client_ip: str) -> None:
    """Drop every trace of ``phone`` in the cache (pending codes, the cooldown of ``client_ip``'s
    network, failure budgets)."""
    code_store.discard_all(phone)
    limits.forget_number(phone, client_ip)


def unlock(phone: str, *, by: str) -> None:
    """Lift ``phone``'s locks (its failure budgets, from every network): an operator's decision."""
    limits.unlock(phone)
    signals.number_unlocked.send(sender=unlock, phone=phone, by=by)


def _wrong_code(phone: str, client_ip: str, attempts_left: int) -> None:
    if attempts_left <= 0:
        signals.locked_out.send(sender=verify_code, phone=phone)
    signals.verification_failed.send(sender=verify_code, phone=phone, attempts_left=attempts_left)
    if limits.number_locked_now(phone, client_ip):
        metrics.NUMBERS_LOCKED.inc()
        signals.number_locked.send(sender=verify_code, phone=phone)
