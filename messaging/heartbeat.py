"""Whether a worker is alive: each Celery worker process writes the time into the cache every
INTERVAL seconds (a thread started when the worker is ready), and /readyz, /metrics and the admin
read how old the last beat is. Without a broker (a development run) tasks run in the web process
and there is no worker to miss."""

import logging
import threading
import time

from celery.signals import worker_ready
from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)
KEY = "worker:heartbeat"
INTERVAL = 10  # seconds between beats
STALE = 3 * INTERVAL  # a worker silent this long is missing


def beat() -> None:
    cache.set(KEY, time.time(), None)


def age() -> float | None:
    """Seconds since the last beat of any worker; None if none ever beat (since the cache was emptied)."""
    last = cache.get(KEY)
    return None if last is None else max(time.time() - last, 0.0)


def state() -> str:
    """``ok``, ``eager`` (no broker: tasks run in the web process), or ``missing`` with the last beat's age."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return "eager"
    seconds = age()
    if seconds is None:
        return "missing: no heartbeat yet"
    if seconds >= STALE:
        return f"missing: last heartbeat {seconds:.0f} s ago"
    return "ok"


@worker_ready.connect
def start_beating(sender=None, **kwargs) -> None:
    threading.Thread(target=_beat_forever, name="cheershare-heartbeat", daemon=True).start()


def _beat_forever() -> None:
    while True:
        try:
            beat()
        except Exception as exc:  # the cache is down: say so, try again next time
            logger.warning("worker heartbeat not written", extra={"error": type(exc).__name__})
        time.sleep(INTERVAL)
