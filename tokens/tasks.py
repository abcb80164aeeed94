"""Celery beat can run the purge (ended sessions, expired tokens) on a schedule
(PURGE_EXPIRED_TOKENS_BEAT=1; off by default)."""

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
