"""Reviewer test numbers, the SMS-pumping breaker, translations and audit events."""

import logging

import pytest
from freezegun import freeze_time

from accounts import signals
from messaging import signals as messaging_signals
from tests.helpers import PHONE, last_code, request_code, verify
from tokens import signals as token_signals

pytestmark = pytest.mark.django_db
REVIEWER = "+919000000000"


@pytest.fixture
def reviewer(settings):
    settings.OTP_TEST_NUMBERS = {REVIEWER: "123456"}
    return settings


def test_test_number_gets_fixed_code_without_sms(api, sms_outbox, reviewer, caplog):
    caplog.set_level(logging.WARNING, logger="accounts.otp")
    assert request_code(api, phone=REVIEWER).status_code == 200
    assert sms_outbox == []
    assert verify(api, "123456", phone=REVIEWER).status_code == 200
    assert any(r.getMessage().startswith("test number used") and r.phone == "+91******0000" for r in caplog.records)


def test_test_number_accepts_national_form_in_setting(api, sms_outbox, settings):
    settings.OTP_TEST_NUMBERS = {"9000000000": "654321"}
    request_code(api, phone=REVIEWER)
    assert verify(api, "654321", phone=REVIEWER).status_code == 200


@pytest.mark.parametrize("numbers, error", [({"12": "123456"}, "accounts.E001"), ({REVIEWER: "12"}, "accounts.E002")])
def test_malformed_test_numbers_fail_the_system_check(settings, numbers, error):
    from accounts.app_settings import app_settings

    settings.OTP_TEST_NUMBERS = numbers
    settings.OTP_TEST_NUMBERS_IN_PRODUCTION = True
    settings.SMS_BACKEND = "locmem"
    assert [e.id for e in app_settings.system_check(None)] == [error]


def test_test_number_skips_send_limits_but_not_attempt_limit(api, sms_outbox, reviewer):
    reviewer.OTP_MAX_SENDS_PER_HOUR = 1
    reviewer.OTP_MAX_ATTEMPTS = 2
    assert [request_code(api, phone=REVIEWER).status_code for _ in range(3)] == [200, 200, 200]
    assert [verify(api, "000000", phone=REVIEWER).json()["code"] for _ in range(2)] == ["otp_invalid"] * 2
    assert verify(api, "123456", phone=REVIEWER).json()["code"] == "otp_expired"


def test_global_sms_cap_trips_breaker_and_logs_once(api, sms_outbox, settings, caplog):
    settings.SMS_MAX_PER_HOUR = 2
    with freeze_time("2026-01-01 10:00:00"):
        statuses = [request_code(api, phone=f"+9198765000{i:02d}").status_code for i in range(4)]
        refused = request_code(api, phone="+919876500099")
    assert statuses == [200, 200, 429, 429]
    assert refused.json()["code"] == "throttled" and int(refused["Retry-After"]) == 3600
    assert len(sms_outbox) == 2
    tripped = [r for r in caplog.records if r.getMessage().startswith("SMS breaker tripped")]
    assert len(tripped) == 1 and tripped[0].levelno == logging.ERROR


def test_per_country_cap_counts_each_region(api, sms_outbox, settings):
    settings.SMS_MAX_PER_COUNTRY_PER_HOUR = 1
    assert request_code(api, phone="+919876500001").status_code == 200
    assert request_code(api, phone="+919876500002").status_code == 429
    assert request_code(api, phone="+12015550123").status_code == 200
    assert request_code(api, phone="+12015550124").status_code == 429


def test_region_allow_list(api, sms_outbox, settings):
    settings.SMS_ALLOWED_REGIONS = ["IN"]
    refused = request_code(api, phone="+12015550123")
    assert refused.status_code == 400 and "phone_number" in refused.json()["fields"]
    assert request_code(api, phone=PHONE).status_code == 200
    assert [m.to for m in sms_outbox] == [PHONE]


