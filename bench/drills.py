#!/usr/bin/env python
"""`make drills`: faults under load, and what clients saw and what was lost.

On one stack (bench/drill_stack.py), under a bounded load of sign-ins and authenticated requests
(bench/drill_load.py): Redis stopped and stalled, PostgreSQL stopped and its connections all taken,
Twilio failing every send, the Celery worker killed mid-send, a server worker killed; then slow clients
trickle their headers, then their bodies, into the server, alone and behind nginx. On stacks of their
own (bench/broker_drills.py): RabbitMQ cut and stalled, one Redis with cache and broker crashed, a
Sentinel failover. Each drill ends with the same invariants.
Writes bench/RESULTS-drills.md; ``--short`` is the CI form (shorter outages, same checks).
"""

import argparse
import itertools
import os
import signal
import socket
import statistics
import sys
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import broker_drills  # noqa: E402
from bench.drill_stack import BODY_READ_TIMEOUT, DRILL_ENV, Drill, Stack, keeps_its_pace  # noqa: E402
from messaging.app_settings import MessagingSettings  # noqa: E402
from tests.live import Nginx, WebServer, children, request, trickle_body, wait_until  # noqa: E402

BACKOFF_MAX = MessagingSettings.SMS_RETRY_BACKOFF_MAX.default  # the drills' servers keep the default
TWILIO_HTTP_TIMEOUT = int(DRILL_ENV["TWILIO_HTTP_TIMEOUT"])


def drill_redis(stack: Stack, token: str, spans: dict) -> Drill:
    drill = Drill(f"Redis (the cache) stopped for {spans['outage']} s and restarted", stack, token)
    drill.run(spans, stack.redis.stop, stack.redis.start)
    drill.check("code requests during the outage answer 200 or 503", drill.labels("during", "code") <= {
        "200", "503 service_unavailable", "503 sms_unavailable"})  # fmt: skip
    drill.check("authenticated requests keep answering 200 (strict mode reads PostgreSQL)",
                drill.labels("during", "me") == {"200"})  # fmt: skip
    drill.check("everything answers 200 within 5 s of Redis returning", drill.recovery <= 5)
    return drill.finish()


def drill_redis_stalled(stack: Stack, token: str, spans: dict) -> Drill:
    """Bulkheads: a Redis that hangs (SIGSTOP), not one that refuses, must not take /v1/me down."""
    drill = Drill(f"Redis (the cache) stalled (SIGSTOP) for {spans['outage']} s", stack, token)
    drill.run(spans, stack.redis.pause, stack.redis.resume)
    keeps_its_pace(drill, spans)
    drill.check("code requests during the stall answer 200 or 503", drill.labels("during", "code") <= {
        "200", "503 service_unavailable", "503 sms_unavailable"})  # fmt: skip
    drill.check("everything answers 200 within 6 s of Redis resuming", drill.recovery <= 6)
    return drill.finish()


def drill_postgres(stack: Stack, token: str, spans: dict) -> Drill:
    drill = Drill(f"PostgreSQL stopped (immediate) for {spans['outage']} s and restarted", stack, token)
    drill.run(spans, stack.pg.stop, stack.pg.start)
    answered = drill.labels("during", "me") | drill.labels("during", "verify") | drill.labels("during", "code")
    drill.check("answers during the outage are 200 or 503", answered <= {"200", "503 service_unavailable"})
    drill.check("authenticated requests answer 503 while it is down", "503 service_unavailable" in answered)
    drill.check("everything answers 200 within 5 s of PostgreSQL returning", drill.recovery <= 5)
    retried = [s for s in drill.load.signins if s.retried]
    drill.check(
        f"every code whose verify answered 503 was accepted once PostgreSQL was back "
        f"({sum(1 for s in retried if s.token)} of {len(retried)})",
        retried and all(s.token for s in retried),
    )
    return drill.finish()


