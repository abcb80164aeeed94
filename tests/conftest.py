import threading

import pytest
import redis
from django.conf import settings
from django.core.cache import cache
from rest_framework.test import APIClient

from accounts import sms
from tests.fakes import FakeTwilio
from tests.live import CeleryWorker, Gunicorn, base_env

PHONE = "+919876543210"


@pytest.fixture(autouse=True)
def clean_cache():
    """Each test starts with no OTP state and no counters (only this run's key prefix is touched)."""
    cache.delete_pattern("*")
    yield
    cache.delete_pattern("*")


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.fixture
def sms_outbox(settings):
    settings.SMS_BACKEND = "locmem"
    sms.outbox.clear()
    yield sms.outbox
    sms.outbox.clear()


@pytest.fixture
def fake_twilio():
    fake = FakeTwilio().start()
    yield fake
    fake.stop()


@pytest.fixture
def twilio_settings(settings, fake_twilio):
    settings.SMS_BACKEND = "twilio"
    settings.TWILIO_ACCOUNT_SID = "AC" + "1" * 32
    settings.TWILIO_AUTH_TOKEN = "twilio-auth-token-secret"
    settings.TWILIO_FROM_NUMBER = "+15005550006"
    settings.TWILIO_API_BASE_URL = fake_twilio.url
    settings.SMS_RETRY_BACKOFF = 0
    return settings


@pytest.fixture
def user(db):
    from accounts.models import User

    return User.objects.create_user(PHONE, "Asha")


def auth(plaintext: str) -> dict:
    """Test-client keyword arguments for ``Authorization: Bearer <plaintext>``."""
    return {"HTTP_AUTHORIZATION": f"Bearer {plaintext}"}


def run_concurrently(count: int, work) -> list:
    """Run ``work()`` in ``count`` threads released together; returns their results."""
    from django.db import connection

    barrier = threading.Barrier(count)
    results = []

    def run():
        barrier.wait()
        try:
            results.append(work())
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def request_code(api, phone=PHONE, name="Asha", **headers):
    return api.post("/v1/signup", {"name": name, "phone_number": phone}, format="json", **headers)


def verify(api, code, phone=PHONE, **extra):
    return api.post("/v1/signup", {"phone_number": phone, "otp": code, **extra}, format="json")


def last_code(outbox) -> str:
    return outbox[-1]["body"].split("password is ")[1][: settings.OTP_LENGTH]


def sign_in(api, outbox, phone=PHONE) -> str:
    assert request_code(api, phone).status_code == 200
    response = verify(api, last_code(outbox), phone)
    assert response.status_code == 200, response.json()
    return response.json()["token"]


@pytest.fixture
def live_env(transactional_db, fake_twilio, request):
    """Environment for real gunicorn/celery processes on this test's database, cache prefix and queue."""
    database = settings.DATABASES["default"]
    env = base_env(
        DATABASE_URL=f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}",
        REDIS_URL=settings.REDIS_URL,
        CACHE_KEY_PREFIX=settings.CACHE_KEY_PREFIX,
        CELERY_BROKER_URL="redis://127.0.0.1:6379/14",
        CELERY_TASK_DEFAULT_QUEUE=f"{settings.CACHE_KEY_PREFIX}-{request.node.name}"[:120],
        SECRET_KEY="live-test-secret-key-with-more-than-32-characters",
        SMS_BACKEND="twilio",
        TWILIO_ACCOUNT_SID="AC" + "2" * 32,
        TWILIO_AUTH_TOKEN="live-twilio-auth-token",
        TWILIO_FROM_NUMBER="+15005550006",
        TWILIO_API_BASE_URL=fake_twilio.url,
        SMS_RETRY_BACKOFF="0",
        LOG_LEVEL="DEBUG",
    )
    yield env
    broker = redis.Redis.from_url(env["CELERY_BROKER_URL"])
    broker.delete(env["CELERY_TASK_DEFAULT_QUEUE"])  # messages no worker took (tests without a worker)


@pytest.fixture
def live_processes():
    started = []
    yield started
    for process in started:
        process.stop()


@pytest.fixture
def start_gunicorn(live_env, live_processes):
    def start(workers: int = 2, threads: int = 1, **env) -> Gunicorn:
        process = Gunicorn({**live_env, **env}, workers=workers, threads=threads)
        live_processes.append(process)
        return process

    return start


@pytest.fixture
def start_worker(live_env, live_processes):
    def start(pool: str = "solo", **env) -> CeleryWorker:
        process = CeleryWorker({**live_env, **env}, pool=pool)
        live_processes.append(process)
        return process

    return start
