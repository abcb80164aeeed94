"""One check, every problem, before serving: with DEBUG=0, each piece a production start needs and
lacks is a system-check Error with an id and a hint (so `manage.py check --deploy`, `migrate`,
`runserver`, the granian workers through `cheershare.wsgi` and the Celery worker all report the same
list at once); no in-process stand-in (SQLite, the in-process cache, eager Celery, the console SMS
backend) is taken silently. docs/operations.md has the table."""

from django.apps import apps
from django.conf import settings
from django.core.checks import Error, Warning, register, run_checks
from django.core.exceptions import ImproperlyConfigured


def problems() -> list:
    """Every problem of this configuration (none with DEBUG on: the defaults are for `make run`)."""
    if not getattr(settings, "PRODUCTION_CHECKS", False):
        return []
    from messaging.app_settings import app_settings as messaging

    found = [_secret_key(), _database(), _cache(), _broker(), *_sms(messaging), _hosts(), _public_url(messaging)]
    return [problem for problem in found if problem is not None]


@register(deploy=False)
def production_check(app_configs=None, **kwargs) -> list:
    return problems()


def refuse_to_serve() -> None:
    """For the servers that run no system check themselves (granian through wsgi, a Celery worker):
    run every check (this one and each app's settings check) and raise, listing every error at once."""
    errors = [problem for problem in run_checks() if problem.is_serious()]
    if errors:
        listed = "\n".join(f"  {error.id}: {error.msg} HINT: {error.hint or '-'}" for error in errors)
        raise ImproperlyConfigured(f"This configuration cannot serve with DEBUG=0:\n{listed}")


def _secret_key():
    key = settings.SECRET_KEY
    if key == settings.DEV_SECRET_KEY or len(key) < 50 or len(set(key)) < 5:
        return Error(
            "SECRET_KEY is unset, the development key, or weak.",
            hint="Set SECRET_KEY to 50+ random characters "
            "(python -c 'import secrets; print(secrets.token_urlsafe(50))').",
            id="cheershare.E001",
        )
    return None


def _database():
    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        return Error(
            "The database is SQLite (no DATABASE_URL).",
            hint="Set DATABASE_URL=postgres://user:password@host:5432/name.",
            id="cheershare.E002",
        )
    return None


def _cache():
    if "locmem" in settings.CACHES["default"]["BACKEND"].lower():
        return Error(
            "The cache is in-process (no REDIS_URL): every limit, code and lock would be per process.",
            hint="Set REDIS_URL=redis://host:6379/0 (or REDIS_SENTINELS).",
            id="cheershare.E003",
        )
    return None


def _broker():
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return Error(
            "No CELERY_BROKER_URL: every SMS and webhook would run inside the web request.",
            hint="Set CELERY_BROKER_URL=amqp://user:password@host:5672// and run a worker and beat.",
            id="cheershare.E004",
        )
    return None


def _sms(messaging) -> list:
    backend = messaging.sms_backend
    if backend in ("console", "locmem"):
        return []  # messaging.E001 refuses the console backend; locmem is the tests'
    if "." in backend and not backend.endswith("TwilioBackend"):
        return []  # a backend of your own checks itself
    found = []
    if not messaging.TWILIO_ACCOUNT_SID or not (
        messaging.TWILIO_AUTH_TOKEN or (messaging.TWILIO_API_KEY_SID and messaging.TWILIO_API_KEY_SECRET)
    ):
        found.append(
            Error(
                "The Twilio backend has no credentials.",
                hint="Set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN (or TWILIO_API_KEY_SID and TWILIO_API_KEY_SECRET).",
                id="cheershare.E005",
            )
        )
    if not (messaging.TWILIO_FROM_NUMBER or messaging.TWILIO_MESSAGING_SERVICE_SID):
        found.append(
            Error(
                "The Twilio backend has no sender.",
                hint="Set TWILIO_MESSAGING_SERVICE_SID (MG...) or TWILIO_FROM_NUMBER.",
                id="cheershare.E006",
            )
        )
    return found


def _hosts():
    if not [host for host in settings.ALLOWED_HOSTS if host]:
        return Error("ALLOWED_HOSTS is empty.", hint="Set ALLOWED_HOSTS=auth.example.com.", id="cheershare.E007")
    return None


def _public_url(messaging):
    if not messaging.PUBLIC_BASE_URL.startswith("https://"):
        return Warning(
            "PUBLIC_BASE_URL is unset or not https: no delivery callbacks, and passkeys work only on localhost.",
            hint="Set PUBLIC_BASE_URL=https://auth.example.com (a warning: TLS may end in front, and a "
            "staging run may use loopback).",
            id="cheershare.W001",
        )
    return None


def main() -> None:
    """``python -m cheershare.production``: exit 1, printing every error, if this configuration
    cannot serve (scripts/serve runs it before starting its workers)."""
    import os
    import sys

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cheershare.settings")
    django.setup()
    if not apps.is_installed("cheershare"):  # another settings module (the benchmark's bare floor)
        return
    try:
        refuse_to_serve()
    except ImproperlyConfigured as refusal:
        print(refusal, file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
