"""A Twilio-compatible loopback server: records every message and answers as scripted."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs


class FakeTwilio:
    """``script`` holds (status, twilio_error_code, delay_seconds) answers, used in order; then 201."""

    def __init__(self):
        self.messages: list[dict] = []
        self.requests: list[dict] = []
        self.script: list[tuple[int, int | None, float]] = []
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
            status, code, delay = self.script.pop(0) if self.script else (201, None, 0)
        if delay:
            time.sleep(delay)
        if status == 201:
            with self.lock:
                self.messages.append(form)
            return 201, {"sid": f"SM{len(self.messages):032d}", "status": "queued", "to": form.get("To"), "body": ""}
        return status, {"code": code, "message": "scripted failure", "more_info": "", "status": status}

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                form = {key: values[0] for key, values in parse_qs(self.rfile.read(length).decode()).items()}
                form["path"] = self.path
                form["authorization"] = self.headers.get("Authorization", "")
                status, body = fake._answer(form)
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        return Handler
