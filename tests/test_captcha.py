"""The CAPTCHA gate of the code request, against a loopback siteverify server."""

import pytest

from accounts import captcha
from tests.fakes import FakeSiteverify
from tests.helpers import PHONE, last_code, request_code, verify

pytestmark = pytest.mark.django_db
SECRET = "captcha-secret-0x4AAA"
TEST_NUMBER, TEST_CODE = "+919000000000", "123456"


@pytest.fixture
def siteverify(settings):
    fake = FakeSiteverify(SECRET)
    settings.CAPTCHA_SECRET = SECRET
    settings.CAPTCHA_VERIFY_URL = fake.url
    yield fake
    fake.stop()


def ask(api, token=None, phone=PHONE, **headers):
    body = {"name": "Asha", "phone_number": phone}
    if token is not None:
        body["captcha_token"] = token
    return api.post("/v1/signup", body, format="json", **headers)


def test_off_unless_a_secret_is_set(api, sms_outbox):
    assert request_code(api).status_code == 200


def test_a_solved_token_lets_the_code_through(api, sms_outbox, siteverify, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    siteverify.valid.add("solved")
    response = ask(api, "solved", HTTP_X_FORWARDED_FOR="203.0.113.7")
    assert response.status_code == 200
    assert siteverify.forms == [{"secret": SECRET, "response": "solved", "remoteip": "203.0.113.7"}]
    assert verify(api, last_code(sms_outbox), HTTP_X_FORWARDED_FOR="203.0.113.7").status_code == 200


@pytest.mark.parametrize("token", [None, "", "forged"])
def test_a_missing_or_refused_token_sends_nothing_and_counts_nothing(api, sms_outbox, siteverify, token):
    response = ask(api, token)
    assert response.status_code == 400
    assert response.json()["code"] == "captcha_invalid" and response.json()["success"] is False
    assert sms_outbox == []
    siteverify.valid.add("solved")
    assert ask(api, "solved").status_code == 200  # no cooldown was started by the refusal


def test_provider_down_answers_503_or_lets_through_when_fail_open(api, sms_outbox, siteverify, settings):
    siteverify.stop()
    response = ask(api, "solved")
    assert response.status_code == 503 and response.json()["code"] == "captcha_unavailable"
    assert sms_outbox == []
    settings.CAPTCHA_FAIL_OPEN = True
    assert ask(api, "solved").status_code == 200


def test_a_slow_provider_is_cut_off_by_the_timeout(api, sms_outbox, siteverify, monkeypatch):
    monkeypatch.setattr(captcha, "TIMEOUT_SECONDS", 0.2)
    siteverify.delay = 1
    siteverify.valid.add("solved")
    response = ask(api, "solved")
    assert response.status_code == 503 and response.json()["code"] == "captcha_unavailable"


def test_test_numbers_skip_the_gate(api, siteverify, settings):
    settings.OTP_TEST_NUMBERS = {TEST_NUMBER: TEST_CODE}
    assert ask(api, phone=TEST_NUMBER).status_code == 200
    assert verify(api, TEST_CODE, phone=TEST_NUMBER).status_code == 200
    assert siteverify.forms == []


def test_the_secret_never_reaches_the_logs(api, sms_outbox, siteverify, caplog):
    ask(api, "forged")
    siteverify.stop()
    ask(api, "solved")
    assert SECRET not in caplog.text
