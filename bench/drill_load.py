"""A bounded load for the fault drills: sign-ins and authenticated requests, counted by phase.

Sign-in clients each take a new number, ask for a code, wait for its SMS at the loopback Twilio
and verify it. Reader clients call ``/v1/me`` with one token. Every answer is counted under the
phase the drill is in (``before``, ``during``, ``after``), with its time, so a drill can tell what
clients saw while the fault lasted and how soon everything answered again.
"""

import itertools
import re
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from tests.fakes import FakeTwilio
from tests.live import request

CLIENT_TIMEOUT = 10  # seconds; a request that takes longer counts as a hang


@dataclass
class Outcome:
    at: float
    kind: str  # "code", "verify" or "me"
    label: str  # "200", "503 service_unavailable", "connection error", ...
    phase: str = ""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.label == "200"


@dataclass
class Signin:
    phone: str
    asked_at: float
    code: str | None = None
    token: str | None = None
    retried: bool = False  # its verify answered 503 and was sent again


@dataclass
class Load:
    url: str
    fake: FakeTwilio
    token: str
    signers: int = 4
    readers: int = 2
    numbers: itertools.count = field(default_factory=lambda: itertools.count(1))
    phase: str = "before"
    outcomes: list[Outcome] = field(default_factory=list)
    by_phase: dict = field(default_factory=lambda: defaultdict(Counter))
    signins: list[Signin] = field(default_factory=list)
    slowest: float = 0.0
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list = field(default_factory=list)

    def start(self) -> "Load":
        self._threads = [threading.Thread(target=self._sign_in_loop) for _ in range(self.signers)]
        self._threads += [threading.Thread(target=self._read_loop) for _ in range(self.readers)]
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()

    def _call(self, kind: str, path: str, body: dict | None = None, headers: dict | None = None) -> tuple:
        """One request, counted under the phase it was sent in."""
        started, phase = time.monotonic(), self.phase
        try:
            status, answer, _ = request(self.url + path, body, headers=headers, timeout=CLIENT_TIMEOUT)
            label = str(status) if status == 200 else f"{status} {answer.get('code', '')}".strip()
        except OSError as error:
            status, answer = None, {}
            label = "timeout" if "timed out" in str(error) else "connection error"
        seconds = time.monotonic() - started
        self.slowest = max(self.slowest, seconds)
        self.outcomes.append(Outcome(time.monotonic(), kind, label, phase, seconds))
        self.by_phase[phase][f"{kind} {label}"] += 1
        return status, answer

    def _read_loop(self) -> None:
        while not self._stop.is_set():
            self._call("me", "/v1/me", headers={"Authorization": f"Bearer {self.token}"})
            time.sleep(0.01)

    def _sign_in_loop(self) -> None:
        while not self._stop.is_set():
            signin = Signin(f"+9183{next(self.numbers):08d}", time.time())
            status, _ = self._call("code", "/v1/signup", {"name": "Drill", "phone_number": signin.phone})
            if status != 200:
                time.sleep(0.05)
                continue
            self.signins.append(signin)
            signin.code = self._wait_for_code(signin.phone)
            if signin.code is None:
                continue
            status, answer = self._verify(signin)
            if status == 200:
                signin.token = answer["token"]

    def _verify(self, signin: Signin) -> tuple:
        """Verify the code, again while the server answers 503 (a failed verify leaves the code usable)."""
        while True:
            status, answer = self._call("verify", "/v1/signup", {"phone_number": signin.phone, "otp": signin.code})
            if status != 503 or self._stop.is_set():
                return status, answer
            signin.retried = True
            time.sleep(0.1)

    def _wait_for_code(self, phone: str, timeout: float = 60) -> str | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self._stop.is_set():
            body = next((m["Body"] for m in list(self.fake.messages) if m.get("To") == phone), None)
            if body:
                return re.search(r"password is (\d+)", body).group(1)
            time.sleep(0.05)
        return None

    def timings(self, phase: str, kind: str) -> list[float]:
        """How long each ``kind`` answer of ``phase`` took, shortest first."""
        return sorted(o.seconds for o in self.outcomes if o.phase == phase and o.kind == kind)

    def recovery_seconds(self, since: float) -> float:
        """Seconds from ``since`` to the last failed answer after it (0 when none failed)."""
        failures = [outcome.at for outcome in self.outcomes if outcome.at >= since and not outcome.ok]
        return max(failures) - since if failures else 0.0
