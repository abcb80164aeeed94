"""Channels (SMS, WhatsApp, voice) and WhatsApp's fallback against a loopback Twilio with the real SDK,
the autofill formats, per-region senders and templates, and message length."""

import json
import logging
import re
from urllib.parse import urlencode

import pytest
from django.core.management import call_command
from twilio.request_validator import RequestValidator

from messaging import checks, regions, segments
from messaging.app_settings import app_settings as messaging_settings
from messaging.models import Message
from tests.helpers import PHONE, verify

pytestmark = pytest.mark.django_db
CONTENT_SID = "HX" + "a" * 32
PUBLIC = "https://auth.example.com"


@pytest.fixture
def channels(twilio_settings):
    twilio_settings.OTP_CHANNELS = ["sms", "whatsapp", "voice"]
    twilio_settings.TWILIO_WHATSAPP_FROM = "+14155238886"
    twilio_settings.TWILIO_WHATSAPP_CONTENT_SID = CONTENT_SID
    twilio_settings.PUBLIC_BASE_URL = PUBLIC
    return twilio_settings


def ask(api, channel=None, phone=PHONE, **headers):
    body = {"name": "Asha", "phone_number": phone}
    if channel is not None:
        body["channel"] = channel
    return api.post("/v1/signup", body, format="json", **headers)


def sms_code(form: dict) -> str:
    return re.search(r"password is (\d{6})", form["Body"]).group(1)


@pytest.mark.parametrize("channel", ["whatsapp", "voice", "fax", 3])
def test_only_enabled_channels_are_taken(api, sms_outbox, channel):
    response = ask(api, channel)
    assert response.status_code == 400 and response.json()["code"] == "invalid"
    assert "channel" in response.json()["fields"] and sms_outbox == []


def test_sms_is_the_default_channel(api, sms_outbox):
    assert ask(api).json()["channel"] == "sms" and sms_outbox[-1].channel == "sms"


def test_whatsapp_sends_the_approved_template(api, channels, fake_twilio):
    response = ask(api, "whatsapp")
    assert response.status_code == 200 and response.json()["channel"] == "whatsapp"
    [form] = fake_twilio.messages
    assert (form["To"], form["From"]) == (f"whatsapp:{PHONE}", "whatsapp:+14155238886")
    assert form["ContentSid"] == CONTENT_SID and "Body" not in form
    code = json.loads(form["ContentVariables"])["1"]
    assert form["StatusCallback"] == PUBLIC + "/v1/twilio/status"
    assert Message.objects.get().channel == "whatsapp"
    assert verify(api, code).status_code == 200


def test_a_whatsapp_refusal_at_send_time_sends_the_same_code_by_sms_once(api, channels, fake_twilio):
    fake_twilio.script = [(400, 63003, 0), (400, 21408, 0)]  # not a WhatsApp user; then the SMS fails too
    assert ask(api, "whatsapp").status_code == 200
    whatsapp, sms = fake_twilio.requests
    assert whatsapp["To"].startswith("whatsapp:") and sms["To"] == PHONE
    assert sms_code(sms) == json.loads(whatsapp["ContentVariables"])["1"]
    assert len(fake_twilio.requests) == 2  # the fallback failed too: nothing more
    records = dict(Message.objects.values_list("channel", "error_code"))
    assert records == {"whatsapp": 63003, "sms": 21408}


def test_a_whatsapp_refusal_by_callback_sends_the_same_code_by_sms_once(api, channels, fake_twilio):
    ask(api, "whatsapp")
    [whatsapp] = fake_twilio.messages
    sid = Message.objects.get().sid
    form = {"MessageSid": sid, "MessageStatus": "undelivered", "ErrorCode": "63003"}
    signature = RequestValidator(channels.TWILIO_AUTH_TOKEN).compute_signature(PUBLIC + "/v1/twilio/status", form)
    for _ in range(2):  # a repeated callback never sends twice
        response = api.post(
            "/v1/twilio/status", urlencode(form), content_type="application/x-www-form-urlencoded",
            HTTP_X_TWILIO_SIGNATURE=signature,
        )  # fmt: skip
        assert response.status_code == 200
    assert len(fake_twilio.messages) == 2
    sms = fake_twilio.messages[1]
    assert sms["To"] == PHONE and sms_code(sms) == json.loads(whatsapp["ContentVariables"])["1"]
    assert verify(api, sms_code(sms)).status_code == 200


def test_no_fallback_when_it_is_turned_off(api, channels, fake_twilio):
    channels.OTP_FALLBACK_CHANNEL = ""
    fake_twilio.script = [(400, 63003, 0)]
    ask(api, "whatsapp")
    assert len(fake_twilio.requests) == 1


@pytest.mark.parametrize("language, voice", [("en", "en-IN"), ("hi", "hi-IN")])
def test_voice_reads_the_code_twice_digit_by_digit(api, channels, fake_twilio, caplog, language, voice):
    caplog.set_level(logging.DEBUG)
    channels.TWILIO_VOICE_FROM = "+15005550007"
    assert ask(api, "voice", HTTP_ACCEPT_LANGUAGE=language).json()["channel"] == "voice"
    [call] = fake_twilio.messages
    assert call["path"].endswith("/Calls.json") and (call["To"], call["From"]) == (PHONE, "+15005550007")
    says = re.findall(rf'<Say language="{voice}">([^<]*)</Say>', call["Twiml"])
    assert len(says) == 2 and says[0] == says[1]
    digits = re.search(r"(\d(, \d){5})", says[0]).group(1)
    code = digits.replace(", ", "")
    assert code not in caplog.text and call["Twiml"] not in caplog.text
    assert Message.objects.get().channel == "voice" and Message.objects.get().sid.startswith("CA")
    assert verify(api, code).status_code == 200


