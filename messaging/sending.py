"""Handing a code to the send task: sealed for the broker, expiring with the code, publish bounded."""

import logging

from cheershare.breaker import Breaker
from messaging import tasks
from messaging.numbers import mask_phone
from messaging.sealing import seal

logger = logging.getLogger(__name__)


class NotQueued(Exception):
    """The broker did not take the task."""


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
    for a few seconds the caller answers at once, without counting or asking (cheershare.breaker).
    ``source``: the network that asked (the pumping alarm counts them). ``only_to_accounts``: the
    number's range or region is closed: the task sends only to a number that has an account."""
    try:
        options = {"source": source, "only_to_accounts": only_to_accounts}
        tasks.enqueue(phone, seal(code, expires_at), language, expires_at, channel, **options)
    except Exception:
        breaker.trip()
        logger.exception("send task could not be queued", extra={"phone": mask_phone(phone)})
        raise NotQueued() from None


breaker = Breaker(5)
