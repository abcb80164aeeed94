import pytest
from django.conf import settings
from django.core.cache import cache
from rest_framework.test import APIClient

from messaging import backends as sms
from tests.cleanup import forget_queue
from tests.fakes import FakeTwilio
from tests.helpers import PHONE
from tests.live import CeleryWorker, RedisServer, WebServer, base_env

SERVICE_FIXTURES = {"live_env", "own_redis"}  # processes on this run's PostgreSQL database, a redis-server


def pytest_collection_modifyitems(config, items):
    if settings.TEST_STACK == "defaults":
        skip = pytest.mark.skip(reason="needs the real PostgreSQL and Redis (TEST_STACK=services)")
        for item in items:
            if item.get_closest_marker("services") or SERVICE_FIXTURES & set(item.fixturenames):
                item.add_marker(skip)


def pytest_terminal_summary(terminalreporter):
    counts = {outcome: len(terminalreporter.stats.get(outcome, [])) for outcome in ("passed", "failed", "skipped")}
    terminalreporter.write_line(
        f"stack {settings.TEST_STACK} ({settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}, "
        f"{settings.CACHES['default']['BACKEND'].rsplit('.', 1)[-1]}): "
        f"{counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped"
    )


@pytest.fixture(autouse=True)
def clean_cache():
    """Each test starts with no OTP state and no counters (only this run's key prefix is touched)."""
    _clear_cache()
    yield
    _clear_cache()


@pytest.fixture(autouse=True)
def closed_breakers():
    """A breaker a test tripped (a dependency it made fail) does not answer for the next test."""
    yield
    from accounts import counters
    from messaging import sending

    counters.breaker.open_until = sending.breaker.open_until = 0.0


@pytest.fixture(autouse=True)
def fresh_keyring():
    """Each test's signing keys are its own database's: this process's key cache reloads them."""
    from tokens.keys import keyring

    keyring.forget()
    yield
    keyring.forget()


def _clear_cache():
    if hasattr(cache, "delete_pattern"):
        cache.delete_pattern("*")
    else:
        cache.clear()


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


@pytest.fixture
def live_env(transactional_db, fake_twilio, request):
    """Environment for real server/celery processes on this test's database, cache prefix and queue."""
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
    for queue in (env["CELERY_TASK_DEFAULT_QUEUE"], f"{env['CELERY_TASK_DEFAULT_QUEUE']}.events"):
        forget_queue(env["CELERY_BROKER_URL"], queue)  # and messages no worker took


@pytest.fixture
def own_redis():
    server = RedisServer().start()
    yield server
    server.stop()


@pytest.fixture
def live_processes():
    started = []
    yield started
    for process in started:
        process.stop()


@pytest.fixture
def start_server(live_env, live_processes):
    def start(workers: int = 2, **env) -> WebServer:
        process = WebServer({**live_env, **env}, workers=workers)
        live_processes.append(process)
        return process

    return start


@pytest.fixture
def start_worker(live_env, live_processes):
    def start(pool: str = "solo", queues: str = "", **env) -> CeleryWorker:
        process = CeleryWorker({**live_env, **env}, pool=pool, queues=queues)
        live_processes.append(process)
        return process

    return start
