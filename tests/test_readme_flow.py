"""The README's own path: `make run` on its defaults, then the README's curl flow, never a 500.

The server is started by `make run` itself (SQLite, in-process cache, eager Celery, console SMS),
on a free port and a throwaway SQLite file; the code is read from the console SMS line of its log.
"""

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.live import ROOT, free_port, request, wait_until

pytestmark = pytest.mark.live
PHONE = "+919876543210"
SERVICES = ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "SMS_BACKEND", "DJANGO_SETTINGS_MODULE")


@pytest.fixture
def make_run(tmp_path):
    venv = Path(sys.executable).parent.parent
    env = {key: value for key, value in os.environ.items() if key not in SERVICES and not key.startswith("TEST_")}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'db.sqlite3'}"  # the user's own db.sqlite3 stays untouched
    port = free_port()
    log = open(tmp_path / "server.log", "w+b")  # noqa: SIM115  (closed below)
    proc = subprocess.Popen(
        [
            "make",
            "-s",
            "-o",
            f"{venv}/.installed",
            "run",
            f"VENV={venv}",
            f"ADDR=127.0.0.1:{port}",
            f"RUN_LOG={tmp_path / 'run.log'}",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: request(url + "/healthz")[0] == 200, timeout=60, what="make run to serve")
        yield url, lambda: (tmp_path / "server.log").read_text(errors="replace")
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
        log.close()


def code_from_log(read_log) -> str:
    """The code of the console SMS backend's last line for PHONE."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        found = re.findall(rf"\[dev SMS backend[^\]]*\] to {re.escape(PHONE)}: code (\d+)", read_log())
        if found:
            return found[-1]
        time.sleep(0.1)
    raise AssertionError("no code in the server's log")


def readme_flow() -> str:
    """The shell block of the README's "Try the flow" section, as written."""
    section = (ROOT / "README.md").read_text().split("## Try the flow", 1)[1]
    return section.split("```sh\n", 1)[1].split("```", 1)[0]


def test_the_readme_flow_runs_as_written(make_run, tmp_path):
    """Pasted into a shell in the directory of ``run.log`` (the port aside), every step answers."""
    url, read_log = make_run
    script = readme_flow().replace("localhost:8000", url.removeprefix("http://"))
    done = subprocess.run(["bash", "-eu", "-o", "pipefail", "-c", script], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    answers = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(answers) == 6, done.stdout
    assert answers[0]["message"] == "OTP sent successfully" and answers[1]["data"]["name"] == "Asha"
    assert answers[2] == {"data": "Protected"} and answers[3]["data"][0]["device_name"] == "my laptop"
    assert answers[4]["data"]["name"] == "Asha Rao" and answers[5] == {"success": True}
    assert "Traceback" not in read_log()


def test_readme_flow_on_make_run_defaults(make_run):
    url, read_log = make_run
    statuses = []

    def call(path, body=None, *, method=None, token=None, expect=200):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        status, answer, response_headers = request(url + path, body, method=method, headers=headers)
        statuses.append(status)
        assert status == expect, (path, status, answer)
        assert "X-Request-ID" in response_headers
        return answer, response_headers

    sent, _ = call("/v1/signup", {"name": "Asha", "phone_number": PHONE})
    assert sent == {
        "success": True,
        "message": "OTP sent successfully",
        "expires_in": 300,
        "resend_in": 60,
        "channel": "sms",
        "verification_id": sent["verification_id"],
    }
    body = {"phone_number": PHONE, "otp": code_from_log(read_log), "device_name": "my laptop"}
    signed_in, headers = call("/v1/signup", body)
    assert signed_in["created"] is True and re.fullmatch(r"[A-Z2-7]{26}", signed_in["token"])
    assert "no-store" in headers["Cache-Control"]
    token = signed_in["token"]

    for _ in range(4):
        me, _ = call("/v1/me", token=token)
        assert me["data"]["phone_number"] == PHONE
        assert call("/v1/protected", token=token)[0] == {"data": "Protected"}
        sessions, _ = call("/v1/sessions", token=token)
        assert [s["device_name"] for s in sessions["data"]] == ["my laptop"] and sessions["data"][0]["current"]
    renamed, _ = call("/v1/me", {"name": "Asha Rao"}, method="PATCH", token=token)
    assert renamed["data"]["name"] == "Asha Rao"
    assert call("/v1/me", token=token)[0]["data"]["name"] == "Asha Rao"
    refreshed, headers = call("/v1/token/refresh", {"refresh_token": signed_in["refresh_token"]})
    assert refreshed["session_id"] == signed_in["session_id"] and "no-store" in headers["Cache-Control"]
    assert call("/v1/token/refresh", {"refresh_token": signed_in["refresh_token"]})[0] == refreshed  # a retry
    token = refreshed["access_token"]
    assert call("/v1/me", token=token)[0]["data"]["name"] == "Asha Rao"
    assert call("/v1/logout", method="POST", token=token)[0] == {"success": True}
    refused, _ = call("/v1/me", token=token, expect=401)
    assert refused["code"] == "token_invalid"

    # Signing in again with the revoked token still in the header works (public routes ignore it).
    status, answer, _ = request(
        url + "/v1/signup", {"name": "Asha", "phone_number": PHONE}, headers={"Authorization": f"Bearer {token}"}
    )
    assert (status, answer["code"]) == (429, "otp_cooldown")  # the cooldown, not the old token, answers
    assert "Traceback" not in read_log()
    assert 500 not in statuses and len([s for s in statuses if s == 200]) >= 15


def test_logout_all_and_every_route_answer_the_contract(make_run, tmp_path):
    url, read_log = make_run
    call = lambda path, body=None, **kw: request(url + path, body, **kw)  # noqa: E731
    assert call("/v1/signup", {"name": "Asha", "phone_number": PHONE})[0] == 200
    code = code_from_log(read_log)
    tokens = []
    status, answer, _ = call("/v1/signup", {"phone_number": PHONE, "otp": code})
    assert status == 200
    tokens.append(answer["token"])
    bearer = {"Authorization": f"Bearer {tokens[0]}"}
    for path in ("/v1/me", "/v1/protected", "/v1/sessions", "/healthz", "/readyz", "/api/schema/?format=json"):
        assert call(path, headers=bearer)[0] == 200, path
    assert call("/v1/sessions/999999", method="DELETE", headers=bearer)[0] == 404
    assert call("/v1/nowhere", headers=bearer)[0] == 404
    assert call("/v1/me", method="PUT", headers=bearer)[0] == 405
    assert call("/v1/logout-all", method="POST", headers=bearer)[:2] == (200, {"success": True, "revoked": 1})
    assert call("/v1/me", headers=bearer)[0] == 401
    assert call("/v1/token/refresh", {"refresh_token": answer["refresh_token"]})[1]["code"] == "refresh_invalid"
    assert "Traceback" not in read_log()