def drill_postgres_exhausted(stack: Stack, token: str, spans: dict) -> Drill:
    """Another client takes every connection PostgreSQL allows: no new connection can be opened."""
    drill = Drill(
        f"PostgreSQL's every connection (max_connections={stack.pg.max_connections}) taken by another "
        f"client for {spans['outage']} s",
        stack,
        token,
    )
    hog = []
    drill.run(spans, lambda: hog.extend(stack.pg.take_every_connection()), lambda: [c.close() for c in hog])
    answered = set().union(*(drill.labels("during", kind) for kind in ("code", "verify", "me")))
    drill.notes.append(f"the other client held {len(hog)} connections; answers during: {sorted(answered)}")
    drill.check("answers while no connection can be opened are 200 or 503", answered <= {
        "200", "503 service_unavailable"})  # fmt: skip
    drill.check("everything answers 200 within 5 s of the connections coming back", drill.recovery <= 5)
    return drill.finish()


def drill_twilio_outage(stack: Stack, token: str, spans: dict) -> Drill:
    """Twilio answers 500 to every send for ``spans['twilio']`` s: every code is sent once it is back."""
    seconds = spans["twilio"]
    drill = Drill(f"Twilio answering 500 to every send for {seconds} s", stack, token)
    outage = {"before": spans["before"], "outage": seconds, "after": spans["after"]}
    ended = []

    def mend():
        stack.fake.every_send = None
        ended.append(time.time())

    drill.run(outage, lambda: setattr(stack.fake, "every_send", (500, 20500, 0)), mend)
    drill.check("code requests during the outage answer 200 or 503", drill.labels("during", "code") <= {
        "200", "503 sms_unavailable"})  # fmt: skip
    drill.finish(sms_wait=BACKOFF_MAX + 15)
    asked = [s for s in drill.load.signins if s.asked_at < ended[0]]
    first = {}
    for message in list(stack.fake.messages):
        first.setdefault(message["To"], message["received_at"])
    last = max((first[s.phone] for s in asked if s.phone in first), default=ended[0]) - ended[0]
    drill.notes.append(
        f"{len(asked)} codes asked before Twilio came back; the last of their SMS went out {last:.1f} s after it did"
    )
    drill.check(f"every code asked during the outage went out within SMS_RETRY_BACKOFF_MAX ({BACKOFF_MAX} s) "
                "+ its jitter of Twilio's return", last <= BACKOFF_MAX + 3)  # fmt: skip
    return drill


def drill_celery_worker(stack: Stack, token: str, spans: dict) -> Drill:
    drill = Drill(f"Celery worker killed (SIGKILL) mid-send, restarted {spans['outage']} s later", stack, token)
    stack.fake.script = [(201, None, 0.5)] * 10_000  # slow sends, so one is always in flight

    in_flight, asked_while_down = [], []

    def kill():
        wait_until(lambda: stack.fake.answering > 0, what="a send in flight")
        stack.worker.proc.kill()
        stack.worker.proc.wait()
        in_flight.append(stack.fake.requests[-1]["To"])
        # the load's sign-ins may all be waiting for their SMS: ask for one more code while it is down
        phone = f"+9183{next(stack.numbers):08d}"
        status = request(stack.web.url + "/v1/signup", {"name": "Down", "phone_number": phone})[0]
        asked_while_down.append((phone, status))

    drill.run(spans, kill, stack.restart_worker)
    stack.fake.script = []
    sent = lambda: sum(1 for r in list(stack.fake.messages) if r.get("To") == in_flight[0])  # noqa: E731
    asked = lambda: sum(1 for r in list(stack.fake.lookups) if r.get("To") == in_flight[0])  # noqa: E731
    try:
        wait_until(lambda: asked() >= 1, timeout=60, what="the new worker to ask Twilio about the message in flight")
    except AssertionError:
        pass
    drill.check(
        f"the message Twilio took as the worker died was looked up by the new worker, not sent again "
        f"({sent()} sent, {asked()} lookups)",
        sent() == 1 and asked() >= 1,
    )
    [(phone, status)] = asked_while_down
    try:
        wait_until(lambda: any(m.get("To") == phone for m in list(stack.fake.messages)), timeout=30, what="its SMS")
    except AssertionError:
        pass
    delivered = any(m.get("To") == phone for m in list(stack.fake.messages))
    drill.check(
        "code requests keep answering 200 while no worker runs, and their SMS goes out once one is back "
        "(the broker holds the messages)",
        drill.labels("during", "code") <= {"200"} and status == 200 and delivered,
    )
    return drill.finish(sms_wait=40)


