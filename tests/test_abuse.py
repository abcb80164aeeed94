"""Send limits, the client-address rule, code uniformity and secrets kept out of every log."""

import logging
import math
from collections import Counter

import pytest
from freezegun import freeze_time
from rest_framework.test import APIRequestFactory

from accounts.code_store import generate_code
from core.client_ip import client_ip
from tests.helpers import PHONE, last_code, log_lines, request_code, verify

pytestmark = pytest.mark.django_db
OTHER = "+919876500001"


def test_resend_within_cooldown_is_429_with_retry_after(api, sms_outbox):
    with freeze_time() as clock:
        assert request_code(api).status_code == 200
        clock.tick(20)
        response = request_code(api)
    assert response.status_code == 429
    assert response.json()["code"] == "otp_cooldown"
    assert 39 <= int(response["Retry-After"]) <= 41
    assert len(sms_outbox) == 1


def test_hourly_cap_per_number(api, sms_outbox, settings):
    settings.OTP_RESEND_COOLDOWN = 0
    settings.OTP_MAX_SENDS_PER_HOUR = 3
    with freeze_time("2026-01-01 10:15:00") as clock:
        assert [request_code(api).status_code for _ in range(3)] == [200, 200, 200]
        response = request_code(api)
        assert response.status_code == 429 and response.json()["code"] == "throttled"
        assert int(response["Retry-After"]) == 45 * 60
        assert request_code(api, phone=OTHER).status_code == 200
        clock.tick(45 * 60)
        assert request_code(api).status_code == 200
    assert len(sms_outbox) == 5


def test_hourly_cap_per_client_address(api, sms_outbox, settings):
    settings.OTP_MAX_SENDS_PER_IP_PER_HOUR = 2
    phones = [f"+9198765000{i:02d}" for i in range(3)]
    statuses = [request_code(api, phone=p, REMOTE_ADDR="203.0.113.7").status_code for p in phones]
    assert statuses == [200, 200, 429]
    assert request_code(api, phone=PHONE, REMOTE_ADDR="203.0.114.8").status_code == 200  # another /24


def test_forged_forwarded_for_does_not_dodge_the_address_cap(api, sms_outbox, settings):
    settings.OTP_MAX_SENDS_PER_IP_PER_HOUR = 1
    first = request_code(api, phone=PHONE, HTTP_X_FORWARDED_FOR="198.51.100.1")
    second = request_code(api, phone=OTHER, HTTP_X_FORWARDED_FOR="198.51.100.2")
    assert (first.status_code, second.status_code) == (200, 429)


@pytest.mark.parametrize(
    "count, forwarded, expected",
    [
        (0, "1.1.1.1, 2.2.2.2", "10.0.0.1"),
        (1, "1.1.1.1, 2.2.2.2", "2.2.2.2"),
        (2, "1.1.1.1, 2.2.2.2", "1.1.1.1"),
        (2, "9.9.9.9, 1.1.1.1, 2.2.2.2", "1.1.1.1"),
        (3, "2.2.2.2", "2.2.2.2"),
        # fewer hops than trusted proxies: the nearest one, never the client-written leftmost
        (3, "6.6.6.6, 2.2.2.2", "2.2.2.2"),
        (1, "1.1.1.1:5678", "1.1.1.1"),
        (1, "[2001:db8::1]:443", "2001:db8::1"),
        (1, "2001:db8::1", "2001:db8::1"),
        (1, "[2001:db8::1]", "2001:db8::1"),
        (1, "", "10.0.0.1"),
        (1, "not-an-ip", "10.0.0.1"),
        (1, "unknown:80", "10.0.0.1"),
    ],
)
def test_client_address_honours_trusted_proxy_count(settings, count, forwarded, expected):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": count}
    request = APIRequestFactory().get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == expected


def test_fresh_code_resets_attempts_but_send_cap_bounds_guesses(api, sms_outbox, settings):
    settings.OTP_RESEND_COOLDOWN = 0
    settings.OTP_MAX_SENDS_PER_HOUR = 2
    settings.OTP_MAX_ATTEMPTS = 2
    guesses = 0
    for _ in range(2):
        assert request_code(api).status_code == 200
        wrong = f"{(int(last_code(sms_outbox)) + 1) % 10**6:06d}"
        while verify(api, wrong).json()["code"] == "otp_invalid":
            guesses += 1
    assert request_code(api).status_code == 429
    assert guesses == 4  # OTP_MAX_SENDS_PER_HOUR * OTP_MAX_ATTEMPTS


def test_parallel_wrong_guesses_cannot_exceed_the_attempt_limit(api, sms_outbox, settings):
    settings.OTP_MAX_ATTEMPTS = 3
    request_code(api)
    code = last_code(sms_outbox)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    answers = [verify(api, wrong).json()["code"] for _ in range(6)]
    assert answers == ["otp_invalid"] * 3 + ["otp_expired"] * 3


def test_codes_are_uniform_with_leading_zeros():
    codes = [generate_code(6) for _ in range(10_000)]
    assert all(len(code) == 6 and code.isdigit() for code in codes)
    assert any(code.startswith("0") for code in codes)
    critical = 27.877  # chi-square, 9 degrees of freedom, p = 0.001
    for position in range(6):
        counts = Counter(code[position] for code in codes)
        chi2 = sum((counts[str(d)] - 1000) ** 2 / 1000 for d in range(10))
        assert chi2 < critical, (position, counts)
    lead_zero_share = sum(code[0] == "0" for code in codes) / len(codes)
    assert math.isclose(lead_zero_share, 0.1, abs_tol=0.02)


def test_no_secret_reaches_any_log(api, sms_outbox, twilio_settings, fake_twilio, caplog, capfd):
    caplog.set_level(logging.DEBUG)
    for name in ["twilio", "twilio.http_client", "celery", "kombu", "urllib3", "django", "cheershare"]:
        caplog.set_level(logging.DEBUG, logger=name)
    twilio_settings.OTP_RESEND_COOLDOWN = 0
    fake_twilio.script = [(500, 20500, 0), (400, 21408, 0)]  # 21408: a permanent refusal that suppresses nothing
    request_code(api)  # 500 then a permanent failure: nothing delivered
    request_code(api)
    code = fake_twilio.wait_for_messages(1)[-1]["Body"].split("password is ")[1][:6]
    token = verify(api, code).json()["token"]
    assert api.get("/v1/me", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200
    assert api.post("/v1/logout", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200
    assert len(caplog.records) > 10
    text = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records) + caplog.text
    text += capfd.readouterr().err  # the access lines, and whatever else reached standard error
    assert any(line["logger"] == "cheershare.access" for line in log_lines(text))
    codes = {r["Body"].split("password is ")[1][:6] for r in fake_twilio.requests}
    for secret in [*codes, token, "twilio-auth-token-secret"]:
        assert secret not in text
    assert "sms_failed" in text and "21408" in text


def test_admin_needs_a_staff_login(client, django_user_model):
    assert client.get("/admin/").status_code == 302
    user = django_user_model.objects.create_user(PHONE, "Asha", password="a-long-password-1")
    client.force_login(user)
    assert client.get("/admin/accounts/user/").status_code == 302
