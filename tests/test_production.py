"""A production start that cannot be half-configured (issue 46): one check names every missing piece
at once, before anything serves; no silent in-process stand-in; /readyz tells the truth."""

import logging
import secrets
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from tests.helpers import request_code
from tests.live import ROOT, base_env

PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": secrets.token_urlsafe(50),
    "DATABASE_URL": "postgres://cheershare@127.0.0.1:5432/cheershare",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "CELERY_BROKER_URL": "amqp://guest:guest@127.0.0.1:5672//",
    "TWILIO_ACCOUNT_SID": "AC" + "1" * 32,
    "TWILIO_AUTH_TOKEN": "t" * 32,
    "TWILIO_MESSAGING_SERVICE_SID": "MG" + "1" * 32,
    "ALLOWED_HOSTS": "auth.example.com",
    "PUBLIC_BASE_URL": "https://auth.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://auth.example.com",
}
ALL_ERRORS = ["cheershare.E001", "cheershare.E002", "cheershare.E003", "cheershare.E004", "messaging.E001"]


def run(*command: str, **env: str) -> subprocess.CompletedProcess:
    clean = {key: value for key, value in base_env().items() if key not in {"DATABASE_URL", "REDIS_URL",
             "CELERY_BROKER_URL", "DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "PUBLIC_BASE_URL"}}  # fmt: skip
    return subprocess.run(
        [sys.executable, *command], cwd=ROOT, env={**clean, **env}, capture_output=True, text=True, timeout=60
    )


def test_check_deploy_names_every_missing_piece_at_once():
    result = run("manage.py", "check", "--deploy", DEBUG="0")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert all(check_id in result.stderr for check_id in ALL_ERRORS + ["cheershare.W001"]), result.stderr
    assert "HINT: Set DATABASE_URL" in result.stderr


@pytest.mark.parametrize(
    "missing, check_id",
    [
        ({"SECRET_KEY": "short"}, "cheershare.E001"),
        ({"DATABASE_URL": ""}, "cheershare.E002"),
        ({"REDIS_URL": ""}, "cheershare.E003"),
        ({"CELERY_BROKER_URL": ""}, "cheershare.E004"),
        ({"TWILIO_AUTH_TOKEN": ""}, "cheershare.E005"),
        ({"TWILIO_MESSAGING_SERVICE_SID": ""}, "cheershare.E006"),
        ({"ALLOWED_HOSTS": ","}, "cheershare.E007"),
        ({"PUBLIC_BASE_URL": "http://auth.example.com"}, "cheershare.W001"),
        ({"WEBHOOK_URL": "https://hooks.example.com/in"}, "events.E001"),
        ({"SMS_BACKEND": "console"}, "messaging.E001"),
    ],
)
def test_each_missing_piece_is_named(missing, check_id):
    result = run("manage.py", "check", "--deploy", "--fail-level", "WARNING", **{**PRODUCTION, **missing})
    assert result.returncode != 0 and check_id in result.stderr, result.stderr
    others = {line.split(")")[0].split("(")[-1] for line in result.stderr.splitlines() if "(cheershare." in line}
    assert others <= {check_id}, others  # only that one of ours


def test_a_complete_production_configuration_passes():
    result = run("manage.py", "check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_the_servers_refuse_to_start_listing_every_error():
    result = run("-c", "import cheershare.wsgi", DEBUG="0")
    assert result.returncode != 0
    assert all(check_id in result.stderr for check_id in ALL_ERRORS), result.stderr
    assert "This configuration cannot serve with DEBUG=0" in result.stderr


def test_the_development_defaults_need_nothing():
    assert run("manage.py", "check").returncode == 0


@pytest.mark.django_db
def test_an_unreachable_provider_in_a_development_run_answers_503_once_and_at_once(settings, caplog):
    """No worker: the send runs in the request and is not retried (it recursed before, 360 times)."""
    settings.SMS_BACKEND = "twilio"
    settings.TWILIO_ACCOUNT_SID = "AC" + "1" * 32
    settings.TWILIO_AUTH_TOKEN = "t" * 32
    settings.TWILIO_FROM_NUMBER = "+15005550006"
    settings.TWILIO_API_BASE_URL = "http://127.0.0.1:9"  # nothing listens: refused at once
    caplog.set_level(logging.INFO)
    started = time.monotonic()
    answer = request_code(APIClient())
    assert answer.status_code == 503 and answer.json()["code"] == "sms_unavailable"
    assert time.monotonic() - started < 5
    lines = [record.getMessage() for record in caplog.records if "not retried without a worker" in record.getMessage()]
    assert len(lines) == 1
    assert not any("Retry in" in record.getMessage() for record in caplog.records)


@pytest.mark.django_db
def test_readyz_is_unready_on_a_configuration_the_production_check_refuses(settings):
    settings.PRODUCTION_CHECKS = True
    answer = APIClient().get("/readyz")
    assert answer.status_code == 503
    checks = answer.json()["checks"]
    assert checks["broker"] == "refused: eager: no CELERY_BROKER_URL"
    assert "cheershare.E001" in checks["configuration"]
    assert checks["worker"] == "eager" and checks["beat"] == "eager"


@pytest.mark.django_db
def test_readyz_names_the_worker_and_beat_it_has_not_heard_from(settings):
    from messaging import heartbeat

    settings.CELERY_TASK_ALWAYS_EAGER = False
    heartbeat.beat(heartbeat.KEY)
    checks = APIClient().get("/readyz").json()["checks"]
    assert checks["worker"] == "ok" and checks["beat"] == "missing: no heartbeat yet"


def test_env_example_lists_every_setting_the_code_reads():
    from cheershare.environment import example, variables

    assert (ROOT / ".env.example").read_text() == example(), "run: python manage.py env_example > .env.example"
    names = set(variables())
    assert {"SECRET_KEY", "DATABASE_URL", "OTP_TTL", "TWILIO_AUTH_TOKEN", "WEBHOOK_SECRET", "GRANIAN_WORKERS"} <= names


def test_a_bad_host_answers_the_json_envelope_with_debug_too(settings):
    settings.DEBUG = True
    answer = APIClient().get("/healthz", HTTP_HOST="evil.example")
    assert answer.status_code == 400 and answer.json()["code"] == "bad_request"
    assert len(answer.content) < 200 and "X-Request-ID" in answer


def test_scripts_serve_refuses_to_start_before_any_worker():
    result = subprocess.run(
        [str(ROOT / "scripts" / "serve"), "--port", "1"],
        cwd=ROOT,
        env={**base_env(), "DEBUG": "0", "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "cheershare.E001" in result.stderr and "cheershare.E004" in result.stderr
    assert "Traceback" not in result.stderr