def drill_server_worker(stack: Stack, token: str, spans: dict) -> Drill:
    drill = Drill("A server (granian) worker killed (SIGKILL)", stack, token)
    victims = []

    def kill():
        victims.extend(children(stack.web.proc.pid))
        os.kill(victims[0], signal.SIGKILL)

    def replaced():
        wait_until(lambda: len(set(children(stack.web.proc.pid)) - set(victims)) == 1, what="a new worker")

    drill.run(spans, kill, replaced)
    seen = set().union(
        *(drill.labels(phase, kind) for phase in ("during", "after") for kind in ("code", "verify", "me"))
    )
    drill.check("clients see 200s and at most failed connections", seen <= {"200", "connection error"})
    return drill.finish()


# Slow clients ----------------------------------------------------------------------------------


def trickle(port: int, seconds: float, stop: threading.Event) -> None:
    """One connection that sends a request's headers one line a second and never finishes them."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            deadline = time.monotonic() + seconds
            line = 0
            while time.monotonic() < deadline and not stop.wait(1):
                line += 1
                sock.sendall(f"X-Trickle-{line}: x\r\n".encode())
    except OSError:
        pass  # the server (or proxy) closed it: that is what a server may do with a trickler


def slow_clients(url: str, port: int, connections: int, seconds: float, numbers: itertools.count, bodies: bool) -> dict:
    """/healthz and code requests from another client while ``connections`` tricklers hold on: of
    headers, or (``bodies``) of code requests' bodies, a byte every 3 s, reconnecting when ended."""
    stop, ends = threading.Event(), []
    until = time.monotonic() + seconds

    def trickler():
        if bodies:
            ends.extend(trickle_body(port, until, gap=3, stop=stop))
        else:
            trickle(port, seconds, stop)

    tricklers = [threading.Thread(target=trickler) for _ in range(connections)]
    for thread in tricklers:
        thread.start()
    time.sleep(1)
    latencies, failures = [], Counter()
    while time.monotonic() < until - 1:
        for path, body in (
            ("/healthz", None),
            ("/v1/signup", {"name": "Slow", "phone_number": f"+9184{next(numbers):08d}"}),
        ):
            started = time.monotonic()
            try:
                status = request(url + path, body, timeout=5)[0]
                if status != 200:
                    failures[str(status)] += 1
            except OSError:
                failures["timeout or reset"] += 1
            latencies.append(time.monotonic() - started)
        time.sleep(0.2)
    stop.set()
    for thread in tricklers:
        thread.join()
    ok = len(latencies) - sum(failures.values())
    return {
        "answered": ok,
        "failed": dict(failures),
        "p50": statistics.median(latencies),
        "max": max(latencies),
        "ends": Counter(line or "closed" for line, _ in ends),
        "longest end": max((duration for _, duration in ends), default=0.0),
    }


