#!/usr/bin/env python
"""`make drills`: faults under load, and what clients saw and what was lost.

The stack: the production server (scripts/serve: granian, 2 workers) on a throwaway PostgreSQL
cluster (``initdb``, its own port), the cache on a Redis server of its own, the Celery broker on the
local Redis (its own queue), a real worker and a loopback Twilio reached by the real SDK. A bounded
load of sign-ins and authenticated requests runs through each drill: Redis stopped and restarted,
PostgreSQL stopped and restarted, the Celery worker killed mid-send, a server worker killed. Each
ends with the same invariants. Then slow clients trickle their headers, then their bodies, into the
server, alone and behind nginx.
Writes bench/RESULTS-drills.md; ``--short`` is the CI form (shorter outages, same checks).
"""

import argparse
import itertools
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.drill_load import CLIENT_TIMEOUT, Load  # noqa: E402
from bench.pgcluster import ThrowawayPostgres  # noqa: E402
from tests.cleanup import forget_queue  # noqa: E402
from tests.fakes import FakeTwilio  # noqa: E402
from tests.live import (  # noqa: E402
    BIN,
    CeleryWorker,
    Nginx,
    RedisServer,
    WebServer,
    base_env,
    children,
    request,
    trickle_body,
    wait_until,
)

OTP_TTL = 300
QUEUE = f"drills-{os.getpid()}"
BROKER = "redis://127.0.0.1:6379/10"
BODY_READ_TIMEOUT = 10  # the server's default: a trickled body is ended with 408 after it


