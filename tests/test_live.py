"""End to end on real processes: the production server (granian), a Celery worker on Redis, the
Twilio SDK against a fake."""

import re
import time

import pytest

from messaging.sealing import unseal
from tests.helpers import PHONE
from tests.live import request

pytestmark = pytest.mark.live


def code_from(message: dict) -> str:
    return re.search(r"password is (\d{6})", message["Body"]).group(1)


def test_full_flow_through_worker_and_twilio(start_server, start_worker, fake_twilio):
    worker = start_worker()
    server = start_server()
    status, body, headers = request(server.url + "/v1/signup", {"name": "Asha", "phone_number": PHONE})
    assert status == 200 and body["message"] == "OTP sent successfully"
    [message] = fake_twilio.wait_for_messages(1)
    status, body, _ = request(
        server.url + "/v1/signup",
        {"phone_number": PHONE, "otp": "000000" if code_from(message) != "000000" else "111111"},
    )
    assert status == 401 and body["code"] == "otp_invalid" and body["attempts_left"] == 4
    status, body, _ = request(server.url + "/v1/signup", {"phone_number": PHONE, "otp": code_from(message)})
    assert status == 200 and body["created"] is True
    token = body["token"]
    status, body, _ = request(server.url + "/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert status == 200 and body["data"]["phone_number"] == PHONE
    status, body, _ = request(server.url + "/v1/signup", {"phone_number": PHONE, "otp": code_from(message)})
    assert status == 401 and body["code"] == "otp_expired"
    logs = worker.stop() + server.stop()
    assert "sms_sent" in logs
    assert code_from(message) not in logs and token not in logs and "live-twilio-auth-token" not in logs


def test_closed_broker_port_gives_503_within_3_seconds_and_no_code_is_kept(start_server):
    server = start_server(CELERY_BROKER_URL="redis://127.0.0.1:1/0")
    started = time.monotonic()
    status, body, _ = request(server.url + "/v1/signup", {"name": "Asha", "phone_number": PHONE})
    assert time.monotonic() - started < 3
    assert status == 503 and body["code"] == "sms_unavailable"
    status, body, _ = request(server.url + "/v1/signup", {"phone_number": PHONE, "otp": "123456"})
    assert status == 401 and body["code"] == "otp_expired"
    status, body, _ = request(server.url + "/readyz")
    assert status == 503 and body["checks"]["broker"].startswith("unavailable")


def test_queued_message_expires_with_its_code_and_holds_no_plain_code(start_server, live_env, settings):
    import base64
    import datetime
    import json

    import redis

    server = start_server(OTP_TTL="120")
    assert request(server.url + "/v1/signup", {"name": "Asha", "phone_number": PHONE})[0] == 200
    broker = redis.Redis.from_url(live_env["CELERY_BROKER_URL"])
    [raw] = broker.lrange(live_env["CELERY_TASK_DEFAULT_QUEUE"], 0, -1)
    message = json.loads(raw)
    expires = datetime.datetime.fromisoformat(message["headers"]["expires"])
    left = (expires - datetime.datetime.now(datetime.UTC)).total_seconds()
    assert 100 < left <= 120
    phone, sealed, _language, _expires_at = json.loads(base64.b64decode(message["body"]))[0]
    settings.SECRET_KEY = live_env["SECRET_KEY"]
    code = unseal(sealed)
    assert phone == PHONE and re.fullmatch(r"\d{6}", code)
    assert code not in sealed  # the other arguments are the number, the language and the expiry
    assert PHONE not in message["headers"]["argsrepr"] and sealed not in message["headers"]["argsrepr"]
    assert "+91******3210" in message["headers"]["argsrepr"]  # what a worker's log shows of it
