"""The Celery task that sends one code by SMS, retrying transient failures only.

Transient failures are retried with capped backoff for as long as the code lives (or
SMS_MAX_RETRIES times, if set). The task is acknowledged late and re-queued if its worker dies; it
expires with its code, and a code whose time has passed is never sent (the sealed code itself
refuses to open after its expiry).
"""

import logging
import random
import time
from datetime import UTC, datetime

from celery import current_app, shared_task
from celery.result import EagerResult
from celery.utils import uuid
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import DatabaseError

from messaging import alarm, fallback, metrics, purge, records, regions, signals, text
from messaging.app_settings import app_settings
from messaging.backends import Message, PermanentSMSError, Sent, TransientSMSError, get_backend
from messaging.numbers import mask_phone, region_of
from messaging.sealing import InvalidToken, unseal

logger = logging.getLogger(__name__)

RECORD_RETRY_SECONDS = 30  # between tries to write a message's record while the database is unreachable


NOT_SENT = "not sent"
EAGER_RETRIES = 30  # a bound on a development run's immediate retries (each one a level of recursion)


class NotSent(Exception):
    """A development run's send failed on a transient error, which it does not retry."""


def retry_countdown(retries: int) -> float:
    """Exponential backoff from SMS_RETRY_BACKOFF seconds, capped at SMS_RETRY_BACKOFF_MAX, with up to
    one base of jitter."""
    base = app_settings.SMS_RETRY_BACKOFF
    return min(base * 2 ** min(retries, 32), app_settings.SMS_RETRY_BACKOFF_MAX) + random.uniform(0, base)


# A stable name, whichever module the task lives in. ``max_retries=None``: the task decides when to
# stop (the code's expiry, SMS_MAX_RETRIES for provider failures), not Celery's default of 3.
@shared_task(
    name="accounts.tasks.send_code_sms",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    max_retries=None,
)
def send_code(
    self,
    phone: str,
    sealed_code: str,
    language: str,
    expires_at: int,
    channel: str = "sms",
    unsure_since: float | None = None,
    source: str = "",
    only_to_accounts: bool = False,
) -> None:
    """Send one code by ``channel``; a WhatsApp refusal for the number sends it once by the fallback.
    ``source`` is kept on the message's record (the pumping alarm counts sources); with
    ``only_to_accounts`` (its range or region is closed) a number without an account is sent nothing.

    ``unsure_since``: an earlier try, begun then, may have reached the provider (its answer was lost).
    Twilio is asked before sending again; so is it when this task is delivered again after its worker
    died mid-send (its record counts more tries than Celery does). A record with a sid was sent."""
    try:
        code = unseal(sealed_code)
    except InvalidToken:
        logger.warning("SMS not sent: its code expired or was tampered with", extra={"phone": mask_phone(phone)})
        return
    if time.time() >= expires_at:
        logger.warning("SMS not sent: its code expired", extra={"phone": mask_phone(phone)})
        return
    try:
        if _account_disabled(phone):
            logger.warning("code for a disabled account: nothing sent", extra={"phone": mask_phone(phone)})
            return
        if only_to_accounts and not _has_account(phone):
            logger.warning(
                "closed range: code for a number without an account not sent", extra={"phone": mask_phone(phone)}
            )
            return
        record = records.start_attempt(self.request.id, phone, channel, source)
    except DatabaseError:  # the SMS is not held back for its record: that is written afterwards
        logger.warning("database unavailable: SMS sent without its record", extra={"phone": mask_phone(phone)})
        record = None
    if record is not None and record.sid:
        logger.warning("SMS not sent again: the provider took it already", extra={"phone": mask_phone(phone)})
        return
    if record is not None and unsure_since is None and record.attempts > self.request.retries:
        unsure_since = record.updated_at.timestamp()  # a try died with its worker
    message = _message(phone, region_of(phone), code, language, channel)
    started = time.time()
    try:
        sent = _send_once(message, unsure_since)
    except TransientSMSError as exc:
        countdown = retry_countdown(self.request.retries)
        # Run in the request (no broker), a retry would not wait its countdown, only recurse: there it
        # is given up at once, unless the backoff is nil (SMS_RETRY_BACKOFF=0), and then a few times.
        if self.request.is_eager and (countdown > 0 or self.request.retries >= EAGER_RETRIES):
            logger.error(
                "SMS provider unreachable; not retried without a worker: the code request answers 503",
                extra={"phone": mask_phone(phone), "status": exc.status},
            )
            _failed(self.request.id, phone, channel, record, exc, permanent=False)
            return NOT_SENT
        capped = 0 < app_settings.SMS_MAX_RETRIES <= self.request.retries
        if capped or time.time() + countdown >= expires_at:
            _failed(self.request.id, phone, channel, record, exc, permanent=False)
            return
        logger.warning(
            "SMS send failed, will retry",
            extra={"phone": mask_phone(phone), "status": exc.status, "retry_in": round(countdown, 1)},
        )
        metrics.SMS_DELIVERIES.labels("retried").inc()
        # once a try may have reached Twilio, every later try asks first
        kwargs = {
            "channel": channel,
            "unsure_since": (unsure_since or started) if exc.unsure else unsure_since,
            "source": source,
            "only_to_accounts": only_to_accounts,
        }
        raise self.retry(countdown=countdown, kwargs=kwargs) from None
    except PermanentSMSError as exc:
        _failed(self.request.id, phone, channel, record, exc, permanent=True)
        next_channel = fallback.channel_after(channel, exc.code)
        if next_channel:
            enqueue(phone, sealed_code, language, expires_at, next_channel, source=source)
        return
    if channel == "whatsapp" and sent.sid:
        fallback.stash(sent.sid, sealed_code, language, expires_at)
    metrics.SMS_DELIVERIES.labels("sent").inc()
    signals.sms_sent.send(sender=send_code, phone=phone)
    _record(records.Outcome(self.request.id, phone, channel, sent.sid, sent.status), record)


