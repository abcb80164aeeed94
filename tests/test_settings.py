import subprocess
import sys

import pytest

from tests.live import ROOT, base_env
from tests.test_production import PRODUCTION


def start_django(**env) -> subprocess.CompletedProcess:
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "from messaging.app_settings import app_settings as a; "
        "print(s.DATABASES['default']['ENGINE'], s.CACHES['default']['BACKEND'], "
        "s.CELERY_TASK_ALWAYS_EAGER, a.sms_backend)"
    )
    clean = {
        k: v
        for k, v in base_env().items()
        if k not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "DEBUG", "SECRET_KEY"}
    }
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**clean, **env}, capture_output=True, text=True)


def test_defaults_need_no_services():
    result = start_django()
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.db.backends.sqlite3",
        "django.core.cache.backends.locmem.LocMemCache",
        "True",
        "console",
    ]


def test_twilio_is_default_backend_when_credentials_are_set():
    assert start_django(TWILIO_ACCOUNT_SID="AC123").stdout.split()[-1] == "twilio"


@pytest.mark.parametrize(
    "env, message",
    [
        ({"SECRET_KEY": ""}, "SECRET_KEY"),
        ({"SMS_BACKEND": "console"}, "SMS_BACKEND=console"),
        ({"OTP_TEST_NUMBERS": "+919000000000:123456"}, "OTP_TEST_NUMBERS"),
    ],
)
def test_production_refuses_unsafe_defaults(env, message):
    result = start_server_module(**{**PRODUCTION, **env})
    assert result.returncode != 0 and message in result.stderr


def test_production_starts_with_safe_settings():
    result = start_server_module(
        **PRODUCTION, OTP_TEST_NUMBERS="+919000000000:123456", OTP_TEST_NUMBERS_IN_PRODUCTION="1"
    )
    assert result.returncode == 0, result.stderr


def start_server_module(**env) -> subprocess.CompletedProcess:
    """Import what the servers import (cheershare.wsgi), as a production start would."""
    clean = {k: v for k, v in base_env().items() if k not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"}}
    command = [sys.executable, "-c", "import cheershare.wsgi"]
    return subprocess.run(command, cwd=ROOT, env={**clean, **env}, capture_output=True, text=True)


def test_celery_keeps_the_values_django_settings_give_it(settings):
    """Celery resolves its settings once (cheershare.celery): what it holds is what settings.py says."""
    from cheershare.celery import app

    expected = {
        "broker_url": settings.CELERY_BROKER_URL,
        "task_always_eager": settings.CELERY_TASK_ALWAYS_EAGER,
        "task_default_queue": settings.CELERY_TASK_DEFAULT_QUEUE,
        "worker_prefetch_multiplier": 1,
        "broker_transport_options": settings.CELERY_BROKER_TRANSPORT_OPTIONS,
        "task_ignore_result": True,
        "beat_schedule": settings.CELERY_BEAT_SCHEDULE,
    }
    assert {key: app.conf[key] for key in expected} == expected
    assert app.conf.task_serializer == "json"  # one of Celery's own defaults, kept too


def test_app_settings_follow_every_settings_change(settings):
    """Knob values are remembered between reads, and forgotten whenever Django swaps its settings
    object: set, changed again, deleted (back to the default), and restored by override_settings."""
    from django.test import override_settings

    from accounts.app_settings import app_settings

    default = type(app_settings).OTP_TTL.default
    del settings.OTP_TTL
    assert app_settings.OTP_TTL == default
    settings.OTP_TTL = 120
    assert app_settings.OTP_TTL == 120
    settings.OTP_TTL = 90
    assert app_settings.OTP_TTL == 90
    with override_settings(OTP_TTL=45):
        assert app_settings.OTP_TTL == 45
    assert app_settings.OTP_TTL == 90
    del settings.OTP_TTL
    assert app_settings.OTP_TTL == default
