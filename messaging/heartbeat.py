"""Whether a worker and Celery beat are alive: each Celery worker process, and the beat process,
writes the time into the cache every INTERVAL seconds (a thread started when it is ready), and
/readyz, /metrics and the admin read how old the last beat is. Without a broker (a development run)
tasks run in the web process and there is no worker or beat to miss."""

import logging
import threading
import time

from celery.signals import beat_init, worker_ready
from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)
KEY = "worker:heartbeat"
BEAT_KEY = "beat:heartbeat"
INTERVAL = 10  # seconds between beats
STALE = 3 * INTERVAL  # a worker silent this long is missing


def beat(key: str = KEY) -> None:
    cache.set(key, time.time(), None)


def age(key: str = KEY) -> float | None:
    """Seconds since the last beat of any worker (or beat, ``BEAT_KEY``); None if none ever beat."""
    last = cache.get(key)
    return None if last is None else max(time.time() - last, 0.0)


def state(key: str = KEY) -> str:
    """``ok``, ``eager`` (no broker: tasks run in the web process), or ``missing`` with the last beat's age."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return "eager"
    seconds = age(key)
    if seconds is None:
        return "missing: no heartbeat yet"
    if seconds >= STALE:
        return f"missing: last heartbeat {seconds:.0f} s ago"
    return "ok"


@worker_ready.connect
def start_beating(sender=None, **kwargs) -> None:
    threading.Thread(target=_beat_forever, args=(KEY,), name="cheershare-heartbeat", daemon=True).start()


@beat_init.connect
def start_beat_heartbeat(sender=None, **kwargs) -> None:
    threading.Thread(target=_beat_forever, args=(BEAT_KEY,), name="cheershare-beat-heartbeat", daemon=True).start()


def _beat_forever(key: str) -> None:
    while True:
        try:
            beat(key)
        except Exception as exc:  # the cache is down: say so, try again next time
            logger.warning("worker heartbeat not written", extra={"error": type(exc).__name__})
        time.sleep(INTERVAL)
