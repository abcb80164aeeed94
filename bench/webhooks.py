#!/usr/bin/env python
"""`make bench-webhooks`: how fast one Celery worker delivers events to a loopback receiver.

``--events`` (default 2,000) events are written in one transaction (as a burst of sign-ups would
write them), then one worker (one process, a pool of ``--threads`` threads) on a Redis broker
delivers them, signed, to a receiver in this process that checks every signature with the
standardwebhooks library. Reports events per second from the commit to the last one received, and
that none was lost, sent twice or badly signed. Writes bench/RESULTS-webhooks.md.
"""

import argparse
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from standardwebhooks import Webhook  # noqa: E402

from tests.cleanup import forget_prefix, forget_queue  # noqa: E402
from tests.live import BIN, Process, base_env, wait_until  # noqa: E402

DATABASE = f"cheershare_webhooks_{os.getpid()}"
QUEUE = f"webhooks-{os.getpid()}"
SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # a benchmark's own, not a secret
WRITE = """
from django.db import transaction
from events.outbox import record
with transaction.atomic():
    record("user.created", [{"id": i, "phone_number": f"+9182{i:08d}", "name": "Load"} for i in range(%d)])
"""


class Receiver:
    def __init__(self):
        self.seen, self.bad, self.last = Counter(), 0, 0.0
        self.lock = threading.Lock()
        receiver, webhook = self, Webhook(SECRET)

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                try:
                    webhook.verify(body, dict(self.headers))
                    ok = True
                except Exception:
                    ok = False
                with receiver.lock:
                    receiver.seen[self.headers["webhook-id"]] += 1
                    receiver.bad += not ok
                    receiver.last = time.perf_counter()
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--output", default=str(ROOT / "bench" / "RESULTS-webhooks.md"))
    args = parser.parse_args()
    subprocess.run(["createdb", "-U", "postgres", "-h", "127.0.0.1", DATABASE], check=True)
    receiver = Receiver()
    env = base_env(
        DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{DATABASE}",
        REDIS_URL="redis://127.0.0.1:6379/9",
        CACHE_KEY_PREFIX=f"webhooks-{os.getpid()}",
        CELERY_BROKER_URL="redis://127.0.0.1:6379/9",
        CELERY_TASK_DEFAULT_QUEUE=QUEUE,
        SECRET_KEY="webhooks-bench-secret-key-with-more-than-32-characters",
        DEBUG="0",
        SMS_BACKEND="locmem",
        WEBHOOK_URL=receiver.url,
        WEBHOOK_SECRET=SECRET,
        WEBHOOK_ALLOW_PRIVATE="1",
        LOG_LEVEL="WARNING",
    )
    manage = [str(BIN / "python"), "manage.py"]
    worker = None
    try:
        subprocess.run([*manage, "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
        command = [str(BIN / "celery"), "-A", "cheershare", "worker", "--pool=threads"]
        command += [f"--concurrency={args.threads}", "-Q", QUEUE, "--without-gossip", "--without-mingle"]
        worker = Process(command, env, quiet=True)
        time.sleep(3)  # the worker connects
        started = time.perf_counter()
        subprocess.run([*manage, "shell", "-c", WRITE % args.events], cwd=ROOT, env=env, check=True)
        committed = time.perf_counter()
        wait_until(lambda: len(receiver.seen) >= args.events, timeout=600, what="every event delivered")
        time.sleep(1)  # a late duplicate would show now
    finally:
        if worker is not None:
            worker.stop()
        receiver.server.shutdown()
        subprocess.run(["dropdb", "--if-exists", "-U", "postgres", "-h", "127.0.0.1", DATABASE], check=False)
        forget_prefix(env["REDIS_URL"], env["CACHE_KEY_PREFIX"])
        forget_queue(env["CELERY_BROKER_URL"], QUEUE)
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
    Path(args.output).write_text(text)
    if len(receiver.seen) != args.events or twice or receiver.bad:
        sys.exit(1)


if __name__ == "__main__":
    main()
