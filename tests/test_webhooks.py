"""Events out: the outbox written in the change's transaction, delivered signed (Standard Webhooks,
verified here by its own library), retried on its schedule, refused for inside addresses."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from freezegun import freeze_time
from standardwebhooks import Webhook

from accounts import signals as account_signals
from events import tasks
from events.app_settings import RETRY_DELAYS
from events.delivery import Refused, check_url
from events.models import DELIVERED, FAILED, Delivery, Endpoint, Event, new_secret
from events.outbox import endpoints_changed
from messaging import signals as messaging_signals
from tests.fakes import FakeWebhookReceiver
from tests.helpers import PHONE, auth, last_code, request_code, statements, verify

pytestmark = pytest.mark.django_db
SECRET = new_secret()


@pytest.fixture
def receiver(settings, django_capture_on_commit_callbacks):
    server = FakeWebhookReceiver(SECRET)
    settings.WEBHOOK_URL, settings.WEBHOOK_SECRET, settings.WEBHOOK_ALLOW_PRIVATE = server.url, SECRET, True
    endpoints_changed()
    yield server
    server.stop()
    endpoints_changed()


def sign_in(api, sms_outbox, django_capture_on_commit_callbacks, **extra) -> dict:
    request_code(api)
    with django_capture_on_commit_callbacks(execute=True):
        return verify(api, last_code(sms_outbox), **extra).json()


def test_a_sign_up_sends_user_created_and_session_created_signed(
    api, sms_outbox, receiver, django_capture_on_commit_callbacks
):
    body = sign_in(api, sms_outbox, django_capture_on_commit_callbacks, device_name="Pixel 8")
    events = receiver.events()
    assert [e["type"] for e in events] == ["user.created", "session.created"]
    user = get_user_model().objects.get()
    assert events[0]["data"] == {"id": user.pk, "phone_number": PHONE, "name": "Asha"}
    assert events[1]["data"] == {"user": {"id": user.pk}, "session_id": body["session_id"], "device_name": "Pixel 8"}
    assert all(e["timestamp"].endswith("Z") for e in events)
    ids = [headers["webhook-id"] for headers, _ in receiver.requests]
    assert len(set(ids)) == 2 and all(i.startswith("msg_") for i in ids)
    assert Delivery.objects.filter(state=DELIVERED).count() == 2


def test_a_tampered_body_fails_the_receivers_check(api, sms_outbox, receiver, django_capture_on_commit_callbacks):
    sign_in(api, sms_outbox, django_capture_on_commit_callbacks)
    headers, body = receiver.requests[0]
    with pytest.raises(Exception, match="signature"):
        Webhook(SECRET).verify(body.replace(b"Asha", b"Eve!"), headers)


def test_writing_an_event_is_one_insert_in_the_changes_transaction(api, sms_outbox, receiver):
    request_code(api)
    with CaptureQueriesContext(connection) as queries:
        verify(api, last_code(sms_outbox))
    sql = statements(queries)
    assert sum(1 for s in sql if s.startswith('INSERT INTO "events"')) == 2  # user.created, session.created
    assert len(sql) == 7  # the verify's five statements, and one INSERT per event


def test_a_rolled_back_change_leaves_no_event(receiver):
    with pytest.raises(RuntimeError), transaction.atomic():
        get_user_model().objects.create_user("+919876500001", "Ravi")
        assert Event.objects.count() == 1
        raise RuntimeError("the change fails")
    assert Event.objects.count() == 0


def test_every_type_and_never_a_secret(api, sms_outbox, receiver, django_capture_on_commit_callbacks, settings):
    settings.OTP_RESEND_COOLDOWN = 0
    first = sign_in(api, sms_outbox, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        api.patch("/v1/me", {"name": "Asha Rao"}, format="json", **auth(first["token"]))
        fresh = api.post("/v1/token/refresh", {"refresh_token": first["refresh_token"]}, format="json").json()
        with freeze_time(timezone.now() + timedelta(seconds=11)):
            api.post("/v1/token/refresh", {"refresh_token": first["refresh_token"]}, format="json")
    second = sign_in(api, sms_outbox, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        api.post("/v1/me/phone", {"phone_number": "+919876505678"}, format="json", **auth(second["token"]))
        api.post(
            "/v1/me/phone",
            {"phone_number": "+919876505678", "otp": last_code(sms_outbox)},
            format="json",
            **auth(second["token"]),
        )
        account_signals.codes_lengthened.send(sender=None, phone="+919876500002")
        account_signals.number_locked.send(sender=None, phone="+919876500002", by="command")
        until = timezone.now() + timedelta(hours=1)
        messaging_signals.region_closed.send(
            sender=None, region="IN", prefix="+9198765", conversion=0.0, sample=20, until=until
        )
        api.delete("/v1/me", **auth(second["token"]))
    events = receiver.events()
    assert {e["type"] for e in events} == {
        "user.created", "user.updated", "user.phone_changed", "user.deleted", "session.created",
        "session.ended", "session.refresh_reused", "phone.guessed_at", "phone.locked", "region.closed",
    }  # fmt: skip
    text = str([body for _, body in receiver.requests])
    secrets = [first["token"], first["refresh_token"], fresh["token"], fresh["refresh_token"], second["token"]]
    secrets += [m.code for m in sms_outbox] + [first["device_token"], second["device_token"]]
    assert not any(secret in text for secret in secrets)
    changed = next(e for e in events if e["type"] == "user.phone_changed")["data"]
    assert (changed["phone_number"], changed["old_phone_number"]) == ("+919876505678", PHONE)


def test_failures_are_retried_on_the_schedule_with_one_webhook_id_then_given_up(receiver):
    receiver.status = 500
    start = timezone.now()
    with freeze_time(start) as clock:
        with transaction.atomic():
            get_user_model().objects.create_user("+919876500001", "Ravi")
        tasks.sweep()  # (no commit callback here: the sweep takes what was not dispatched)
        clock.tick(tasks.SWEEP_AFTER + 1)
        tasks.sweep()
        delivery = Delivery.objects.get()
        assert delivery.attempts == 1 and delivery.next_attempt_at == timezone.now() + timedelta(seconds=5)
        for delay in RETRY_DELAYS:
            clock.tick(delay - 1)
            tasks.sweep()  # not due yet
            clock.tick(1)
            tasks.sweep()
        delivery.refresh_from_db()
    assert delivery.state == FAILED and delivery.attempts == 1 + len(RETRY_DELAYS) == len(receiver.requests)
    assert len({headers["webhook-id"] for headers, _ in receiver.requests}) == 1
    assert [a.error for a in delivery.attempt_log.all()] == ["HTTP 500"] * 8


def test_a_receiver_back_after_a_failure_gets_the_event(receiver):
    receiver.status = 503
    with freeze_time(timezone.now()) as clock:
        get_user_model().objects.create_user("+919876500001", "Ravi")
        clock.tick(tasks.SWEEP_AFTER + 1)
        tasks.sweep()
        receiver.status = 200
        clock.tick(5)
        tasks.sweep()
    assert Delivery.objects.get().state == DELIVERED and len(receiver.events()) == 2
    assert Endpoint.objects.get().failing_since is None


def test_an_endpoint_failing_for_five_days_is_disabled(receiver, caplog):
    receiver.status = 500
    with freeze_time(timezone.now()) as clock:
        for i in range(3):
            get_user_model().objects.create_user(f"+91987650000{i}", "Ravi")
            clock.tick(tasks.SWEEP_AFTER + 1)
            tasks.sweep()
            clock.tick(timedelta(days=2, hours=12))
    assert Endpoint.objects.get().enabled is False
    assert "webhook_endpoint_disabled" in caplog.text


def test_a_redirect_is_not_followed(receiver):
    receiver.status = 302
    with freeze_time(timezone.now()) as clock:
        get_user_model().objects.create_user("+919876500001", "Ravi")
        clock.tick(tasks.SWEEP_AFTER + 1)
        tasks.sweep()
    assert Delivery.objects.get().attempt_log.get().error == "HTTP 302" and len(receiver.requests) == 1


@pytest.mark.parametrize(
    "url, allow, refused",
    [
        ("http://example.com/hook", False, "https only"),
        ("https://127.0.0.1/hook", False, "non-public"),
        ("https://10.1.2.3/hook", False, "non-public"),
        ("https://169.254.169.254/latest", False, "non-public"),
        ("https://[::1]/hook", False, "non-public"),
        ("https://localhost/hook", False, "non-public"),
        ("ftp://example.com/", True, "http"),
    ],
)
def test_inside_addresses_and_plain_http_are_refused(settings, url, allow, refused):
    settings.DEBUG, settings.WEBHOOK_ALLOW_PRIVATE = False, allow
    with pytest.raises(Refused, match=refused):
        check_url(url)


def test_private_addresses_pass_only_when_allowed(settings):
    settings.DEBUG, settings.WEBHOOK_ALLOW_PRIVATE = False, True
    check_url("http://127.0.0.1:9/hook")


def test_a_broker_outage_loses_nothing(receiver, settings, django_capture_on_commit_callbacks):
    settings.CELERY_BROKER_URL = "memory://"
    from cheershare.celery import app

    app.conf.task_always_eager = False
    try:
        with django_capture_on_commit_callbacks(execute=True):
            with transaction.atomic():
                get_user_model().objects.create_user("+919876500001", "Ravi")
    finally:
        app.conf.task_always_eager = True
    assert receiver.requests == [] and Event.objects.get().dispatched_at is None
    with freeze_time(timezone.now() + timedelta(seconds=tasks.SWEEP_AFTER + 1)):
        assert tasks.sweep() == 1
    assert [e["type"] for e in receiver.events()] == ["user.created"]


def test_the_admin_resends_an_event(client, receiver):
    with freeze_time(timezone.now()) as clock:
        get_user_model().objects.create_user("+919876500001", "Ravi")
        clock.tick(tasks.SWEEP_AFTER + 1)
        tasks.sweep()
    client.force_login(
        get_user_model().objects.create_superuser("+919000000001", "Admin", password="a-long-password-1")
    )
    event = Event.objects.get(type="user.created", payload__data__phone_number="+919876500001")
    page = client.get(f"/admin/events/event/{event.pk}/change/").content.decode()
    assert "status 204" in page
    client.post("/admin/events/event/", {"action": "resend_selected", "_selected_action": [event.pk]})
    tasks.sweep()
    sent = [headers["webhook-id"] for headers, _ in receiver.requests]
    assert sent.count(event.webhook_id) == 2  # the same webhook-id: receivers de-duplicate


def test_an_endpoint_added_in_the_admin_gets_a_secret_shown_once(client, settings):
    client.force_login(
        get_user_model().objects.create_superuser("+919000000001", "Admin", password="a-long-password-1")
    )
    response = client.post(
        "/admin/events/endpoint/add/",
        {"url": "https://hooks.example.com/in", "event_types": '["user.created"]', "enabled": "on"},
        follow=True,
    )
    endpoint = Endpoint.objects.get()
    assert endpoint.secret.startswith("whsec_") and endpoint.secret in response.content.decode()
    assert endpoint.secret.encode() not in bytes(endpoint.sealed_secret)
    assert endpoint.secret not in client.get(f"/admin/events/endpoint/{endpoint.pk}/change/").content.decode()
    assert endpoint.wants("user.created") and not endpoint.wants("session.created")


def test_the_user_page_links_the_events_about_the_user(client, receiver):
    user = get_user_model().objects.create_user("+919876500001", "Ravi")
    get_user_model().objects.create_user("+919876500002", "Meera")
    client.force_login(
        get_user_model().objects.create_superuser("+919000000001", "Admin", password="a-long-password-1")
    )
    page = client.get(f"/admin/accounts/user/{user.pk}/change/").content.decode()
    assert f"/admin/events/event/?user={user.pk}" in page
    listing = client.get(f"/admin/events/event/?user={user.pk}").content.decode()
    mine = Event.objects.get(payload__data__id=user.pk)
    assert mine.webhook_id in listing and Event.objects.exclude(pk=mine.pk).first().webhook_id not in listing


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_the_sweep_and_the_queued_task_never_send_one_delivery_at_once(receiver):
    from tests.helpers import run_concurrently

    receiver.delay = 0.5
    get_user_model().objects.create_user("+919876500001", "Ravi")
    with freeze_time(timezone.now() + timedelta(seconds=tasks.SWEEP_AFTER + 1)):
        tasks.dispatch(list(Event.objects.values_list("pk", flat=True)))  # no commit callback ran: by hand
    receiver.requests.clear()
    Delivery.objects.update(state="pending", attempts=0, next_attempt_at=timezone.now())
    pk = Delivery.objects.get().pk
    run_concurrently(4, lambda: tasks.deliver(pk))
    assert len(receiver.requests) == 1 and Delivery.objects.get().state == DELIVERED
