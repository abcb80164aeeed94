"""A run's broker queue and cache keys leave the shared Redis with it (tests/cleanup.py)."""

import redis
from celery import Celery

from tests.cleanup import forget_prefix, forget_queue


def test_a_queue_leaves_with_kombus_records_of_it(live_env):
    broker_url, queue = live_env["CELERY_BROKER_URL"], live_env["CELERY_TASK_DEFAULT_QUEUE"]
    app = Celery("cleanup-test", broker=broker_url, set_as_current=False)  # the project's tasks keep their app
    app.conf.task_default_queue = queue
    app.send_task("tests.nothing", priority=0)
    app.send_task("tests.nothing", priority=9)  # a list of its own
    client = redis.Redis.from_url(broker_url)

    def left() -> list[bytes]:
        return sorted(key for key in client.scan_iter(count=1000) if queue.encode() in key)

    before = left()
    assert len(before) >= 3, before  # two lists and a binding set at least
    assert forget_queue(broker_url, queue) == len(before)
    assert left() == []
    app.close()
    client.close()


def test_only_the_keys_under_a_prefix_leave(live_env):
    url, prefix = live_env["REDIS_URL"], live_env["CACHE_KEY_PREFIX"] + "-cleanup"
    client = redis.Redis.from_url(url)
    for key in [f"{prefix}:1:a", f"{prefix}:1:gates:loaded", f"{prefix}-other:1:a"]:
        client.set(key, 1)
    assert forget_prefix(url, prefix) == 2
    assert client.get(f"{prefix}-other:1:a") == b"1"
    client.delete(f"{prefix}-other:1:a")
    client.close()
