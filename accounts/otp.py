"""The sign-in code services: request a code (limits, store, send) and verify it.

Views call these two functions; the jobs live in ``limits``, ``code_store`` and ``messaging``.
"""

import logging
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from accounts import code_store, limits, metrics, signals
from accounts.app_settings import app_settings
from accounts.captcha import require_captcha
from accounts.devices import KnownDevice
from accounts.exceptions import OTPExpired, OTPInvalid, SignInError, SMSUnavailable
from messaging import records, sending
from messaging.numbers import mask_phone, region_of

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class IssuedCode:
    expires_in: int
    resend_in: int
    channel: str
    verification_id: str


def request_code(
    *,
    phone: str,
    name: str,
    client_ip: str,
    language: str,
    channel: str = "sms",
    captcha_token: str = "",
    device_token: str = "",
    changing_for=None,
) -> IssuedCode:
    """Issue a code for ``phone`` (E.164) and queue its SMS; raises a SignInError if refused.

    The CAPTCHA gate comes first. The limits and the code's storage take one cache round trip, the
    send one broker publish; a disabled account's number gets the same answer as anyone's, and the
    send task sends it nothing. ``device_token``: a known device of the number's account (an unknown
    or foreign one changes nothing). ``changing_for``: the signed-in user whose number would become
    ``phone`` (its daily change cap applies too). Test numbers skip the CAPTCHA and the send limits.

    A code whose publish timed out is kept (the broker may have taken it: the message may still reach
    the phone); one the broker refused is discarded. Neither spends a send cap; the caller answers 503."""
    fixed = app_settings.test_numbers().get(phone)
    if fixed is None:
        require_captcha(captcha_token, client_ip)
    base = code_store.base_of(phone, changing_for)
    verification_id = code_store.new_verification_id(base, fixed=fixed is not None)
    new_code = code_store.NewCode(base, verification_id, name, fixed=fixed)
    region = region_of(phone)
    account = changing_for.pk if changing_for is not None else None
    device = KnownDevice.objects.recognise(device_token, phone=phone) if device_token and changing_for is None else None
    if fixed is None and sending.breaker.open:  # the broker failed a moment ago: count nothing
        raise SMSUnavailable()
    counted, closed = limits.admit_code_request(
        phone, region, client_ip, test_number=fixed is not None, pending=new_code, account=account, device=device
    )
    issued = IssuedCode(app_settings.OTP_TTL, app_settings.OTP_RESEND_COOLDOWN, channel, verification_id)
    if fixed is None:
        try:
            source = limits.source_key(client_ip)
            sending.queue_code(
                phone, new_code.code, language, new_code.expires_at, channel, source=source, only_to_accounts=closed
            )
        except sending.NotQueued as not_queued:
            if not not_queued.maybe_sent:  # the broker was not reached: nothing can go out
                code_store.discard(f"{base}#{verification_id}")
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


def verify_code(
    *, phone: str, code: str, client_ip: str, verification_id: str | None = None, changing_for=None
) -> VerifiedCode:
    """Consume ``phone``'s pending code (for ``changing_for``'s number change, if given) if ``code``
    matches: the code of request ``verification_id``, else the newest one. Any client address will do.

    One atomic cache step: a lock or a spent address budget refuses first, a wrong code spends the
    failure budgets (see ``code_store.check``). If the cache's answer is lost (a timeout: the caller
    answers 503), a code the try may have consumed is put back (``restore_later``)."""
    fixed = phone in app_settings.test_numbers()
    base = code_store.base_of(phone, changing_for)
    try:
        subject = code_store.subject_named(base, verification_id)
        if subject is None:
            raise OTPExpired()
        budgets = limits.guess_budgets(phone, client_ip, test_number=fixed)
        nonce = secrets.token_hex(8)
        try:
            verdict = code_store.check(subject, code, budgets, forgotten_key=limits.CACHE_LOST, nonce=nonce)
        except RedisTimeoutError:
            restore_later(subject, nonce)
            raise
        if verdict.refusal:
            limits.refuse(verdict.refusal, phone)
        if verdict.outcome == "expired":
            raise OTPExpired()
        if verdict.outcome == "wrong":
            raise OTPInvalid(attempts_left=verdict.attempts_left)
    except SignInError as exc:
        metrics.VERIFICATIONS.labels(exc.code).inc()
        if isinstance(exc, OTPInvalid):
            _wrong_code(phone, exc.attempts_left, verdict.budget_spent)
        raise
    metrics.VERIFICATIONS.labels("success").inc()
    return VerifiedCode(verdict.name, subject, verdict.consumed)


def restore_later(subject: str, nonce: str) -> None:
    """Put back what try ``nonce`` consumed, in a thread that asks the cache until it answers (at
    most while the code lives): a verify answered 503 never spends the code."""

    def run() -> None:
        deadline = time.monotonic() + app_settings.OTP_TTL
        while time.monotonic() < deadline:
            try:
                code_store.undo(subject, nonce)
                return
            except RedisError:
                time.sleep(1)

    threading.Thread(target=run, name="restore-code", daemon=True).start()


def record_verified(phone: str) -> None:
    """Mark the message that carried ``phone``'s code as verified (callers do it in their transaction)."""
    records.mark_verified(phone, sent_after=timezone.now() - timedelta(seconds=app_settings.OTP_TTL))


def forget(phone: str) -> None:
    """Drop every trace of ``phone`` in the cache (pending codes, cooldowns, failure budgets)."""
    code_store.discard_all(phone)
    limits.forget_number(phone)


def unlock(phone: str, *, by: str) -> None:
    """Lift ``phone``'s lock and failure budget: an operator's decision."""
    limits.unlock(phone)
    signals.number_unlocked.send(sender=unlock, phone=phone, by=by)


def lock(phone: str, *, seconds: int, by: str) -> None:
    """Refuse every code request and verify for ``phone`` for ``seconds``: an operator's decision."""
    limits.lock(phone, seconds)
    signals.number_locked.send(sender=lock, phone=phone, by=by)


def _wrong_code(phone: str, attempts_left: int, budget_spent: bool) -> None:
    if attempts_left <= 0:
        signals.locked_out.send(sender=verify_code, phone=phone)
    signals.verification_failed.send(sender=verify_code, phone=phone, attempts_left=attempts_left)
    if budget_spent:
        metrics.NUMBERS_GUESSED_AT.inc()
        signals.codes_lengthened.send(sender=verify_code, phone=phone)
