"""What a test or benchmark run leaves on the shared Redis, deleted when it ends: its cache keys and
its broker queue. Each run has a prefix and a queue of its own, so it never touches another's."""

import redis
from kombu.transport.redis import PRIORITY_STEPS, Channel

BATCH = 1000


def forget_prefix(url: str, prefix: str) -> int:
    """Delete every key under ``prefix:`` (a cache prefix, no glob characters); returns how many."""
    client = redis.Redis.from_url(url)
    try:
        keys = list(client.scan_iter(match=f"{prefix}:*", count=BATCH))
        return sum(client.delete(*keys[start : start + BATCH]) for start in range(0, len(keys), BATCH))
    finally:
        client.close()


def forget_queue(broker_url: str, queue: str) -> int:
    """Delete a Redis broker's ``queue`` with what kombu keeps beside it: a list per priority step,
    and the binding sets of the exchange Celery names after the queue; returns how many keys."""
    lists = [f"{queue}{Channel.sep}{step}" if step else queue for step in PRIORITY_STEPS]
    bindings = [prefix % queue for prefix in (Channel.keyprefix_queue, Channel.keyprefix_binding_permanent)]
    client = redis.Redis.from_url(broker_url)
    try:
        return client.delete(*lists, *bindings)
    finally:
        client.close()
