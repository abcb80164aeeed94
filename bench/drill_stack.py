"""The stack the fault drills run on, one drill's bookkeeping, and the invariants every drill ends with.

The stack: the production server (scripts/serve: granian, 2 workers) on a throwaway PostgreSQL
cluster (``initdb``, its own port), the cache on a Redis server of its own (or the sentinels' primary),
a Celery broker (the local Redis, its own queue, unless a drill names another), a real worker and a
loopback Twilio reached by the real SDK.
"""

import itertools
import os
import re
import subprocess
import time
from collections import Counter
from pathlib import Path

from kombu import Connection

from bench.drill_load import CLIENT_TIMEOUT, Load
from bench.pgcluster import ThrowawayPostgres
from tests.cleanup import forget_queue
from tests.fakes import FakeTwilio
from tests.live import BIN, CeleryWorker, RedisServer, WebServer, base_env, request, wait_until

ROOT = Path(__file__).resolve().parent.parent
OTP_TTL = 300
QUEUE = f"drills-{os.getpid()}"
BROKER = "redis://127.0.0.1:6379/10"
BODY_READ_TIMEOUT = 10  # the server's default: a trickled body is ended with 408 after it
DRILL_ENV = {
    "CACHE_KEY_PREFIX": "drills",
    "CELERY_TASK_DEFAULT_QUEUE": QUEUE,
    # a dead worker's message goes to another after 40 s: over the longest retry countdown (30 s + jitter)
    "CELERY_VISIBILITY_TIMEOUT": "40",
    "SECRET_KEY": "drills-secret-key-with-more-than-32-characters-in-it",
    "DEBUG": "0",
    "ALLOWED_HOSTS": "127.0.0.1",
    "SECURE_SSL_REDIRECT": "0",
    "SMS_BACKEND": "twilio",
    "TWILIO_ACCOUNT_SID": "AC" + "4" * 32,
    "TWILIO_AUTH_TOKEN": "drills-twilio-auth-token",
    "TWILIO_FROM_NUMBER": "+15005550006",
    "TWILIO_HTTP_TIMEOUT": "2",
    "OTP_TTL": str(OTP_TTL),
    "OTP_MAX_SENDS_PER_IP_PER_HOUR": "1000000",
    "SMS_MIN_CONVERSION": "0",
    "BODY_READ_TIMEOUT": str(BODY_READ_TIMEOUT),
    "LOG_LEVEL": "INFO",
}


class Stack:
    """The processes under drill, and every log line they wrote (killed ones included).

    ``broker``: the Celery broker's URL (default: the local Redis); ``home`` where its queue is
    deleted at the end, when the drill reaches it through a proxy. ``env`` overrides the servers'
    environment; without a REDIS_URL in it, the cache gets a Redis of its own."""

    def __init__(self, broker: str = BROKER, home: str | None = None, max_connections: int = 100, **env: str):
        self.broker, self.home = broker, home or broker
        self.pg = ThrowawayPostgres(max_connections).create()
        self.redis = None if "REDIS_URL" in env else RedisServer().start()
        self.fake = FakeTwilio().start()
        self.env = base_env(
            **DRILL_ENV,
            DATABASE_URL=self.pg.url,
            REDIS_URL=self.redis.url if self.redis else "",
            CELERY_BROKER_URL=broker,
            TWILIO_API_BASE_URL=self.fake.url,
        )
        self.env.update(env)
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
        if self.redis:
            self.redis.stop()
        self.pg.destroy()
        forget_broker_queue(self.home, QUEUE)


def forget_broker_queue(url: str, queue: str) -> None:
    """Delete the drill's queue from a broker that outlives it (the local Redis or RabbitMQ)."""
    if url.startswith("amqp://"):
        with Connection(url, connect_timeout=2) as connection:
            connection.default_channel.queue_delete(queue)
    elif url.startswith("redis://"):
        forget_queue(url, queue)


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

    def finish(
        self, sms_wait: float = 20, losses_expected: str = "", lossy: tuple[float, float] | None = None
    ) -> "Drill":
        """The checks every drill ends with; ``losses_expected`` (why) makes lost SMS a figure, not a
        failure: all of them, or (``lossy``: a span of wall-clock time) only those of codes asked in it."""
        everything = Counter()
        for counts in self.load.by_phase.values():
            everything.update(counts)
        self.check("no 500 in any answer", not any(" 500" in key for key in everything))
        self.check(
            f"no request hung past the client timeout ({CLIENT_TIMEOUT} s)", not any("timeout" in k for k in everything)
        )
        missing, late, duplicates = self.lost_messages(sms_wait)
        if losses_expected and lossy:
            asked = {signin.phone: signin.asked_at for signin in self.load.signins}
            excused = [phone for phone in missing if lossy[0] <= asked[phone] <= lossy[1]]
            self.notes.append(f"{len(excused)} codes asked in the instant of the fault never sent: {losses_expected}")
            missing = [phone for phone in missing if phone not in excused]
            self.check("every other code answered 200 had its SMS sent (nothing else lost)", not missing)
        elif losses_expected:
            self.notes.append(f"{len(missing)} codes answered 200 never sent: {losses_expected}")
        else:
            self.check("every code answered 200 had its SMS sent (nothing lost)", not missing)
        self.check("no SMS sent after its code expired", not late)
        self.check(f"no SMS sent twice ({duplicates})", not duplicates)
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


def keeps_its_pace(drill: Drill, spans: dict) -> None:
    """Bulkheads: while a dependency of sign-in hangs, /v1/me (which needs none of it) keeps 80 % of its
    rate with a p99 under 50 ms, and sign-in answers within a second."""
    before, during = (drill.load.timings(phase, "me") for phase in ("before", "during"))
    rates = [len(before) / spans["before"], len(during) / spans["outage"]]
    p99 = during[max(int(len(during) * 0.99) - 1, 0)] if during else float("inf")
    codes = drill.load.timings("during", "code")
    drill.notes.append(
        f"/v1/me: {rates[0]:.0f} answers/s before, {rates[1]:.0f} during ({rates[1] / rates[0]:.2f}), "
        f"p99 during {p99 * 1000:.0f} ms; code requests during: {len(codes)}, slowest {max(codes, default=0):.2f} s"
    )
    drill.check("authenticated requests keep at least 80 % of their rate", rates[1] >= 0.8 * rates[0])
    drill.check("authenticated requests answer within 50 ms (p99) while it hangs", p99 < 0.05)
    drill.check("sign-in answers within 1 s while it hangs", max(codes, default=0) < 1)
