"""Message records: one row per message the send task handles, updated by its tries and by Twilio's
status callbacks (statuses only move forward: a late ``sent`` never overwrites ``delivered``), and
marked when the code it carried is verified. Never the code or the text."""

import logging
from datetime import datetime
from typing import NamedTuple

from django.db import DatabaseError, connection
from django.db.models import F
from django.utils import timezone

from messaging import metrics, suppression
from messaging.models import RANK, STATUSES, Message
from messaging.numbers import mask_phone, region_of

logger = logging.getLogger(__name__)
MARK_VERIFIED = f"""
    UPDATE {Message._meta.db_table} SET verified_at = %s WHERE id = (
        SELECT id FROM {Message._meta.db_table} WHERE phone_number = %s AND verified_at IS NULL AND created_at >= %s
        ORDER BY created_at DESC LIMIT 1)"""
# ``queued``'s row in one round trip, its own transaction committed without waiting for the write-ahead
# log's flush (set_config(..., true) lasts until that commit; the ORM's bulk_create cost several times more).
QUEUED = f"""
    WITH unflushed AS (SELECT set_config('synchronous_commit', 'off', true))
    INSERT INTO {Message._meta.db_table}
        (task_id, phone_number, region, channel, source, status, attempts, created_at, updated_at)
    SELECT %s, %s, %s, %s, %s, 'queued', 0, %s, %s FROM unflushed
    ON CONFLICT DO NOTHING"""
# What Twilio may report beyond our seven statuses, read as one of them.
ALIASES = {"accepted": "queued", "scheduled": "queued", "read": "delivered"}


def queued(task_id: str, phone: str, channel: str, source: str = "") -> None:
    """The record of a message just published for a worker (``queued``, no attempt yet), so a backlog
    shows. Never in the way of the message: if the database cannot take it, the worker writes it.

    On every code request, so on PostgreSQL it is one statement written out (``QUEUED``) whose commit
    does not wait for the disk: a crash may lose the last few such rows, never a message (the worker
    writes a missing one when it takes the message)."""
    now = timezone.now()
    try:
        if connection.vendor == "postgresql" and not connection.in_atomic_block:
            ops = connection.ops
            with connection.cursor() as cursor:
                at = ops.adapt_datetimefield_value(now)
                cursor.execute(QUEUED, [task_id, phone, region_of(phone), channel, source, at, at])
            return
        Message.objects.bulk_create(
            [Message(task_id=task_id, phone_number=phone, region=region_of(phone), channel=channel, source=source)],
            ignore_conflicts=True,  # the worker (or an eager run) may have written it first
        )
    except DatabaseError:
        logger.warning("message record not written; its worker will write it", extra={"phone": mask_phone(phone)})


def start_attempt(task_id: str, phone: str, channel: str, source: str = "") -> Message:
    """The record of the message sent by task ``task_id`` (created by its first try), one attempt more."""
    defaults = {"phone_number": phone, "region": region_of(phone), "channel": channel, "source": source}
    message, _created = Message.objects.get_or_create(task_id=task_id, defaults=defaults)
    Message.objects.filter(pk=message.pk).update(attempts=F("attempts") + 1, updated_at=timezone.now())
    return message


class Outcome(NamedTuple):
    """What became of the message a send task handled (a task's arguments, if written later)."""

    task_id: str
    phone: str
    channel: str
    sid: str | None
    status: str
    error_code: int | None = None


def write_outcome(outcome: Outcome, message: Message | None) -> None:
    """Record ``outcome`` on ``message``, or on the task's record, made now if the task ran while
    the database was away."""
    if message is None:
        message, _created = Message.objects.get_or_create(
            task_id=outcome.task_id,
            defaults={"phone_number": outcome.phone, "region": region_of(outcome.phone), "channel": outcome.channel},
        )
        Message.objects.filter(pk=message.pk, attempts=0).update(attempts=1)
    if outcome.status == "failed":
        record_failed(message, outcome.error_code)
    else:
        record_sent(message, outcome.sid, outcome.status)


def record_sent(message: Message, sid: str | None, status: str) -> None:
    """The provider took the message: keep its sid and first status."""
    status = ALIASES.get(status, status)
    if status not in RANK:
        status = "sent"
    Message.objects.filter(pk=message.pk).update(sid=sid, status=status, updated_at=timezone.now())
    metrics.MESSAGES.labels(message.region, status).inc()


def record_failed(message: Message, error_code: int | None) -> None:
    """The provider refused the message (or every try failed); a refusal that means the number
    cannot take messages suppresses it."""
    Message.objects.filter(pk=message.pk).update(status="failed", error_code=error_code, updated_at=timezone.now())
    metrics.MESSAGES.labels(message.region, "failed").inc()
    suppression.suppress_if_unreachable(message.phone_number, error_code)


def apply_status(sid: str, status: str, error_code: int | None) -> Message | None:
    """Apply a status callback; returns the message if it moved forward, else None (not a step
    forward, a status we do not know, or no message has that sid)."""
    status = ALIASES.get(status, status)
    if status not in RANK:
        logger.warning("status callback with an unknown status ignored", extra={"status": status[:32]})
        return None
    earlier = [known for known in STATUSES if RANK[known] < RANK[status]]
    changes = {"status": status, "updated_at": timezone.now()}
    if error_code is not None:
        changes["error_code"] = error_code
    if not Message.objects.filter(sid=sid, status__in=earlier).update(**changes):
        if not Message.objects.filter(sid=sid).exists():
            logger.warning("status callback for an unknown message", extra={"sid": sid[:64]})
        return None
    message = Message.objects.only("phone_number", "region", "channel").get(sid=sid)
    metrics.MESSAGES.labels(message.region, status).inc()
    if status in {"undelivered", "failed"}:
        suppression.suppress_if_unreachable(message.phone_number, error_code)
    return message


def mark_verified(phone: str, sent_after: datetime) -> None:
    """The code last sent to ``phone`` (after ``sent_after``) was verified.

    One statement written out (the ORM would build the same UPDATE ... WHERE id = (SELECT ... LIMIT 1)
    at several times the cost on every sign-in); values go through the backend's own adapters."""
    ops = connection.ops
    with connection.cursor() as cursor:
        cursor.execute(
            MARK_VERIFIED,
            [
                ops.adapt_datetimefield_value(timezone.now()),
                phone,
                ops.adapt_datetimefield_value(sent_after),
            ],
        )
        marked = cursor.rowcount
    if marked:
        metrics.CODES_VERIFIED.labels(region_of(phone)).inc()
    else:
        logger.info("verified code had no message record (test number?)", extra={"phone": mask_phone(phone)})
