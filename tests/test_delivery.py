"""Delivery records, signed Twilio status callbacks and undeliverable numbers (the pumping alarm:
test_pumping_alarm.py; Twilio faked at the HTTP level; signatures made by the SDK's own validator)."""

from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone
from freezegun import freeze_time
from twilio.request_validator import RequestValidator

from messaging import records
from messaging.app_settings import app_settings as messaging_settings
from messaging.models import Message, Suppression
from tests.helpers import PHONE, request_code, verify

pytestmark = pytest.mark.django_db
PUBLIC = "https://auth.example.com"
AUTH_TOKEN = "twilio-auth-token-secret"


@pytest.fixture
def delivery(twilio_settings):
    twilio_settings.PUBLIC_BASE_URL = PUBLIC
    twilio_settings.OTP_RESEND_COOLDOWN = 0
    return twilio_settings


def callback(api, form: dict, signature: str | None = "sign", url=PUBLIC + "/v1/twilio/status"):
    headers = {}
    if signature == "sign":
        signature = RequestValidator(AUTH_TOKEN).compute_signature(url, form)
    if signature is not None:
        headers["HTTP_X_TWILIO_SIGNATURE"] = signature
    return api.post("/v1/twilio/status", urlencode(form), content_type="application/x-www-form-urlencoded", **headers)


def status(sid: str, value: str, error_code: str = "") -> dict:
    form = {"MessageSid": sid, "MessageStatus": value, "To": PHONE, "AccountSid": "AC" + "1" * 32}
    if error_code:
        form["ErrorCode"] = error_code
    return form


def sent_message(api, fake_twilio, phone=PHONE) -> Message:
    assert request_code(api, phone).status_code == 200
    sent = fake_twilio.wait_for_messages(len(fake_twilio.messages) + 0)
    return Message.objects.get(sid=f"SM{len(sent):032d}")


def test_each_message_is_recorded_without_its_code_and_asks_for_callbacks(api, delivery, fake_twilio):
    message = sent_message(api, fake_twilio)
    [form] = fake_twilio.messages
    assert form["StatusCallback"] == PUBLIC + "/v1/twilio/status"
    assert (message.phone_number, message.region, message.channel) == (PHONE, "IN", "sms")
    assert (message.status, message.attempts, message.verified_at) == ("queued", 1, None)
    code = form["Body"].split("password is ")[1][:6]
    row = " ".join(str(value) for value in Message.objects.values().get())
    assert code not in row and "password" not in row
    assert verify(api, code).status_code == 200
    assert Message.objects.get().verified_at is not None


def test_a_verified_code_marks_only_the_latest_message_of_its_window():
    from messaging import records

    now = timezone.now()
    ages = {"stale": 600, "replaced": 120, "latest": 30}
    for task_id, seconds in ages.items():
        Message.objects.create(
            phone_number=PHONE, region="IN", task_id=task_id, created_at=now - timedelta(seconds=seconds)
        )
    Message.objects.create(phone_number="+919812345670", region="IN", task_id="other", created_at=now)
    records.mark_verified(PHONE, sent_after=now - timedelta(seconds=300))
    assert list(Message.objects.exclude(verified_at=None).values_list("task_id", flat=True)) == ["latest"]
    records.mark_verified(PHONE, sent_after=now - timedelta(seconds=300))  # the next code: the one before it
    assert set(Message.objects.exclude(verified_at=None).values_list("task_id", flat=True)) == {"latest", "replaced"}


def test_retries_update_one_record(api, delivery, fake_twilio):
    delivery.SMS_RETRY_BACKOFF = 0
    fake_twilio.script = [(503, 20003, 0)]
    request_code(api)
    message = Message.objects.get()
    assert (message.attempts, message.status, message.sid) == (2, "queued", "SM" + "0" * 31 + "1")


def test_signed_callbacks_move_the_status_forward_only(api, delivery, fake_twilio):
    message = sent_message(api, fake_twilio)
    for step in ["sent", "delivered"]:
        response = callback(api, status(message.sid, step))
        assert response.status_code == 200 and response.json() == {"success": True}
    assert callback(api, status(message.sid, "sent")).status_code == 200  # late, out of order
    assert callback(api, status(message.sid, "delivered")).status_code == 200  # replayed
    assert callback(api, status(message.sid, "undelivered", "30003")).status_code == 200  # after final
    message.refresh_from_db()
    assert (message.status, message.error_code) == ("delivered", None)


@pytest.mark.parametrize("signature", [None, "", "bm90IGEgc2lnbmF0dXJl", "forged"])
def test_missing_or_wrong_signatures_change_nothing(api, delivery, fake_twilio, signature):
    message = sent_message(api, fake_twilio)
    response = callback(api, status(message.sid, "delivered"), signature=signature)
    assert response.status_code == 403
    assert response.json()["code"] == "signature_invalid" and response.json()["success"] is False
    assert Message.objects.get().status == "queued"


def test_a_signature_for_another_url_or_body_is_refused(api, delivery, fake_twilio):
    message = sent_message(api, fake_twilio)
    other_url = callback(api, status(message.sid, "delivered"), url="http://testserver/v1/twilio/status")
    assert other_url.status_code == 403
    form = status(message.sid, "sent")
    tampered = {**form, "MessageStatus": "delivered"}
    signature = RequestValidator(AUTH_TOKEN).compute_signature(PUBLIC + "/v1/twilio/status", form)
    assert callback(api, tampered, signature=signature).status_code == 403
    assert Message.objects.get().status == "queued"