def test_voice_calls_from_the_sms_number_by_default(api, channels, fake_twilio):
    ask(api, "voice")
    assert fake_twilio.messages[0]["From"] == channels.TWILIO_FROM_NUMBER


def test_switching_channel_is_no_way_around_the_cooldown(api, channels, fake_twilio):
    assert ask(api, "sms").status_code == 200
    for channel in ["whatsapp", "voice"]:
        response = ask(api, channel)
        assert response.status_code == 429 and response.json()["code"] == "otp_cooldown"
    assert len(fake_twilio.requests) == 1


WEB_OTP_LINE = re.compile(r"^@(?P<domain>[a-z0-9.-]+) #(?P<code>[0-9]+)$")


def test_web_otp_and_sms_retriever_formats(api, sms_outbox, settings):
    settings.WEB_OTP_DOMAIN = "auth.example.com"
    settings.ANDROID_APP_HASH = "FA+9qCX9VSu"
    ask(api)
    message = sms_outbox[-1]
    lines = message.body.split("\n")
    web_otp = WEB_OTP_LINE.match(lines[-1])  # WebOTP: the last line, "@<domain> #<code>"
    assert web_otp and web_otp["domain"] == "auth.example.com" and web_otp["code"] == message.code
    assert lines[-2] == "FA+9qCX9VSu"  # SMS Retriever: the 11-character app hash, before the WebOTP line
    assert len(message.body.encode()) <= 140  # SMS Retriever reads messages of at most 140 bytes
    assert message.code in lines[0]


def test_autofill_settings_are_checked(settings):
    settings.ANDROID_APP_HASH = "too-short"
    settings.WEB_OTP_DOMAIN = "https://not a host"
    ids = {check_id for check_id, _ in messaging_settings.problems()}
    assert {"messaging.E006", "messaging.E007"} <= ids


@pytest.fixture
def region_config(tmp_path, settings):
    def write(config: dict):
        path = tmp_path / f"regions-{len(list(tmp_path.iterdir()))}.json"
        path.write_text(json.dumps(config), encoding="utf-8")
        settings.SMS_REGION_CONFIG = str(path)
        regions.load.cache_clear()
        return path

    yield write
    regions.load.cache_clear()


def test_a_region_has_its_own_sender_and_templates(api, twilio_settings, fake_twilio, region_config):
    region_config(
        {
            "IN": {
                "sender": "CHSHRE",
                "templates": {"en": "{otp} is your Cheershare code. -CHSHRE", "hi": "{otp} आपका Cheershare कोड है।"},
            },
            "US": {"sender": "MG" + "0" * 32},
        }
    )
    twilio_settings.OTP_RESEND_COOLDOWN = 0
    ask(api)
    ask(api, HTTP_ACCEPT_LANGUAGE="hi")
    ask(api, phone="+12025550143")
    english, hindi, american = fake_twilio.messages
    assert english["From"] == "CHSHRE" and re.fullmatch(r"\d{6} is your Cheershare code\. -CHSHRE", english["Body"])
    assert hindi["Body"].endswith("आपका Cheershare कोड है।")
    assert american["MessagingServiceSid"] == "MG" + "0" * 32 and "From" not in american
    assert american["Body"].startswith("Thank you for choosing Cheershare!")


def test_region_config_is_checked_at_start_up(region_config):
    region_config({"IN": {"sender": "not a sender id!", "templates": {"en": "no code here"}}})
    ids = {check_id for check_id, _ in messaging_settings.problems()}
    assert {"messaging.E011", "messaging.E012"} <= ids
    region_config({"IN": {"sender": "+919876543210", "templates": {"en": "Code {otp}"}}})
    assert not [check_id for check_id, _ in messaging_settings.problems() if check_id.startswith("messaging.E01")]


def test_long_messages_warn_and_very_long_ones_fail(region_config):
    region_config({"IN": {"templates": {"en": "{otp} " + "x" * 200, "hi": "{otp} " + "क" * 300}}})
    warnings = checks.sms_length()
    assert [w.id for w in warnings] == ["messaging.W001"] and "IN/en" in warnings[0].msg
    errors = [message for check_id, message in messaging_settings.problems() if check_id == "messaging.E013"]
    assert len(errors) == 1 and "IN/hi" in errors[0]


def test_sms_preview_prints_encoding_and_segments(region_config, capsys):
    region_config({"IN": {"sender": "CHSHRE", "templates": {"en": "{otp} is your code", "hi": "{otp} आपका कोड"}}})
    call_command("sms_preview")
    out = capsys.readouterr().out
    assert "== IN / en: GSM-7, 19 units, 1 segment(s)" in out and "123456 is your code" in out
    assert "== IN / hi: UCS-2" in out and "== default / en: GSM-7" in out


@pytest.mark.parametrize(
    "text, encoding, count",
    [
        ("a" * 160, "GSM-7", 1),
        ("a" * 161, "GSM-7", 2),
        ("a" * 306, "GSM-7", 2),
        ("a" * 307, "GSM-7", 3),
        ("€" * 80, "GSM-7", 1),  # extension characters take two septets
        ("€" * 81, "GSM-7", 2),
        ("é" * 160, "GSM-7", 1),
        ("क" * 70, "UCS-2", 1),
        ("क" * 71, "UCS-2", 2),
        ("😀" * 35, "UCS-2", 1),  # outside the BMP: two UTF-16 units each
        ("😀" * 36, "UCS-2", 2),
    ],
)
def test_segments(text, encoding, count):
    assert (segments.encoding(text), segments.segments(text)) == (encoding, count)
