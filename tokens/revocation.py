"""Revocation pushed to every process: published on Redis pub/sub after the deleting transaction
commits; one listener thread per process drops the revoked tokens from its TokenMemo.

The listener pings Redis every HEARTBEAT seconds on its subscription; when nothing (no pong, no
message) has come back for SILENCE seconds, as when Redis is stalled rather than closed, the memo
is dropped and ignored until Redis answers again, so a revocation this process could not hear
about is refused within a second. A publish that fails is retried before it is given up.

Messages are ``h:<hex hash>,<hex hash>...`` (tokens deleted, by any path: see TokenQuerySet.delete),
``s:<session id>,...`` (sessions ended: their JWTs) or ``u:<user id>`` (a user deactivated).
"""

import logging
import os
import threading
import time

import redis
from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from core.redis_client import redis_client
from tokens import signals
from tokens.app_settings import app_settings
from tokens.memo import memo

logger = logging.getLogger(__name__)
CHANNEL_SUFFIX = "tokens-revoked"
HEARTBEAT, SILENCE = 0.2, 0.6  # seconds
PUBLISH_TRIES = 3


def enabled() -> bool:
    return app_settings.TOKEN_CACHE_SECONDS > 0


def channel() -> str:
    return f"{settings.CACHE_KEY_PREFIX}:{CHANNEL_SUFFIX}"


class Listener(threading.Thread):
    """Subscribes to the revocation channel; the memo is trusted only while the subscription holds."""

    def __init__(self, name: str):
        super().__init__(daemon=True, name="token-revocation-listener")
        self.channel_name = name
        self.pid = os.getpid()
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                self._follow()
            except Exception as exc:
                if memo.trusted:
                    logger.warning(
                        "token revocation feed lost; cache off until back", extra={"error": type(exc).__name__}
                    )
            memo.distrust()
            self.stopping.wait(0.5)

    def _follow(self) -> None:
        client = redis_client(socket_connect_timeout=1, socket_timeout=5, health_check_interval=2)
        pubsub = client.pubsub()
        try:
            pubsub.subscribe(self.channel_name)
            subscribed, heard = False, time.monotonic()
            while not self.stopping.is_set():
                message = pubsub.get_message(timeout=HEARTBEAT)
                if message is None:
                    if memo.trusted and time.monotonic() - heard > SILENCE:
                        logger.warning("token revocation feed silent; cache off until Redis answers")
                        memo.distrust()
                    pubsub.ping()
                    continue
                heard = time.monotonic()
                if message["type"] == "subscribe":
                    subscribed = True
                if message["type"] in {"subscribe", "pong"} and subscribed and not memo.trusted:
                    memo.trust()  # an empty memo: nothing it holds can predate a missed revocation
                elif message["type"] == "message":
                    _apply(message["data"].decode())
        finally:
            pubsub.close()

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=5)
        memo.distrust()


_listener: Listener | None = None
_listener_lock = threading.Lock()


def ensure_listener() -> None:
    """Start this process's listener once (again after a fork); without Redis the memo trusts itself."""
    global _listener
    if _listener is not None and _listener.pid == os.getpid():
        return
    with _listener_lock:
        if _listener is not None and _listener.pid == os.getpid():
            return
        memo.distrust()
        _listener = Listener(channel())
        if settings.REDIS_URL:
            _listener.start()
        else:
            memo.trust()  # one process, no Redis: revocations are applied in-process only


def stop_listener() -> None:
    """Stop this process's listener (tests, and settings changes); the next lookup starts a new one."""
    global _listener
    with _listener_lock:
        if _listener is not None and _listener.is_alive():
            _listener.stop()
        _listener = None
        memo.distrust()


def _apply(message: str) -> None:
    kind, _, payload = message.partition(":")
    if kind == "h":
        memo.drop_hashes([bytes.fromhex(h) for h in payload.split(",") if h])
    elif kind == "u":
        memo.drop_user(int(payload))
    elif kind == "s":
        memo.drop_hashes([b"sid:%d" % int(pk) for pk in payload.split(",") if pk])


def _revoke_everywhere(message: str) -> None:
    """Drop now in this process; tell the others once the deleting transaction has committed."""
    _apply(message)
    if settings.REDIS_URL:
        transaction.on_commit(lambda: _publish(message))


def _publish(message: str) -> None:
    client = redis_client(socket_connect_timeout=0.5, socket_timeout=0.5)
    for attempt in range(PUBLISH_TRIES):
        try:
            client.publish(channel(), message)
            return
        except redis.RedisError:
            time.sleep(0.05 * (attempt + 1))
    # Every listener that could have missed it hears nothing from Redis either, and drops its memo.
    logger.error("token revocation could not be published; listeners that miss it drop their cache")


@receiver(signals.tokens_revoked)
def publish_revoked(sender, hashes: list[bytes], **kwargs):
    if enabled():
        for start in range(0, len(hashes), 1000):
            _revoke_everywhere("h:" + ",".join(h.hex() for h in hashes[start : start + 1000]))


@receiver(signals.sessions_ended)
def publish_ended(sender, session_ids: list[int], **kwargs):
    """A JWT names its session: the sessions ended are dropped as their tokens' hashes are."""
    if enabled():
        for start in range(0, len(session_ids), 1000):
            _revoke_everywhere("s:" + ",".join(str(pk) for pk in session_ids[start : start + 1000]))


@receiver(post_save, sender=settings.AUTH_USER_MODEL)
def publish_deactivated(sender, instance, created: bool, **kwargs):
    if enabled() and not created and not instance.is_active:
        _revoke_everywhere(f"u:{instance.pk}")
