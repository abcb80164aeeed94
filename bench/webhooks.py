#!/usr/bin/env python
"""`make bench-webhooks`: how fast one Celery worker delivers events to a loopback receiver, and
what a receiver outage and a broker cut cost (nothing, if the outbox works).

Rate: ``--events`` (default 2,000) events are written in one transaction (as a burst of sign-ups
would write them), then one worker (one process, a pool of ``--threads`` threads) on a Redis broker
delivers them, signed, to a receiver in this process that checks every signature with the
standardwebhooks library. Reports events per second from the commit to the last one received, and
that none was lost, sent twice or badly signed.

Drill (``--drill``): events are written in small transactions for ``--drill-seconds`` while the
receiver answers 503 for ``--down`` seconds and the broker (a Redis of the drill's own, no
persistence) is stopped for ``--cut`` seconds and started again empty; beat runs the sweep every
second. Every event must arrive, and none twice after it was once accepted. Writes
bench/RESULTS-webhooks.md (the rate) or bench/RESULTS-webhooks-drill.md.
"""

import argparse
import os
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


from tests.cleanup import forget_prefix, forget_queue  # noqa: E402
from tests.fakes import FakeWebhookReceiver  # noqa: E402
from tests.live import BIN, CeleryWorker, Process, RedisServer, base_env, wait_until  # noqa: E402

DATABASE = f"cheershare_webhooks_{os.getpid()}"
QUEUE = f"webhooks-{os.getpid()}"
SHARED_BROKER = "redis://127.0.0.1:6379/9"  # the local Redis: the cache, and the rate's broker
MANAGE = [str(BIN / "python"), "manage.py"]
SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # a benchmark's own, not a secret
WRITE_FOR = """
import time
from django.db import transaction
from events.outbox import record
start, i = time.monotonic(), 0
while time.monotonic() - start < %d:
    with transaction.atomic():
        record("user.created", [{"id": i + k, "phone_number": f"+9183{i + k:08d}", "name": "Drill"} for k in range(5)])
    i += 5
    time.sleep(0.2)
print("WROTE", i)
"""
WRITE = """
from django.db import transaction
from events.outbox import record
with transaction.atomic():
    record("user.created", [{"id": i, "phone_number": f"+9182{i:08d}", "name": "Load"} for i in range(%d)])
"""