def test_without_public_base_url_the_seen_url_is_signed(api, delivery, fake_twilio):
    delivery.PUBLIC_BASE_URL = ""
    message = sent_message(api, fake_twilio)
    assert "StatusCallback" not in fake_twilio.messages[-1]
    response = callback(api, status(message.sid, "delivered"), url="http://testserver/v1/twilio/status")
    assert response.status_code == 200 and Message.objects.get().status == "delivered"


def test_an_unknown_sid_answers_200(api, delivery, caplog):
    assert callback(api, status("SM" + "9" * 32, "delivered")).status_code == 200
    assert "unknown message" in caplog.text


def test_the_callback_takes_only_forms_and_no_bearer(api, delivery):
    response = api.post("/v1/twilio/status", {"MessageSid": "x"}, format="json", HTTP_X_TWILIO_SIGNATURE="x")
    assert response.status_code == 415
    assert api.get("/v1/twilio/status").status_code == 405
    signed = callback(api, status("SM" + "9" * 32, "sent"))
    assert signed.status_code == 200


@pytest.mark.parametrize("error_code", [21211, 21610, 21614])
def test_a_send_time_refusal_suppresses_the_number(api, delivery, fake_twilio, error_code, sms_outbox):
    delivery.SMS_BACKEND = "twilio"
    fake_twilio.script = [(400, error_code, 0)]
    assert request_code(api).status_code == 200
    message = Message.objects.get()
    assert (message.status, message.error_code) == ("failed", error_code)
    assert Suppression.objects.get().phone_number == PHONE
    refused = request_code(api)
    assert refused.status_code == 400 and refused.json()["code"] == "phone_undeliverable"
    assert len(fake_twilio.requests) == 1
    assert request_code(api, "+919876500001").status_code == 200


def test_a_callback_error_suppresses_and_lapses(api, delivery, fake_twilio):
    delivery.OTP_MAX_SENDS_PER_HOUR = 2
    message = sent_message(api, fake_twilio)
    assert callback(api, status(message.sid, "undelivered", "30005")).status_code == 200
    for _ in range(3):  # refused requests count against no limit
        assert request_code(api).json()["code"] == "phone_undeliverable"
    with freeze_time(timezone.now() + timedelta(seconds=messaging_settings.SMS_SUPPRESS_SECONDS + 1)):
        assert request_code(api).status_code == 200


def test_a_transient_delivery_error_suppresses_nothing(api, delivery, fake_twilio):
    message = sent_message(api, fake_twilio)
    callback(api, status(message.sid, "undelivered", "30003"))  # handset unreachable: try again later
    assert not Suppression.objects.exists() and request_code(api).status_code == 200


def make_messages(region_phone: str, count: int, verified: int, when=None):
    when = when or timezone.now()
    Message.objects.bulk_create(
        Message(
            phone_number=region_phone,
            region="GB",
            task_id=f"seed-{i}",
            status="delivered",
            created_at=when,
            verified_at=when if i < verified else None,
        )
        for i in range(count)
    )


def test_old_messages_do_not_count_and_purge_removes_them(delivery):
    old = timezone.now() - timedelta(days=91)
    make_messages("+447400999999", 5, verified=0, when=old)
    Message.objects.create(phone_number=PHONE, region="IN", task_id="recent")
    call_command("purge_delivery_records", "--dry-run")
    call_command("purge_delivery_records", "--batch-size", "2")
    assert list(Message.objects.values_list("task_id", flat=True)) == ["recent"]


def test_undeliverable_answer_is_translated(api, delivery):
    from messaging.models import Suppression as Row

    Row.objects.create(phone_number=PHONE, error_code=21610, until=timezone.now() + timedelta(hours=1))
    response = request_code(api, HTTP_ACCEPT_LANGUAGE="hi")
    assert response.json()["code"] == "phone_undeliverable" and response.json()["error"].startswith("इस नंबर")


def test_gates_survive_a_cache_that_lost_everything(api, delivery, fake_twilio):
    """The cache mirrors suppressions and closed regions; a Redis restart refills it from the database."""
    from django.core.cache import cache

    from messaging.models import RegionBlock as Block

    message = sent_message(api, fake_twilio)
    callback(api, status(message.sid, "undelivered", "21610"))
    Block.objects.create(region="GB", conversion=0.1, sample=60, until=timezone.now() + timedelta(hours=1))
    cache.clear()
    assert request_code(api).json()["code"] == "phone_undeliverable"
    assert request_code(api, "+447400123456").status_code == 200  # a closed region: answered as any number
    assert not any(form["To"] == "+447400123456" for form in fake_twilio.messages)  # and sent nothing


@pytest.mark.django_db(transaction=True)
def test_a_queued_record_is_written_alone_or_in_a_transaction_and_no_other_commit_is_relaxed():
    """The ``queued`` record (on every code request) is one statement whose own commit skips the disk
    flush; the session, and a transaction around it, keep PostgreSQL's synchronous commit."""

    def synchronous_commit() -> str:
        with connection.cursor() as cursor:
            cursor.execute("SHOW synchronous_commit")
            return cursor.fetchone()[0]

    records.queued("task-1", PHONE, "sms", "203.0.113.0/24")
    records.queued("task-1", PHONE, "sms", "203.0.113.0/24")  # the worker wrote it first: kept as it is
    with transaction.atomic():
        records.queued("task-2", PHONE, "whatsapp")
        inside = synchronous_commit() if connection.vendor == "postgresql" else "on"
    assert inside == "on" and (connection.vendor != "postgresql" or synchronous_commit() == "on")
    rows = Message.objects.order_by("task_id").values_list("task_id", "channel", "source", "attempts", "status")
    assert list(rows) == [("task-1", "sms", "203.0.113.0/24", 0, "queued"), ("task-2", "whatsapp", "", 0, "queued")]