def _send_once(message: Message, unsure_since: float | None) -> Sent:
    """Send ``message``, unless the provider already has it from a try begun at ``unsure_since``."""
    backend = get_backend()
    if unsure_since is not None:
        found = backend.find(message, unsure_since)
        if found is not None:
            logger.warning("SMS found at the provider after a lost answer: not sent again",
                           extra={"phone": mask_phone(message.to)})  # fmt: skip
            metrics.SMS_DELIVERIES.labels("found").inc()
            return found
    return backend.send(message)


def _failed(task_id: str, phone: str, channel: str, record, exc: Exception, *, permanent: bool) -> None:
    metrics.SMS_DELIVERIES.labels("failed").inc()
    error_code = getattr(exc, "code", None)
    signals.sms_failed.send(
        sender=send_code, phone=phone, error_code=error_code, status=getattr(exc, "status", None), permanent=permanent
    )
    _record(records.Outcome(task_id, phone, channel, None, "failed", error_code), record)


def _record(outcome: records.Outcome, record) -> None:
    """Write what became of a message (and let the pumping alarm look); if the database cannot take
    it now, ``record_later`` writes it when it can."""
    try:
        records.write_outcome(outcome, record)
    except DatabaseError:
        logger.warning("message record not written yet; a task will", extra={"phone": mask_phone(outcome.phone)})
        record_later.apply_async(args=list(outcome), argsrepr=repr(outcome._replace(phone=mask_phone(outcome.phone))))
        return
    alarm.check(outcome.phone)


@shared_task(name="messaging.tasks.record_later", bind=True, acks_late=True, ignore_result=True, max_retries=None)
def record_later(self, *fields) -> None:
    """Write a message's record once the database is back (tried every RECORD_RETRY_SECONDS for a day)."""
    outcome = records.Outcome(*fields)
    try:
        records.write_outcome(outcome, None)
    except DatabaseError:
        if self.request.retries * RECORD_RETRY_SECONDS >= 86400:
            logger.error("message record given up after a day", extra={"sid": outcome.sid})
            return
        raise self.retry(countdown=RECORD_RETRY_SECONDS) from None
    alarm.check(outcome.phone)


def enqueue(
    phone: str,
    sealed_code: str,
    language: str,
    expires_at: int,
    channel: str = "sms",
    *,
    source: str = "",
    only_to_accounts: bool = False,
) -> None:
    """Queue ``send_code``; it expires unrun with the code. Raises whatever the broker raises.

    The publish (and RabbitMQ's confirm of it) may take the broker's timeout (BROKER_TIMEOUT), no
    more: a connection that timed out is dropped without the closing handshake a hung broker would
    never answer. The message's readable copy of its arguments (what a worker's log and monitoring
    tools show) carries the number masked and no sealed code; giving it also spares Celery building one."""
    task_id = uuid()
    options = dict(
        args=[phone, sealed_code, language, expires_at],
        kwargs={"channel": channel, "source": source, "only_to_accounts": only_to_accounts},
        argsrepr=repr((mask_phone(phone), "<sealed>", language, expires_at)),
        kwargsrepr=repr({"channel": channel, "source": source, "only_to_accounts": only_to_accounts}),
        expires=datetime.fromtimestamp(expires_at, tz=UTC),
        retry=False,
        task_id=task_id,
    )
    if settings.CELERY_TASK_ALWAYS_EAGER:  # run here and now, and recorded by the run
        result = send_code.apply_async(**options)
        if isinstance(result, EagerResult) and result.result == NOT_SENT:
            raise NotSent()
        return
    with current_app.producer_pool.acquire(block=True) as producer:
        try:
            send_code.apply_async(**options, producer=producer, timeout=current_app.conf.broker_connection_timeout)
        except Exception:
            producer.__connection__.collect()
            raise
    records.queued(task_id, phone, channel, source)


def _account_disabled(phone: str) -> bool:
    """A disabled account's number is answered like anyone's, and sent nothing (decided here, off
    the request path). The user model is reached through AUTH_USER_MODEL, not the accounts app."""
    user_model = get_user_model()
    return user_model._default_manager.filter(**{user_model.USERNAME_FIELD: phone, "is_active": False}).exists()


def _has_account(phone: str) -> bool:
    user_model = get_user_model()
    return user_model._default_manager.filter(**{user_model.USERNAME_FIELD: phone, "is_active": True}).exists()


def _message(phone: str, region: str, code: str, language: str, channel: str) -> Message:
    if channel == "voice":
        return Message(to=phone, body=text.render_voice(code, language), code=code, channel=channel)
    body = text.render_sms(code, language, region)
    return Message(to=phone, body=body, code=code, channel=channel, sender=regions.config_for(region).sender)


@shared_task(ignore_result=True)
def purge_old_delivery_records() -> int:
    """Message records past DELIVERY_RETENTION_DAYS, lapsed suppressions and blocks (PURGE_EVERY)."""
    return purge.purge_delivery_records()
