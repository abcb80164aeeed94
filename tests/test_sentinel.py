"""Redis Sentinel (issue 31, item 6): REDIS_SENTINELS and REDIS_SENTINEL_MASTER point the cache, the
revocation feed and a sentinel:// broker at whichever server the sentinels name as primary."""

import re
import subprocess
import sys

import pytest

from tests.live import ROOT, SentinelCluster, base_env, request, wait_until

pytestmark = pytest.mark.live


def settings_under(**env) -> list[str]:
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "c = s.CACHES['default']; print(c['LOCATION']); print(c['OPTIONS'].get('SENTINELS')); "
        "print(c['OPTIONS'].get('CONNECTION_FACTORY')); print(s.CELERY_BROKER_TRANSPORT_OPTIONS.get('master_name'))"
    )
    clean = {k: v for k, v in base_env().items() if k not in {"REDIS_URL", "CELERY_BROKER_URL"}}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**clean, **env}, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def test_the_sentinels_name_the_primary_and_the_url_keeps_its_password_and_database():
    assert settings_under(
        REDIS_SENTINELS="127.0.0.1:26379, [::1]:26380",
        REDIS_SENTINEL_MASTER="cheershare",
        REDIS_URL="redis://:secret@ignored:6379/3",
        CELERY_BROKER_URL="sentinel://127.0.0.1:26379/1;sentinel://[::1]:26380/1",
    ) == [
        "redis://:secret@cheershare/3",
        "[('127.0.0.1', 26379), ('::1', 26380)]",
        "django_redis.pool.SentinelConnectionFactory",
        "cheershare",
    ]


def test_without_sentinels_nothing_changes():
    assert settings_under(REDIS_URL="redis://127.0.0.1:6379/3", CELERY_BROKER_URL="redis://127.0.0.1:6379/1") == [
        "redis://127.0.0.1:6379/3",
        "None",
        "None",
        "None",
    ]


def test_a_malformed_sentinel_address_is_refused_at_start():
    clean = {k: v for k, v in base_env().items() if k != "REDIS_URL"}
    done = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT, env={**clean, "REDIS_SENTINELS": "127.0.0.1"}, capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode != 0 and "'127.0.0.1' is not host:port" in done.stderr


@pytest.fixture
def sentinels():
    cluster = SentinelCluster().start()
    yield cluster
    cluster.stop()


def test_sign_in_and_revocation_follow_a_failover(start_server, start_worker, fake_twilio, sentinels):
    """The primary is killed: the sentinels promote the replica, and the server, the worker (through
    its sentinel:// broker) and the revocation feed carry on against it."""
    env = dict(
        REDIS_URL="redis:///0",
        REDIS_SENTINELS=sentinels.addresses,
        REDIS_SENTINEL_MASTER=sentinels.MASTER,
        CELERY_BROKER_URL=sentinels.broker_url(1),
        TOKEN_CACHE_SECONDS="60",
    )
    start_worker(pool="threads", **env)
    server = start_server(**env)

    def sign_in(phone: str) -> str:
        assert request(server.url + "/v1/signup", {"name": "Asha", "phone_number": phone})[0] == 200
        wait_until(lambda: any(m["To"] == phone for m in fake_twilio.messages), timeout=30, what="the SMS")
        body = next(m["Body"] for m in fake_twilio.messages if m["To"] == phone)
        code = re.search(r"password is (\d{6})", body).group(1)
        status, answer, _ = request(server.url + "/v1/signup", {"phone_number": phone, "otp": code})
        assert status == 200, answer
        return answer["token"]

    before = sign_in("+919876500001")
    assert sentinels.primary.cli("dbsize") != "0"  # the cache and the queue live on the primary
    sentinels.primary.kill()
    wait_until(lambda: sentinels.primary_port() == sentinels.replica.port, timeout=30, what="the failover")
    wait_until(lambda: request(server.url + "/readyz")[0] == 200, timeout=10, what="the server to follow")
    after = sign_in("+919876500002")
    me = lambda token: request(server.url + "/v1/me", headers={"Authorization": f"Bearer {token}"})[0]  # noqa: E731
    assert me(before) == me(after) == 200
    assert request(server.url + "/v1/logout", {}, headers={"Authorization": f"Bearer {after}"})[0] == 200
    wait_until(lambda: me(after) == 401, timeout=5, what="the revocation to reach every server worker")
