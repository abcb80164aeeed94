"""What an operator sees (third probe, item 7): whether a worker is alive (/readyz, /metrics, the
admin's banner), the backlog of messages no worker took, messages found by any spelling of a
number, linked to their account, with Twilio's error codes explained."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from freezegun import freeze_time

from accounts.models import User
from messaging import heartbeat
from messaging.models import Message
from tests.helpers import PHONE
from tests.live import request, wait_until

pytestmark = pytest.mark.django_db


@pytest.fixture
def with_broker(settings):
    """As a deployment with a broker: tasks go to workers, so a worker can be missing. (The Celery app
    resolves its settings once: it is configured here first, so it keeps running the tests' tasks
    eagerly after this test.)"""
    from cheershare.celery import app

    assert app.conf.task_always_eager
    settings.CELERY_TASK_ALWAYS_EAGER = False
    return settings


@pytest.fixture
def staff(client):
    client.force_login(User.objects.create_superuser("+919000000001", "Admin", password="a-long-admin-password"))
    return client


def waiting_message(minutes_ago: float, **fields) -> Message:
    created = timezone.now() - timedelta(minutes=minutes_ago)
    defaults = {"phone_number": PHONE, "region": "IN", "task_id": f"t-{minutes_ago}", "created_at": created}
    return Message.objects.create(**{**defaults, **fields})


def test_readyz_reports_the_worker_without_failing(api, with_broker):
    body = api.get("/readyz").json()
    assert body["status"] == "ok" and body["checks"]["worker"] == "missing: no heartbeat yet"
    heartbeat.beat()
    assert api.get("/readyz").json()["checks"]["worker"] == "ok"
    with freeze_time(timezone.now() + timedelta(seconds=95)):
        answer = api.get("/readyz")
    assert answer.status_code == 200 and answer.json()["checks"]["worker"] == "missing: last heartbeat 95 s ago"


def test_a_run_without_broker_has_no_worker_to_miss(api):
    assert api.get("/readyz").json()["checks"]["worker"] == "eager"


def test_metrics_give_the_heartbeat_age_and_the_backlog(api, with_broker):
    waiting_message(5)
    waiting_message(3, task_id="tried", attempts=1)  # a worker took it
    waiting_message(0.1, task_id="fresh")  # under a minute at the scrape: not a backlog yet
    heartbeat.beat()
    with freeze_time(timezone.now() + timedelta(seconds=42)):
        page = api.get("/metrics").content.decode()
    assert re.search(r"^cheershare_messages_waiting 1\.0$", page, re.MULTILINE)
    assert re.search(r"^cheershare_worker_heartbeat_age_seconds 42\.\d+$", page, re.MULTILINE)


def test_the_admin_shows_a_banner_while_no_worker_is_alive(staff, with_broker):
    waiting_message(5)
    page = staff.get("/admin/").content.decode()
    assert 'id="worker-missing"' in page and "1 message has waited over a minute" in page
    heartbeat.beat()
    assert 'id="worker-missing"' not in staff.get("/admin/").content.decode()


def test_messages_are_found_by_any_spelling_linked_and_explained(staff):
    user = User.objects.create_user(PHONE, "Asha")
    waiting_message(1, task_id="failed", status="failed", error_code=30005)
    waiting_message(2, task_id="stranger", phone_number="+919812345678")
    for spelling in ("9876543210", "+91 98765 43210", "098765-43210", "(98765) 43210"):
        page = staff.get("/admin/messaging/message/", {"q": spelling}).content.decode()
        assert page.count('class="field-phone_number"') == 1, spelling
    page = staff.get("/admin/messaging/message/").content.decode()
    assert f'href="/admin/accounts/user/{user.pk}/change/"' in page
    assert "30005: Unknown destination handset: the number does not exist" in page


@pytest.mark.live
def test_a_stopped_worker_is_visible_and_its_backlog_sent_when_one_starts(start_server, start_worker, fake_twilio):
    server = start_server()
    status, _, _ = request(server.url + "/v1/signup", {"name": "Asha", "phone_number": PHONE})
    assert status == 200
    record = Message.objects.get()
    assert (record.status, record.attempts, record.sid) == ("queued", 0, None)  # written when published
    status, body, _ = request(server.url + "/readyz")
    assert status == 200 and body["checks"]["worker"] == "missing: no heartbeat yet"
    start_worker()
    wait_until(lambda: request(server.url + "/readyz")[1]["checks"]["worker"] == "ok", what="the heartbeat")
    fake_twilio.wait_for_messages(1)
    wait_until(lambda: Message.objects.get().sid is not None, what="the record to be sent")
    assert Message.objects.count() == 1