@contextmanager
def stack(receiver: "FakeWebhookReceiver", broker_url: str, **env: str):
    """The environment of a run, on a database of its own (migrated); at the end the receiver stops and
    the database, the cache keys and (on the shared Redis) the queue are removed."""
    subprocess.run(["createdb", "-U", "postgres", "-h", "127.0.0.1", DATABASE], check=True)
    env = base_env(
        DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{DATABASE}",
        REDIS_URL=SHARED_BROKER,
        CACHE_KEY_PREFIX=f"webhooks-{os.getpid()}",
        CELERY_BROKER_URL=broker_url,
        CELERY_TASK_DEFAULT_QUEUE=QUEUE,
        SECRET_KEY="webhooks-bench-secret-key-with-more-than-32-characters",
        DEBUG="0",
        SMS_BACKEND="locmem",
        WEBHOOK_URL=receiver.url,
        WEBHOOK_SECRET=SECRET,
        WEBHOOK_ALLOW_PRIVATE="1",
        LOG_LEVEL="WARNING",
        **env,
    )
    try:
        subprocess.run([*MANAGE, "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
        yield env
    finally:
        receiver.stop()
        subprocess.run(["dropdb", "--if-exists", "-U", "postgres", "-h", "127.0.0.1", DATABASE], check=False)
        forget_prefix(env["REDIS_URL"], env["CACHE_KEY_PREFIX"])
        if broker_url == SHARED_BROKER:
            forget_queue(broker_url, QUEUE)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--output", default="")
    parser.add_argument("--drill", action="store_true")
    parser.add_argument("--drill-seconds", type=int, default=90)
    parser.add_argument("--down", type=int, default=60)
    parser.add_argument("--cut", type=int, default=15)
    args = parser.parse_args()
    if args.drill:
        return drill(args)
    receiver = FakeWebhookReceiver(SECRET)
    with stack(receiver, SHARED_BROKER) as env:
        worker = CeleryWorker(env, pool="threads", concurrency=args.threads, quiet=True)
        try:
            time.sleep(3)  # the worker connects
            started = time.perf_counter()
            subprocess.run([*MANAGE, "shell", "-c", WRITE % args.events], cwd=ROOT, env=env, check=True)
            committed = time.perf_counter()
            wait_until(lambda: len(receiver.seen) >= args.events, timeout=600, what="every event delivered")
            time.sleep(1)  # a late duplicate would show now
        finally:
            worker.stop()
    elapsed = receiver.last - committed
    twice = sum(1 for count in receiver.seen.values() if count > 1)
    lines = [
        "# Webhook delivery rate",
        "",
        f"{args.events:,} events written in one transaction, delivered by one Celery worker (one process,",
        f"{args.threads} threads, Redis broker) to a loopback receiver verifying each signature (standardwebhooks).",
        "",
        "| figure | value |",
        "|---|---|",
        f"| writing the events (a `manage.py shell` process, start to commit) | {committed - started:.1f} s |",
        f"| commit to the last event received | {elapsed:.1f} s |",
        f"| events delivered per second | {args.events / elapsed:.0f} (target >= 200) |",
        f"| received / sent twice / bad signatures | {len(receiver.seen)} / {twice} / {receiver.bad} |",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    Path(args.output or ROOT / "bench" / "RESULTS-webhooks.md").write_text(text)
    if len(receiver.seen) != args.events or twice or receiver.bad:
        sys.exit(1)


def drill(args) -> None:
    receiver, broker = FakeWebhookReceiver(SECRET), RedisServer().start()
    processes, schedule = [], Path(f"/tmp/cheershare-drill-beat-{os.getpid()}")
    with stack(receiver, broker.url, EVENTS_SWEEP_SECONDS="1") as env:
        try:
            processes.append(CeleryWorker(env, pool="threads", concurrency=args.threads, quiet=True))
            processes.append(
                Process([str(BIN / "celery"), "-A", "cheershare", "beat", "-s", str(schedule)], env, quiet=True)
            )
            time.sleep(3)
            receiver.down_until = time.monotonic() + args.down
            writer = subprocess.Popen(
                [*MANAGE, "shell", "-c", WRITE_FOR % args.drill_seconds],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                text=True,
            )
            time.sleep(min(5, args.drill_seconds / 3))
            broker.stop()  # cut: the broker gone, and what it held with it
            time.sleep(args.cut)
            broker.start()
            out, _ = writer.communicate(timeout=args.drill_seconds + 60)
            written = int(out.split("WROTE")[-1])
            settle = time.monotonic()
            wait_until(lambda: len(receiver.accepted) >= written, timeout=args.down + 400, what="every event accepted")
            settled = time.monotonic() - settle
            time.sleep(2)
        finally:
            for process in processes:
                process.stop()
            broker.stop()
            schedule.unlink(missing_ok=True)
    lines = [
        "# Webhooks through a receiver outage and a broker cut",
        "",
        f"Events written in transactions of 5 every 0.2 s for {args.drill_seconds} s; the receiver answered 503",
        f"for the first {args.down} s; the broker (its own Redis, no persistence) was stopped for {args.cut} s",
        "and started again empty; one worker and beat (the sweep every second).",
        "",
        "| figure | value |",
        "|---|---|",
        f"| events written | {written} |",
        f"| accepted by the receiver (2xx) | {len(receiver.accepted)} |",
        f"| requests in all (503s included) | {sum(receiver.seen.values())} |",
        f"| sent again after being accepted | {receiver.again} |",
        f"| bad signatures | {receiver.bad} |",
        f"| from the writer's end to the last event accepted | {settled:.0f} s |",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    Path(args.output or ROOT / "bench" / "RESULTS-webhooks-drill.md").write_text(text)
    if len(receiver.accepted) != written or receiver.again or receiver.bad:
        sys.exit(1)


if __name__ == "__main__":
    main()
