"""Loopback fakes of what we call over HTTP: Twilio (records every message and answers as scripted),
a CAPTCHA siteverify, and a webhook receiver (the tests' and the benchmark's)."""

import json
import threading
import time
from collections import Counter
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


def send_json(handler: BaseHTTPRequestHandler, status: int, body: dict) -> None:
    payload = json.dumps(body).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(payload)))
    handler.end_headers()
    handler.wfile.write(payload)


class FakeTwilio:
    """``script`` holds (status, twilio_error_code, delay_seconds) answers, used in order; then 201.
    Status 0: the request is lost (nothing taken, a 500 after the delay). ``every_send``, while set,
    answers every send instead of the script (an outage: ``(500, None, 0)``; a slow Twilio: ``(201, None, 3)``).

    A delayed 201 is taken at once and answered late, as a slow Twilio does (the message exists
    even if the caller gave up waiting). Lists of Messages and Calls (GET, filtered by ``To``)
    answer from what was taken; each list request is kept in ``lookups``."""

    def __init__(self):
        self.messages: list[dict] = []
        self.requests: list[dict] = []
        self.lookups: list[dict] = []
        self.answering = 0  # requests taken and not answered yet
        self.script: list[tuple[int, int | None, float]] = []
        self.every_send: tuple[int, int | None, float] | None = None
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> "FakeTwilio":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def wait_for_messages(self, count: int, timeout: float = 15) -> list[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.messages) >= count:
                return self.messages
            time.sleep(0.02)
        raise AssertionError(f"expected {count} SMS, fake Twilio received {len(self.messages)}")

    def _answer(self, form: dict) -> tuple[int, dict]:
        with self.lock:
            self.requests.append(form)
            status, code, delay = self.every_send or (self.script.pop(0) if self.script else (201, None, 0))
            if status == 201:
                self.messages.append(form)
                prefix = "CA" if form["path"].endswith("/Calls.json") else "SM"
                form["sid"] = f"{prefix}{len(self.messages):032d}"
            self.answering += 1
        try:
            time.sleep(delay)
        finally:
            with self.lock:
                self.answering -= 1
        if status == 201:
            return 201, self._resource(form)
        status = status or 500
        return status, {"code": code, "message": "scripted failure", "more_info": "", "status": status}

    def _list(self, path: str, query: dict) -> dict:
        kind = "calls" if path.endswith("/Calls.json") else "messages"
        with self.lock:
            self.lookups.append({"path": path, **query})
            found = [m for m in self.messages if m["path"] == path and m.get("To") == query.get("To")]
        return {kind: [self._resource(m) for m in reversed(found)], "next_page_uri": None, "page": 0, "uri": path}

    @staticmethod
    def _resource(form: dict) -> dict:
        created = formatdate(form["received_at"], usegmt=True)
        return {"sid": form["sid"], "status": "queued", "to": form.get("To"), "body": form.get("Body"),
                "date_created": created}  # fmt: skip

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                form = {key: values[0] for key, values in parse_qs(self.rfile.read(length).decode()).items()}
                form["path"] = self.path
                form["received_at"] = time.time()
                form["authorization"] = self.headers.get("Authorization", "")
                try:
                    send_json(self, *fake._answer(form))
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the caller died waiting (a drill killed the worker mid-send)

            def do_GET(self):
                url = urlsplit(self.path)
                query = {key: values[0] for key, values in parse_qs(url.query).items()}
                send_json(self, 200, fake._list(url.path, query))

            def log_message(self, *args):
                pass

        return Handler


class FakeSiteverify:
    """A CAPTCHA siteverify endpoint (Turnstile, hCaptcha, reCAPTCHA form): tokens in ``valid`` pass.

    ``delay`` makes it slow (to test the timeout); every form it received is in ``forms``."""

    def __init__(self, secret: str):
        self.secret = secret
        self.valid: set[str] = set()
        self.forms: list[dict] = []
        self.delay = 0.0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                form = {key: values[0] for key, values in parse_qs(self.rfile.read(length).decode()).items()}
                fake.forms.append(form)
                time.sleep(fake.delay)
                passed = form.get("secret") == fake.secret and form.get("response") in fake.valid
                codes = [] if passed else ["invalid-input-response"]
                send_json(self, 200, {"success": passed, "error-codes": codes})

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/turnstile/v0/siteverify"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class FakeWebhookReceiver:
    """A loopback webhook receiver (keep-alive, as real ones are): keeps each request, checks its
    signature with the standardwebhooks library, answers ``status`` (503 while ``down_until``, a
    monotonic time, is ahead) after ``delay`` seconds. ``seen`` counts requests by webhook-id,
    ``accepted`` holds the ids answered 2xx, ``again`` counts receipts of an id already accepted."""

    def __init__(self, secret: str):
        from standardwebhooks import Webhook

        self.webhook = Webhook(secret)
        self.requests, self.status, self.delay, self.down_until = [], 204, 0.0, 0.0
        self.seen, self.bad, self.last, self.accepted, self.again = Counter(), 0, 0.0, set(), 0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                headers = dict(self.headers)
                status = 503 if time.monotonic() < receiver.down_until else receiver.status
                receiver.record(headers, body, accepted=200 <= status < 300)
                time.sleep(receiver.delay)
                self.send_response(status)
                if status in (301, 302):
                    self.send_header("Location", "http://127.0.0.1:1/elsewhere")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def record(self, headers: dict, body: bytes, *, accepted: bool) -> None:
        try:
            self.webhook.verify(body, headers)
            signed = True
        except Exception:
            signed = False
        with self.lock:
            event_id = headers.get("webhook-id", "")
            self.requests.append((headers, body))
            self.seen[event_id] += 1
            self.bad += not signed
            self.last = time.perf_counter()
            self.again += event_id in self.accepted
            if accepted:
                self.accepted.add(event_id)

    def events(self) -> list[dict]:
        """Every request's payload, verified with the endpoint's secret."""
        return [self.webhook.verify(body, headers) for headers, body in self.requests]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
