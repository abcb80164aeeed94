"""The purge of ended sessions and expired tokens, on Celery beat's schedule (PURGE_EVERY)."""

import logging

from celery import shared_task

from tokens.purge import purge_ended_sessions
from tokens.purge import purge_expired_tokens as purge

logger = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def purge_expired_tokens() -> int:
    sessions = purge_ended_sessions()
    deleted = purge()
    logger.info("expired tokens purged", extra={"deleted": deleted, "sessions": sessions})
    return deleted