class Stack:
    """The processes under drill, and every log line they wrote (killed ones included)."""

    def __init__(self):
        self.pg = ThrowawayPostgres().create()
        self.redis = RedisServer().start()
        self.fake = FakeTwilio().start()
        self.env = base_env(
            DATABASE_URL=self.pg.url,
            REDIS_URL=self.redis.url,
            CACHE_KEY_PREFIX="drills",
            CELERY_BROKER_URL=BROKER,
            CELERY_TASK_DEFAULT_QUEUE=QUEUE,
            CELERY_VISIBILITY_TIMEOUT="10",
            SECRET_KEY="drills-secret-key-with-more-than-32-characters-in-it",
            DEBUG="0",
            ALLOWED_HOSTS="127.0.0.1",
            SECURE_SSL_REDIRECT="0",
            SMS_BACKEND="twilio",
            TWILIO_ACCOUNT_SID="AC" + "4" * 32,
            TWILIO_AUTH_TOKEN="drills-twilio-auth-token",
            TWILIO_FROM_NUMBER="+15005550006",
            TWILIO_API_BASE_URL=self.fake.url,
            OTP_TTL=str(OTP_TTL),
            OTP_MAX_SENDS_PER_IP_PER_HOUR="1000000",
            SMS_MIN_CONVERSION="0",
            BODY_READ_TIMEOUT=str(BODY_READ_TIMEOUT),
            LOG_LEVEL="INFO",
        )
        subprocess.run(
            [str(BIN / "python"), "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=self.env, check=True
        )
        self.processes = []
        self.web = self.started(WebServer(self.env, workers=2))
        self.worker = self.started(CeleryWorker(self.env, pool="threads"))
        self.numbers = itertools.count(1)

    def started(self, process):
        self.processes.append(process)
        return process

    def restart_worker(self) -> None:
        self.worker = self.started(CeleryWorker(self.env, pool="threads"))

    def logs(self) -> str:
        return "\n".join(process.output() for process in self.processes)

    def sign_in(self, phone: str) -> str:
        assert request(self.web.url + "/v1/signup", {"name": "Drill", "phone_number": phone})[0] == 200
        wait_until(lambda: any(m.get("To") == phone for m in list(self.fake.messages)), what="the first SMS")
        body = next(m["Body"] for m in self.fake.messages if m["To"] == phone)
        code = re.search(r"password is (\d+)", body).group(1)
        status, answer, _ = request(self.web.url + "/v1/signup", {"phone_number": phone, "otp": code})
        assert status == 200, answer
        return answer["token"]

    def close(self) -> None:
        for process in self.processes:
            if process.proc.poll() is None:
                process.stop()
        self.fake.stop()
        self.redis.stop()
        self.pg.destroy()
        forget_queue(BROKER, QUEUE)


class Drill:
    """One fault under load: the counts by phase, the recovery time, the losses and the checks."""

    def __init__(self, name: str, stack: Stack, token: str):
        self.name, self.stack = name, stack
        self.load = Load(stack.web.url, stack.fake, token, numbers=stack.numbers)
        self.recovery = 0.0
        self.checks: list[tuple[str, bool]] = []
        self.notes: list[str] = []

    def run(self, spans: dict, begin, end) -> "Drill":
        self.load.start()
        try:
            time.sleep(spans["before"])
            self.load.phase = "during"
            begin()
            time.sleep(spans["outage"])
            end()
            returned = time.monotonic()
            self.load.phase = "after"
            time.sleep(spans["after"])
        finally:
            self.load.stop()
        self.recovery = self.load.recovery_seconds(returned)
        return self

    def labels(self, phase: str, kind: str) -> set[str]:
        return {key.split(" ", 1)[1] for key in self.load.by_phase[phase] if key.startswith(kind + " ")}

    def check(self, what: str, passed: bool) -> None:
        self.checks.append((what, bool(passed)))

    def lost_messages(self, wait: float) -> tuple[list, list, int]:
        """Codes answered 200 whose SMS never came, SMS sent after their code expired, duplicates."""
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and self._missing():
            time.sleep(0.2)
        received = Counter(m["To"] for m in list(self.stack.fake.messages))
        first = {}
        for message in list(self.stack.fake.messages):
            first.setdefault(message["To"], message["received_at"])
        late = [s.phone for s in self.load.signins if s.phone in first and first[s.phone] - s.asked_at >= OTP_TTL]
        duplicates = sum(received[s.phone] - 1 for s in self.load.signins if received[s.phone] > 1)
        return self._missing(), late, duplicates

    def _missing(self) -> list[str]:
        sent = {m["To"] for m in list(self.stack.fake.messages)}
        return [s.phone for s in self.load.signins if s.phone not in sent]

    def finish(self, sms_wait: float = 20) -> "Drill":
        everything = Counter()
        for counts in self.load.by_phase.values():
            everything.update(counts)
        self.check("no 500 in any answer", not any(" 500" in key for key in everything))
        self.check(
            f"no request hung past the client timeout ({CLIENT_TIMEOUT} s)", not any("timeout" in k for k in everything)
        )
        missing, late, duplicates = self.lost_messages(sms_wait)
        self.check("every code answered 200 had its SMS sent (nothing lost)", not missing)
        self.check("no SMS sent after its code expired", not late)
        if duplicates:
            self.notes.append(f"{duplicates} SMS sent twice (a message redelivered after the worker died mid-send)")
        for what, passed in invariants(self.stack, self.load):
            self.check(what, passed)
        return self

    def report(self) -> list[str]:
        lines = [f"### {self.name}", "", "| phase | answers |", "|---|---|"]
        for phase in ("before", "during", "after"):
            counts = self.load.by_phase.get(phase, {})
            lines.append(f"| {phase} | {', '.join(f'{k}: {v}' for k, v in sorted(counts.items())) or '-'} |")
        lines += [
            "",
            f"Recovery: the last failed answer came {self.recovery:.1f} s after the fault ended. "
            f"Slowest answer: {self.load.slowest:.2f} s. Sign-ins started: {len(self.load.signins)}, "
            f"completed: {sum(1 for s in self.load.signins if s.token)}.",
            "",
        ]
        lines += [f"- {'PASS' if passed else 'FAIL'}: {what}" for what, passed in self.checks]
        lines += [f"- note: {note}" for note in self.notes]
        return lines + [""]

    @property
    def passed(self) -> bool:
        return all(passed for _, passed in self.checks)


def invariants(stack: Stack, load: Load) -> list[tuple[str, bool]]:
    """The same checks after every drill: the database, replayed codes and the logs."""
    duplicates = stack.pg.query("SELECT count(*) - count(DISTINCT phone_number) FROM users")
    orphans = stack.pg.query("SELECT count(*) FROM tokens t LEFT JOIN users u ON u.id = t.user_id WHERE u.id IS NULL")
    used = [s for s in load.signins if s.token]
    replayed = [request(stack.web.url + "/v1/signup", {"phone_number": s.phone, "otp": s.code})[0] for s in used]
    logs = stack.logs()
    numbers = set(re.findall(r"(?<![\w.:-])(\d+)(?!\w)", logs))  # every free-standing digit run
    words = set(re.findall(r"[A-Za-z0-9]+", logs))
    leaked_codes = [s.code for s in load.signins if s.code in numbers]
    leaked_tokens = [s.token for s in used if s.token in words]
    return [
        ("one user per number", duplicates == "0"),
        ("no token without a user", orphans == "0"),
        (f"no code accepted twice ({len(replayed)} replayed, all refused)", 200 not in replayed),
        ("no plaintext code or token in the logs", not leaked_codes and not leaked_tokens),
    ]


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
    before, during = (drill.load.timings(phase, "me") for phase in ("before", "during"))
    rates = [len(before) / spans["before"], len(during) / spans["outage"]]
    p99 = during[max(int(len(during) * 0.99) - 1, 0)] if during else float("inf")
    codes = drill.load.timings("during", "code")
    drill.notes.append(
        f"/v1/me: {rates[0]:.0f} answers/s before, {rates[1]:.0f} during ({rates[1] / rates[0]:.2f}), "
        f"p99 during {p99 * 1000:.0f} ms; code requests during: {len(codes)}, slowest {max(codes, default=0):.2f} s"
    )
    drill.check("authenticated requests keep at least 80 % of their rate", rates[1] >= 0.8 * rates[0])
    drill.check("authenticated requests answer within 50 ms (p99) while Redis hangs", p99 < 0.05)
    drill.check("sign-in answers 503 within 1 s while Redis hangs", max(codes, default=0) < 1)
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
    return drill.finish()


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
        wait_until(lambda: asked() >= 1, timeout=30, what="the new worker to ask Twilio about the message in flight")
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
    """Headers trickled, then bodies trickled, at granian alone and behind nginx."""
    behind_nginx = "nginx in front of granian (2 workers), as docker-compose.yml runs it"
    servers = {"granian, 2 workers (scripts/serve), alone": stack.started(WebServer(stack.env, workers=2))}
    proxied = stack.started(WebServer(dict(stack.env, TRUSTED_PROXY_COUNT="1"), workers=2))
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
        if key[0] == "bodies"
    }
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
        "",
    ]
    return lines, all(kept_up.values()) and all(bounded.values())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--short", action="store_true", help="the CI form: 3 s outages, 15 s of slow clients")
    parser.add_argument("--output", default=str(ROOT / "bench" / "RESULTS-drills.md"))
    args = parser.parse_args()
    spans = {"before": 2, "outage": 3, "after": 7} if args.short else {"before": 5, "outage": 10, "after": 10}
    slow = ({"headers": 16, "bodies": 50}, 15.0 if args.short else 30.0)  # over BODY_READ_TIMEOUT: tricklers are ended
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("stopped"))  # still stop every process it started
    stack = Stack()
    drills, sections = [], []
    try:
        token = stack.sign_in("+918300000000")
        for run in (drill_redis, drill_redis_stalled, drill_postgres, drill_celery_worker, drill_server_worker):
            drill = run(stack, token, spans)
            print("\n".join(drill.report()), flush=True)
            drills.append(drill)
        slow_lines, slow_passed = drill_slow_clients(stack, *slow)
        print("\n".join(slow_lines), flush=True)
    finally:
        stack.close()
    sections = [
        "# Fault drills under load",
        "",
        "granian (scripts/serve, 2 workers), a Celery worker (threads pool) on a Redis broker, a throwaway PostgreSQL",
        "cluster, the cache on its own Redis, and a loopback Twilio reached by the real SDK. Load: 4 clients",
        "signing in (code request, SMS through the worker, verify) and 2 calling /v1/me with a token.",
        f"Phases: {spans['before']} s before the fault, {spans['outage']} s of fault, {spans['after']} s after.",
        "Answers are labelled by status and error code.",
        "",
    ]
    for drill in drills:
        sections += drill.report()
    sections += slow_lines
    text = "\n".join(sections)
    Path(args.output).write_text(text)
    if not (all(drill.passed for drill in drills) and slow_passed):
        print("a drill failed", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