def test_messages_and_sms_follow_accept_language(api, sms_outbox, settings):
    settings.SMS_DO_NOT_SHARE_WARNING = True
    response = request_code(api, HTTP_ACCEPT_LANGUAGE="hi")
    assert response.json()["message"] == "ओटीपी सफलतापूर्वक भेजा गया"
    code = last_code(sms_outbox)
    assert sms_outbox[-1].body == (
        f"Cheershare चुनने के लिए धन्यवाद! आपका वन-टाइम पासवर्ड {code} है।\nयह कोड किसी के साथ साझा न करें।"
    )
    wrong = api.post("/v1/signup", {"phone_number": PHONE, "otp": "99999"}, format="json", HTTP_ACCEPT_LANGUAGE="hi")
    assert wrong.json()["code"] == "invalid" and wrong.json()["fields"]["otp"] == ["संदेश में मिला कोड दर्ज करें, केवल अंक।"]
    cooldown = request_code(api, HTTP_ACCEPT_LANGUAGE="hi")
    assert cooldown.json() == {
        "success": False,
        "error": "कृपया दूसरा ओटीपी माँगने से पहले प्रतीक्षा करें।",
        "code": "otp_cooldown",
        "retry_after": int(cooldown["Retry-After"]),
    }
    english = api.get("/v1/me", HTTP_ACCEPT_LANGUAGE="en", HTTP_AUTHORIZATION="Bearer x")
    assert english.json()["error"] == "Invalid or expired token."


def test_english_sms_carries_do_not_share_line(api, sms_outbox, settings):
    settings.SMS_DO_NOT_SHARE_WARNING = True
    request_code(api)
    assert sms_outbox[-1].body.endswith("\nDo not share this code with anyone.")


def test_template_setting_stays_the_override_in_every_language(api, sms_outbox, settings):
    settings.SMS_MESSAGE_TEMPLATE = "Code: {otp}"
    request_code(api, HTTP_ACCEPT_LANGUAGE="hi")
    assert sms_outbox[-1].body.startswith("Code: ")


def test_audit_events_are_signals_and_masked_log_lines(api, sms_outbox, settings, caplog):
    caplog.set_level(logging.INFO, logger="accounts.audit")
    settings.OTP_MAX_ATTEMPTS = 2
    settings.OTP_RESEND_COOLDOWN = 0
    received = []
    hooks = [
        signals.code_requested,
        messaging_signals.sms_sent,
        signals.verification_failed,
        signals.locked_out,
        signals.user_created,
        token_signals.token_issued,
        token_signals.tokens_revoked,
    ]

    def hook(signal, **kwargs):
        received.append(signal)

    for signal in hooks:
        signal.connect(hook)
    try:
        request_code(api)
        wrong = f"{(int(last_code(sms_outbox)) + 1) % 10**6:06d}"
        verify(api, wrong)
        verify(api, wrong)  # locks out
        request_code(api)
        code = last_code(sms_outbox)
        token = verify(api, code).json()["token"]
        api.post("/v1/logout", HTTP_AUTHORIZATION=f"Bearer {token}")
    finally:
        for signal in hooks:
            signal.disconnect(hook)
    assert set(received) == set(hooks)
    events = [r.event for r in caplog.records if r.name == "accounts.audit"]
    for event in [
        "code_requested",
        "sms_sent",
        "verification_failed",
        "locked_out",
        "user_created",
        "token_issued",
        "token_revoked",
    ]:
        assert event in events
    for record in caplog.records:
        if hasattr(record, "phone"):
            assert record.phone == "+91******3210"
    assert PHONE not in caplog.text and code not in caplog.text and token not in caplog.text


def test_sms_failure_is_audited_with_twilio_code(api, twilio_settings, fake_twilio, caplog):
    fake_twilio.script = [(400, 21610, 0)]
    request_code(api)
    [failed] = [r for r in caplog.records if getattr(r, "event", "") == "sms_failed"]
    assert failed.error_code == 21610 and failed.permanent is True and failed.phone == "+91******3210"
