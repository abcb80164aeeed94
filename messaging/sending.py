"""Handing a code to the SMS task: sealed for the broker, expiring with the code, publish bounded."""

import logging
from datetime import UTC, datetime

from messaging.numbers import mask_phone
from messaging.sealing import seal
from messaging.tasks import send_code_sms

logger = logging.getLogger(__name__)


class NotQueued(Exception):
    """The broker did not take the task."""


def queue_sms(phone: str, code: str, language: str, expires_at: int) -> None:
    """Queue the SMS task; raises NotQueued if the broker does not take it."""
    try:
        send_code_sms.apply_async(
            args=[phone, seal(code, expires_at), language, expires_at],
            expires=datetime.fromtimestamp(expires_at, tz=UTC),  # a worker discards it unrun after that
            retry=False,
        )
    except Exception:
        logger.exception("SMS task could not be queued", extra={"phone": mask_phone(phone)})
        raise NotQueued() from None
