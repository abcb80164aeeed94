"""Handing a code to the send task: sealed for the broker, expiring with the code, publish bounded."""

import logging
import socket

from core.breaker import Breaker
from messaging import tasks
from messaging.numbers import mask_phone
from messaging.sealing import seal

logger = logging.getLogger(__name__)


class NotQueued(Exception):
    """The broker did not take the task, or did not say it did. ``maybe_sent``: the publish may have
    reached the broker (its answer timed out), so the message may still go out; False when the
    broker could not be reached at all (a refused connection)."""

    def __init__(self, maybe_sent: bool):
        super().__init__(maybe_sent)
        self.maybe_sent = maybe_sent


def _refused(error: BaseException | None) -> bool:
    """Whether ``error`` (or what caused it) is a connection the broker refused or never opened."""
    while error is not None:
        if isinstance(error, ConnectionRefusedError | socket.gaierror):
            return True
        error = error.__cause__ or error.__context__
    return False


def queue_code(
    phone: str,
    code: str,
    language: str,
    expires_at: int,
    channel: str = "sms",
    *,
    source: str = "",
    only_to_accounts: bool = False,
) -> None:
    """Queue the send task; raises NotQueued if the broker does not take it, and then opens ``breaker``:
    for a few seconds the caller answers at once, without counting or asking (core.breaker).
    ``source``: the network that asked (the pumping alarm counts them). ``only_to_accounts``: the
    number's range or region is closed: the task sends only to a number that has an account."""
    try:
        options = {"source": source, "only_to_accounts": only_to_accounts}
        tasks.enqueue(phone, seal(code, expires_at), language, expires_at, channel, **options)
    except tasks.NotSent:  # a development run's provider failed (logged once, by the task)
        breaker.trip()
        raise NotQueued(maybe_sent=False) from None
    except Exception as error:
        breaker.trip()
        logger.exception("send task could not be queued", extra={"phone": mask_phone(phone)})
        raise NotQueued(maybe_sent=not _refused(error)) from None


breaker = Breaker(5)
