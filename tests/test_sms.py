import time

import pytest

from messaging.models import Message
from messaging.sealing import seal
from messaging.tasks import send_code
from tests.helpers import PHONE, request_code

pytestmark = pytest.mark.django_db


def send(code="123456", expires_in=300):
    expires_at = int(time.time()) + expires_in
    send_code.apply(args=[PHONE, seal(code, expires_at), "en", expires_at])


def test_twilio_sdk_sends_through_configured_base_url(api, twilio_settings, fake_twilio):
    assert request_code(api).status_code == 200
    [message] = fake_twilio.wait_for_messages(1)
    assert message["To"] == PHONE and message["From"] == "+15005550006"
    assert message["path"] == f"/2010-04-01/Accounts/{twilio_settings.TWILIO_ACCOUNT_SID}/Messages.json"
    assert message["Body"].startswith("Thank you for choosing Cheershare! Your one-time password is ")


def test_messaging_service_and_api_key_credentials(twilio_settings, fake_twilio):
    twilio_settings.TWILIO_MESSAGING_SERVICE_SID = "MG" + "3" * 32
    twilio_settings.TWILIO_API_KEY_SID = "SK" + "4" * 32
    twilio_settings.TWILIO_API_KEY_SECRET = "api-key-secret"
    send()
    [message] = fake_twilio.wait_for_messages(1)
    assert message["MessagingServiceSid"] == "MG" + "3" * 32 and "From" not in message
    import base64

    user, _password = base64.b64decode(message["authorization"].split()[1]).decode().split(":")
    assert user == "SK" + "4" * 32


def test_template_setting_overrides_text(twilio_settings, fake_twilio):
    twilio_settings.SMS_MESSAGE_TEMPLATE = "Code {otp} for Cheershare"
    send("004242")
    assert fake_twilio.wait_for_messages(1)[0]["Body"] == "Code 004242 for Cheershare"


def test_transient_failures_are_retried_until_delivered(twilio_settings, fake_twilio):
    fake_twilio.script = [(500, 20500, 0), (500, 20500, 0)]
    send()
    assert len(fake_twilio.requests) == 3 and len(fake_twilio.messages) == 1


def test_a_long_outage_is_retried_while_the_code_lives(twilio_settings, fake_twilio):
    """Nothing lost, item 1: Celery's default of 3 retries gave up on a Twilio outage after ~12 s;
    now the task keeps trying until the code expires (and never after: see below)."""
    fake_twilio.script = [(500, 20500, 0)] * 12 + [(503, None, 0)] * 8
    send()
    assert len(fake_twilio.requests) == 21 and len(fake_twilio.messages) == 1


def test_the_backoff_is_capped(twilio_settings):
    from messaging.tasks import retry_countdown

    twilio_settings.SMS_RETRY_BACKOFF = 2
    for retries, least in [(0, 2), (1, 4), (2, 8), (4, 30), (40, 30)]:  # doubling, then capped at 30 s
        assert least <= retry_countdown(retries) <= least + 2  # plus up to one base of jitter


def test_rate_limit_is_transient(twilio_settings, fake_twilio):
    fake_twilio.script = [(429, 20429, 0)]
    send()
    assert len(fake_twilio.messages) == 1


def test_retries_stop_at_max(twilio_settings, fake_twilio):
    twilio_settings.SMS_MAX_RETRIES = 2
    fake_twilio.script = [(503, None, 0)] * 5
    send()
    assert len(fake_twilio.requests) == 3 and fake_twilio.messages == []


@pytest.mark.parametrize("code", [21211, 21408, 21610, 21614])
def test_permanent_failure_is_tried_once(twilio_settings, fake_twilio, code, caplog):
    fake_twilio.script = [(400, code, 0)]
    send()
    assert len(fake_twilio.requests) == 1
    assert any(getattr(record, "error_code", None) == code for record in caplog.records)


def test_expired_code_is_never_sent(twilio_settings, fake_twilio):
    send(expires_in=0)
    assert fake_twilio.requests == []


def test_retry_is_not_scheduled_past_expiry(twilio_settings, fake_twilio):
    twilio_settings.SMS_RETRY_BACKOFF = 10
    fake_twilio.script = [(500, None, 0)]
    send(expires_in=5)
    assert len(fake_twilio.requests) == 1


def test_a_late_answer_is_checked_with_twilio_and_never_sent_twice(twilio_settings, fake_twilio):
    """Twilio takes the message and answers after the client's timeout (third probe, item 6): the
    retry asks Twilio's Messages list first, finds it, and sends nothing more."""
    twilio_settings.TWILIO_HTTP_TIMEOUT = 1
    fake_twilio.script = [(201, None, 2)]
    started = time.monotonic()
    send()
    assert len(fake_twilio.requests) == 1 and len(fake_twilio.messages) == 1
    assert [lookup["To"] for lookup in fake_twilio.lookups] == [PHONE]
    assert time.monotonic() - started < 5
    [record] = Message.objects.all()
    assert record.sid == fake_twilio.messages[0]["sid"] and record.attempts == 2


def test_a_lost_request_is_sent_again_after_asking(twilio_settings, fake_twilio):
    """Twilio never took the first request (status 0: no message, no answer in time): the retry
    finds nothing in the list and sends; a sure failure (an answer came) is retried without asking."""
    twilio_settings.TWILIO_HTTP_TIMEOUT = 1
    fake_twilio.script = [(0, None, 2)]
    send()
    assert len(fake_twilio.requests) == 2 and len(fake_twilio.messages) == 1 and len(fake_twilio.lookups) == 1
    fake_twilio.script = [(500, None, 0)]
    send("654321")
    assert len(fake_twilio.messages) == 2 and len(fake_twilio.lookups) == 1


def test_sending_needs_no_database(twilio_settings, fake_twilio):
    """Nothing lost, item 1: PostgreSQL is down when the task runs; the SMS goes out at once and its
    record is written once the database answers again (by a task, eagerly here)."""
    from django.db import OperationalError, connection

    failing = {"left": 2}  # the disabled-account check and the record's first write

    def database_down(execute, sql, params, many, context):
        if failing["left"] > 0:
            failing["left"] -= 1
            raise OperationalError("could not connect to server")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(database_down):
        send()
    [message] = fake_twilio.messages
    [record] = Message.objects.all()
    assert (record.sid, record.status, record.attempts) == (message["sid"], "queued", 1)


@pytest.mark.django_db(transaction=True)  # autocommit, as in a worker: a failed statement spoils nothing
def test_a_record_that_cannot_be_written_after_sending_is_written_later(twilio_settings, fake_twilio):
    from django.db import OperationalError, connection

    state = {"failures": 0}

    def down_after_sending(execute, sql, params, many, context):
        if fake_twilio.messages and state["failures"] < 3:  # the update, then the later task's first tries
            state["failures"] += 1
            raise OperationalError("server closed the connection unexpectedly")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(down_after_sending):
        send()
    assert len(fake_twilio.messages) == 1  # sent once: a failed record never resends
    assert Message.objects.get().sid == fake_twilio.messages[0]["sid"]


def test_once_a_try_may_have_reached_twilio_every_later_try_asks_first(twilio_settings, fake_twilio):
    """A lost answer, then a sure 500: the third try still asks, since the first may yet show up."""
    twilio_settings.TWILIO_HTTP_TIMEOUT = 1
    fake_twilio.script = [(0, None, 2), (500, None, 0)]
    send()
    assert len(fake_twilio.lookups) == 2 and len(fake_twilio.messages) == 1
