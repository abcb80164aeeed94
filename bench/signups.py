#!/usr/bin/env python
"""`make bench-signups`: sign-ups end to end under load, nothing lost.

``--numbers`` distinct numbers (default 1,000) sign up through granian (2 workers), a real Celery
worker and a loopback Twilio (the real SDK), ``--clients`` at a time (default 16): each client asks
for a code, waits for the SMS to reach the fake Twilio, and verifies it. Then the database must hold
exactly one user, one token and one message per number. Writes bench/RESULTS-signups.md.
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.cleanup import forget_prefix, forget_queue  # noqa: E402
from tests.fakes import FakeTwilio  # noqa: E402
from tests.live import BIN, CeleryWorker, WebServer, base_env, request  # noqa: E402

DATABASE = f"cheershare_signups_{os.getpid()}"
QUEUE = f"signups-{os.getpid()}"


def sign_up(url: str, fake: FakeTwilio, phone: str, statuses: Counter, latencies: list) -> None:
    started = time.perf_counter()
    status, _, _ = request(url + "/v1/signup", {"name": "Load", "phone_number": phone})
    statuses[f"code {status}"] += 1
    if status != 200:
        return
    deadline = time.monotonic() + 30
    body = None
    while body is None and time.monotonic() < deadline:
        body = next((m["Body"] for m in list(fake.messages) if m.get("To") == phone), None)
        time.sleep(0.02)
    if body is None:
        statuses["no SMS within 30 s"] += 1
        return
    code = re.search(r"password is (\d+)", body).group(1)
    status, answer, _ = request(url + "/v1/signup", {"phone_number": phone, "otp": code})
    statuses[f"verify {status}"] += 1
    if status == 200 and answer.get("created"):
        latencies.append(time.perf_counter() - started)


def counts(env: dict) -> dict:
    query = (
        "SELECT (SELECT count(*) FROM users), (SELECT count(DISTINCT phone_number) FROM users),"
        " (SELECT count(*) FROM sessions), (SELECT count(*) FROM messages),"
        " (SELECT count(*) FROM messages WHERE verified_at IS NOT NULL)"
    )
    out = subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", DATABASE, "-At", "-c", query],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    users, numbers, sessions, messages, verified = map(int, out.split("|"))
    return {"users": users, "numbers": numbers, "sessions": sessions, "messages": messages, "verified": verified}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--numbers", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--output", default=str(ROOT / "bench" / "RESULTS-signups.md"))
    args = parser.parse_args()
    subprocess.run(["createdb", "-U", "postgres", "-h", "127.0.0.1", DATABASE], check=True)
    fake = FakeTwilio().start()
    env = base_env(
        DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{DATABASE}",
        REDIS_URL="redis://127.0.0.1:6379/9",
        CACHE_KEY_PREFIX=f"signups-{os.getpid()}",
        CELERY_BROKER_URL="redis://127.0.0.1:6379/9",
        CELERY_TASK_DEFAULT_QUEUE=QUEUE,
        SECRET_KEY="signups-bench-secret-key-with-more-than-32-characters",
        DEBUG="0",
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="0",
        SMS_BACKEND="twilio",
        TWILIO_ACCOUNT_SID="AC" + "3" * 32,
        TWILIO_AUTH_TOKEN="signups-twilio-auth-token",
        TWILIO_FROM_NUMBER="+15005550006",
        TWILIO_API_BASE_URL=fake.url,
        OTP_MAX_SENDS_PER_IP_PER_HOUR="1000000",
        LOG_LEVEL="WARNING",
    )
    processes = []
    try:
        subprocess.run([str(BIN / "python"), "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
        processes += [WebServer(env, workers=2), CeleryWorker(env, pool="threads")]
        url = processes[0].url
        statuses, latencies = Counter(), []
        phones = [f"+9181{i:08d}" for i in range(args.numbers)]
        started = time.perf_counter()

        def client(share: list[str]) -> None:
            for phone in share:
                sign_up(url, fake, phone, statuses, latencies)

        threads = [threading.Thread(target=client, args=(phones[k :: args.clients],)) for k in range(args.clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        found = counts(env)
    finally:
        for process in processes:
            process.stop()
        fake.stop()
        subprocess.run(["dropdb", "--if-exists", "-U", "postgres", "-h", "127.0.0.1", DATABASE], check=False)
        forget_prefix(env["REDIS_URL"], env["CACHE_KEY_PREFIX"])
        forget_queue(env["CELERY_BROKER_URL"], QUEUE)
    errors = sum(count for key, count in statuses.items() if not key.endswith(" 200"))
    lost = {key: args.numbers - value for key, value in found.items() if value != args.numbers}
    lines = [
        "# Sign-ups end to end under load",
        "",
        f"{args.numbers:,} distinct numbers, {args.clients} concurrent clients; granian (2 workers), one Celery",
        "worker (threads pool) on a Redis broker, PostgreSQL, and a loopback Twilio reached by the real SDK.",
        "",
        "| figure | value |",
        "|---|---|",
        f"| wall time | {elapsed:.1f} s |",
        f"| sign-ups per second | {len(latencies) / elapsed:.1f} |",
        f"| sign-up p50 / p99 (code request, SMS through the worker, verify) | "
        f"{statistics.median(latencies) * 1000:.0f} / {statistics.quantiles(latencies, n=100)[98] * 1000:.0f} ms |",
        f"| answers | {', '.join(f'{key}: {value}' for key, value in sorted(statuses.items()))} |",
        f"| users / distinct numbers / sessions / messages / messages verified | "
        f"{found['users']} / {found['numbers']} / {found['sessions']} / {found['messages']} / {found['verified']} |",
        f"| SMS received by the fake Twilio | {len(fake.messages)} |",
        f"| errors | {errors} |",
        f"| lost or extra (rows off {args.numbers:,}) | {lost or 'none'} |",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    Path(args.output).write_text(text)
    if errors or lost or len(fake.messages) != args.numbers:
        sys.exit(1)


if __name__ == "__main__":
    main()