def drill_slow_clients(stack: Stack, connections: dict, seconds: float) -> tuple[list[str], bool]:
    """Headers trickled, then bodies trickled, at granian alone (its body gate on) and behind nginx
    (nginx buffers each body whole; the server runs without its gate, BODY_GATE=0)."""
    behind_nginx = "nginx in front of granian (2 workers, BODY_GATE=0), as docker-compose.yml runs it"
    alone = "granian, 2 workers (scripts/serve, BODY_GATE=1), alone"
    servers = {alone: stack.started(WebServer(dict(stack.env, BODY_GATE="1"), workers=2))}
    proxied = stack.started(WebServer(dict(stack.env, TRUSTED_PROXY_COUNT="1", BODY_GATE="0"), workers=2))
    nginx = Nginx(proxied.port)
    servers[behind_nginx] = nginx
    try:
        results = {
            (kind, name): slow_clients(
                server.url, server.port, connections[kind], seconds, stack.numbers, kind == "bodies"
            )
            for kind in ("headers", "bodies")
            for name, server in servers.items()
        }
    finally:
        nginx.stop()
    lines = [
        f"### Slow clients: {connections['headers']} connections trickle their headers one line a second, then "
        f"{connections['bodies']} trickle code requests' bodies (Content-Length 1000) a byte every 3 s, "
        f"each for {seconds:.0f} s (reconnecting when the server ends them)",
        "",
        "Meanwhile another client calls /healthz and asks for a code in turn, every 0.2 s (5 s timeout).",
        "",
        "| trickled | server | answered | failed | p50 | slowest | tricklers ended with | longest trickler |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for (kind, name), result in results.items():
        failed = ", ".join(f"{k}: {v}" for k, v in result["failed"].items()) or "0"
        ended = ", ".join(f"{line}: {count}" for line, count in result["ends"].items()) or "-"
        longest = f"{result['longest end']:.1f} s" if result["ends"] else "-"
        lines.append(
            f"| {kind} | {name} | {result['answered']} | {failed} | {result['p50'] * 1000:.0f} ms "
            f"| {result['max']:.2f} s | {ended} | {longest} |"
        )
    kept_up = {key: not r["failed"] and r["max"] < 1 and r["answered"] > 0 for key, r in results.items()}
    bounded = {
        key: set(r["ends"]) == {"HTTP/1.1 408 Request Timeout"} and r["longest end"] < BODY_READ_TIMEOUT + 3
        for key, r in results.items()
        if key == ("bodies", alone)
    }
    held = not results["bodies", behind_nginx]["ends"]
    lines += [
        "",
        *(
            f"- {'PASS' if ok else 'FAIL'}: {kind} trickled, {name}: every call answers, none slower than 1 s"
            for (kind, name), ok in kept_up.items()
        ),
        *(
            f"- {'PASS' if ok else 'FAIL'}: bodies trickled, {name}: every trickler ended with 408 within "
            f"BODY_READ_TIMEOUT ({BODY_READ_TIMEOUT} s) + 3 s"
            for (_kind, name), ok in bounded.items()
        ),
        f"- {'PASS' if held else 'FAIL'}: bodies trickled, {behind_nginx}: nginx held every trickler "
        "(no partial body passed on)",
        "",
    ]
    return lines, all(kept_up.values()) and all(bounded.values()) and held


def drill_twilio_slow(stack: Stack, token: str, spans: dict) -> Drill:
    """Twilio takes every send but answers after the SDK's timeout: the worker must ask Twilio whether
    it has the message before trying again, and send none twice."""
    late = TWILIO_HTTP_TIMEOUT + 1
    drill = Drill(f"Twilio answering every send {late} s late (after the {TWILIO_HTTP_TIMEOUT} s timeout) for "
                  f"{spans['outage']} s", stack, token)  # fmt: skip
    drill.run(spans, lambda: setattr(stack.fake, "every_send", (201, None, late)), lambda: setattr(
        stack.fake, "every_send", None))  # fmt: skip
    drill.check("code requests and authenticated requests keep answering 200", set().union(
        *(drill.labels("during", kind) for kind in ("code", "me"))) <= {"200"})  # fmt: skip
    return drill.finish(sms_wait=BACKOFF_MAX + 15)


ON_ONE_STACK = {
    "redis": drill_redis,
    "redis-stalled": drill_redis_stalled,
    "postgres": drill_postgres,
    "postgres-exhausted": drill_postgres_exhausted,
    "twilio-outage": drill_twilio_outage,
    "twilio-slow": drill_twilio_slow,
    "celery-worker": drill_celery_worker,
    "server-worker": drill_server_worker,
}
ON_STACKS_OF_THEIR_OWN = {
    "rabbitmq": broker_drills.rabbitmq,
    "redis-broker-aof": lambda spans: [broker_drills.redis_broker_crash(spans, persistent=True)],
    "redis-broker-empty": lambda spans: [broker_drills.redis_broker_crash(spans, persistent=False)],
    "sentinel": lambda spans: [broker_drills.sentinel_failover(spans)],
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--short", action="store_true", help="the CI form: 5 s outages, 15 s of slow clients")
    parser.add_argument("--only", help="a comma-separated list of drills: " + ", ".join(
        [*ON_ONE_STACK, *ON_STACKS_OF_THEIR_OWN, "slow-clients"]))  # fmt: skip
    parser.add_argument("--output", default=str(ROOT / "bench" / "RESULTS-drills.md"))
    args = parser.parse_args()
    chosen = args.only.split(",") if args.only else [*ON_ONE_STACK, "slow-clients", *ON_STACKS_OF_THEIR_OWN]
    spans = {"before": 3, "outage": 5, "after": 7, "twilio": 10} if args.short else {
        "before": 5, "outage": 10, "after": 10, "twilio": 120}  # fmt: skip
    slow = ({"headers": 16, "bodies": 50}, 15.0 if args.short else 30.0)  # over BODY_READ_TIMEOUT: tricklers are ended
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("stopped"))  # still stop every process it started
    drills, slow_lines, slow_passed = [], [], True

    def done(drill: Drill) -> list[str]:
        print("\n".join(drill.report()), flush=True)
        drills.append(drill)
        return drill.report()

    sections = [
        "# Fault drills under load",
        "",
        "granian (scripts/serve, 2 workers), a Celery worker (threads pool) on a Redis broker, a throwaway PostgreSQL",
        "cluster (max_connections=20), the cache on its own Redis, and a loopback Twilio reached by the real SDK.",
        "The broker and Redis drills that follow the slow clients each run on a stack of their own: RabbitMQ",
        "behind a proxy that cuts or stalls its connections, one Redis holding the cache and the broker, and",
        "Redis Sentinel. Load: 4 clients signing in (code request, SMS through the worker, verify; a verify",
        "answered 503 is sent again) and 2 calling /v1/me with a token.",
        f"Phases: {spans['before']} s before the fault, {spans['outage']} s of fault ({spans['twilio']} s for "
        f"Twilio), {spans['after']} s after. Answers are labelled by status and error code.",
        "What an earlier probe of the same faults found, against these results: RESULTS-drills-before-after.md.",
        "",
    ]
    if set(chosen) & {*ON_ONE_STACK, "slow-clients"}:
        stack = Stack(max_connections=20)
        try:
            token = stack.sign_in("+918300000000")
            for name in (name for name in ON_ONE_STACK if name in chosen):
                sections += done(ON_ONE_STACK[name](stack, token, spans))
            if "slow-clients" in chosen:
                slow_lines, slow_passed = drill_slow_clients(stack, *slow)
                print("\n".join(slow_lines), flush=True)
                sections += slow_lines
        finally:
            stack.close()
    for name in (name for name in ON_STACKS_OF_THEIR_OWN if name in chosen):
        for drill in ON_STACKS_OF_THEIR_OWN[name](spans):
            sections += done(drill)
    Path(args.output).write_text("\n".join(sections))
    if not (all(drill.passed for drill in drills) and slow_passed):
        print("a drill failed", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
