"""Settings: every knob is read here, once, from the environment (see README's table).

With nothing set, the defaults give a development run on SQLite, the in-process cache, eager Celery
and the console SMS backend. With DEBUG=0, unsafe development defaults are refused at start.
"""

import ipaddress
import os
import tomllib
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONCE, NONE, SELF
from kombu import Exchange, Queue

from accounts.app_settings import AccountSettings
from core.conf import from_environment, parse_bool, parse_host_port, parse_list, sentinel_location
from events.app_settings import EventSettings
from messaging.app_settings import MessagingSettings
from tokens.app_settings import TokenSettings

BASE_DIR = Path(__file__).resolve().parent.parent
with open(BASE_DIR / "pyproject.toml", "rb") as pyproject:
    VERSION = tomllib.load(pyproject)["project"]["version"]  # the release (CHANGELOG.md)
DEV_SECRET_KEY = "dev-insecure-cheershare-key-do-not-use-in-production"  # refused with DEBUG=0 (cheershare.production)


def env_bool(name: str, default: bool) -> bool:
    return parse_bool(os.environ.get(name, "1" if default else "0"))


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


def env_float(name: str, default: float) -> float:
    value = os.environ.get(name, "").strip()
    return float(value) if value else default


def env_list(name: str, default: str = "") -> list[str]:
    return parse_list(os.environ.get(name, default))


DEBUG = env_bool("DEBUG", True)
# The production check (cheershare.production) applies to a DEBUG=0 start; kept apart from DEBUG,
# which Django's test runner turns off on its own.
PRODUCTION_CHECKS = not DEBUG
SECRET_KEY = os.environ.get("SECRET_KEY", DEV_SECRET_KEY)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1")
SERVE_EXAMPLES = env_bool("SERVE_EXAMPLES", DEBUG)  # /examples/: the example pages of examples/web/

INSTALLED_APPS = [
    "cheershare",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "csp",
    "corsheaders",
    "messaging",
    "accounts",
    "tokens",
    "events",
]

MIDDLEWARE = [
    "cheershare.middleware.RequestIDMiddleware",
    "cheershare.middleware.RequestBodyMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "cheershare.middleware.AdminOnlySessionMiddleware",
    "cheershare.middleware.LanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "cheershare.middleware.AdminOnlyAuthenticationMiddleware",
    "cheershare.middleware.AdminOnlyMessageMiddleware",
    "cheershare.middleware.AdminOnlyCSPMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

# Browser clients on other origins (django-cors-headers): none allowed unless listed. A preflight is
# answered by the middleware (never by a view); the refresh cookie needs credentials allowed.
CORS_ALLOWED_ORIGINS = env_list("CORS_ALLOWED_ORIGINS", "")
CORS_URLS_REGEX = r"^/(?!admin/|static/).*$"
CORS_ALLOW_HEADERS = ("authorization", "content-type", "x-request-id", "accept-language", "x-cheershare-refresh")
CORS_EXPOSE_HEADERS = ("retry-after", "x-request-id")
CORS_ALLOW_CREDENTIALS = env_bool("REFRESH_COOKIE", False)
CORS_PREFLIGHT_MAX_AGE = 600

# The admin's pages (the only HTML served) send this policy (django-csp, cheershare.middleware):
# nothing but this origin's scripts, styles and images, no framing; a page's own <style> carries
# the request's nonce.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

ROOT_URLCONF = "cheershare.urls"
WSGI_APPLICATION = "cheershare.wsgi.application"
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "cheershare" / "templates"],  # admin/base_site.html: the worker banner
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "messaging.context_processors.worker",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=env_int("CONN_MAX_AGE", 600),
        conn_health_checks=env_bool("CONN_HEALTH_CHECKS", False),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    server_side_binding = env_bool("DATABASE_SERVER_SIDE_BINDING", True)
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        connect_timeout=env_int("DATABASE_CONNECT_TIMEOUT", 2),
        # Server-side binding lets psycopg prepare repeated statements (the token lookup above all);
        # set DATABASE_SERVER_SIDE_BINDING=0 behind a transaction-pooling PgBouncer.
        server_side_binding=server_side_binding,
        prepare_threshold=5 if server_side_binding else None,
    )
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # BEGIN IMMEDIATE: a transaction takes the write lock when it starts, so concurrent writers queue
    # (for up to 20 s) instead of failing with "database is locked" when they upgrade a read.
    DATABASES["default"].setdefault("OPTIONS", {}).update(transaction_mode="IMMEDIATE", timeout=20)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

# The admin login (the only password login) is rate-limited by django-axes: after
# ADMIN_LOGIN_MAX_FAILURES wrong passwords, per account and per client address, 429 for
# ADMIN_LOGIN_COOLOFF_MINUTES. `manage.py axes_reset_username <phone>` lifts a lock early.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = env_int("ADMIN_LOGIN_MAX_FAILURES", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("ADMIN_LOGIN_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_USERNAME_FORM_FIELD = "username"  # the admin form's field (axes would read USERNAME_FIELD)
AXES_CLIENT_IP_CALLABLE = "core.client_ip.client_ip"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False

REDIS_URL = os.environ.get("REDIS_URL", "")
CACHE_KEY_PREFIX = os.environ.get("CACHE_KEY_PREFIX", "cheershare")
# Redis Sentinel: the cache (and a sentinel:// broker) follow the primary the sentinels name. REDIS_URL
# then gives only the database number and password; its host is the primary's name, as django-redis
# reads it. Every new connection asks the sentinels where the primary is, so a failover costs the
# requests that were on the old one.
REDIS_SENTINELS = [parse_host_port(item) for item in env_list("REDIS_SENTINELS")]
REDIS_SENTINEL_MASTER = os.environ.get("REDIS_SENTINEL_MASTER", "mymaster")
if REDIS_SENTINELS:
    REDIS_URL = sentinel_location(REDIS_URL or "redis:///0", REDIS_SENTINEL_MASTER)
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": CACHE_KEY_PREFIX,
            "OPTIONS": {
                # Fail closed: a Redis outage must never silently switch limits off.
                # Short: only sign-in needs Redis, and a breaker (accounts.counters) stops asking a
                # Redis that timed out for a few seconds, so a stall costs other routes little.
                "SOCKET_CONNECT_TIMEOUT": env_float("REDIS_SOCKET_TIMEOUT", 0.5),
                "SOCKET_TIMEOUT": env_float("REDIS_SOCKET_TIMEOUT", 0.5),
            },
        }
    }
    if REDIS_SENTINELS:  # reads and writes both go to the primary: a replica's counts may lag
        CACHES["default"]["OPTIONS"].update(
            CONNECTION_FACTORY="django_redis.pool.SentinelConnectionFactory", SENTINELS=REDIS_SENTINELS
        )
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "KEY_PREFIX": CACHE_KEY_PREFIX,
            # Limits and gates live here: Django's default of 300 entries would cull them (a closed
            # range reopened by a busy minute).
            "OPTIONS": {"MAX_ENTRIES": 1_000_000},
        }
    }

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("hi", "Hindi")]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "UTC"
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = os.environ.get("STATIC_ROOT") or None  # set for collectstatic (the Dockerfile does)
WHITENOISE_USE_FINDERS = True  # admin and Swagger UI assets served without collectstatic or a CDN

DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
# Seconds a request's whole body may take to arrive before the server answers 408 (cheershare.asgi).
BODY_READ_TIMEOUT = env_int("BODY_READ_TIMEOUT", 10)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["tokens.authentication.BearerTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["core.parsers.JSONObjectParser"],
    "DEFAULT_RENDERER_CLASSES": ["core.renderers.FastJSONRenderer"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "core.negotiation.RememberingContentNegotiation",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "core.errors.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # How many X-Forwarded-For hops to trust for the client address (DRF's get_ident).
    "NUM_PROXIES": env_int("TRUSTED_PROXY_COUNT", 0),
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Cheershare Auth",
    "DESCRIPTION": "Phone-number sign-in: a one-time code by SMS, then a bearer token.",
    "VERSION": VERSION,
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

# Celery: with no broker, tasks run in-process (a development run needs no worker).
CELERY_TASK_ALWAYS_EAGER = not os.environ.get("CELERY_BROKER_URL")
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL") or "memory://localhost/"
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CELERY_TASK_DEFAULT_QUEUE", "celery")
# Webhook deliveries have a queue of their own, so a slow receiver never holds a sign-in code behind
# it. A worker started without -Q takes both queues; `-Q <default>` and `-Q <events>` split them.
CELERY_EVENTS_QUEUE = os.environ.get("CELERY_EVENTS_QUEUE", f"{CELERY_TASK_DEFAULT_QUEUE}.events")
CELERY_TASK_QUEUES = [
    Queue(name, Exchange(name), routing_key=name) for name in (CELERY_TASK_DEFAULT_QUEUE, CELERY_EVENTS_QUEUE)
]
CELERY_TASK_ROUTES = {"events.tasks.*": {"queue": CELERY_EVENTS_QUEUE, "routing_key": CELERY_EVENTS_QUEUE}}
# Seconds a connection to the broker, or a publish and its confirm, may take (a code request waits for
# it); after a failure, each server process answers code requests 503 for 5 s without asking.
CELERY_BROKER_CONNECTION_TIMEOUT = env_float("BROKER_TIMEOUT", 0.5)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "socket_connect_timeout": 1,
    "socket_timeout": 2,
    "max_retries": 0,
    # RabbitMQ (pyamqp): a publish returns only once the broker has the message (publisher confirms),
    # so a code answered 200 is in a durable queue, not in a socket buffer. Redis's transport ignores it.
    "confirm_publish": True,
    # A Redis broker hands a message that its worker never acknowledged (the worker died) to another
    # after this many seconds. Keep it under OTP_TTL, or the code expires before it is sent again,
    # and over the longest send plus retry countdown, or a slow message is sent twice.
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 60),
    "unacked_restore_interval": 5,
    "unacked_restore_throttle": 1,
}
if CELERY_BROKER_URL.startswith("sentinel://"):  # sentinel://host:port/db;sentinel://...: the primary by name
    CELERY_BROKER_TRANSPORT_OPTIONS["master_name"] = REDIS_SENTINEL_MASTER
CELERY_WORKER_PREFETCH_MULTIPLIER = 1  # late acks: a worker holds only the messages it is sending
CELERY_TASK_PUBLISH_RETRY = False
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE = {
    # webhooks: events a broker outage kept from being queued, and every retry that is due
    "events-sweep": {"task": "events.tasks.sweep", "schedule": env_int("EVENTS_SWEEP_SECONDS", 5)},
}
PURGE_EVERY = env_int("PURGE_EVERY", 3600)  # seconds between beat's purges (0: none; run the commands from cron)
if PURGE_EVERY > 0:
    for task in (
        "tokens.tasks.purge_expired_tokens",  # expired tokens, ended sessions
        "messaging.tasks.purge_old_delivery_records",  # message records past DELIVERY_RETENTION_DAYS
        "events.tasks.purge_events",  # webhook events past EVENTS_RETENTION_DAYS
        "accounts.tasks.purge_known_devices",  # expired device tokens
    ):
        CELERY_BEAT_SCHEDULE[task] = {"task": task, "schedule": PURGE_EVERY}

# The apps' own knobs (OTP_*, SMS_*, TWILIO_*, TOKEN_*, ...): declared with their defaults in each
# app's app_settings module; only the ones the environment sets are added here.
globals().update(from_environment(os.environ, AccountSettings, MessagingSettings, TokenSettings, EventSettings))

METRICS_ENABLED = env_bool("METRICS_ENABLED", True)
# Who may read /metrics: these networks (default loopback), or a scraper sending "Bearer <METRICS_TOKEN>".
METRICS_ALLOWED_IPS = [
    ipaddress.ip_network(item, strict=False) for item in env_list("METRICS_ALLOWED_IPS", "127.0.0.1/32,::1/128")
]
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")
PROMETHEUS_MULTIPROC_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")

# Production hardening (all on when DEBUG is off; see README "Deploying").
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("SECURE_PROXY_SSL", False) else None
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
# The admin's forms: the public origin is trusted when nothing else is named.
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS") or env_list("PUBLIC_BASE_URL").copy()
CSRF_TRUSTED_ORIGINS = [origin.rstrip("/") for origin in CSRF_TRUSTED_ORIGINS]

LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "core.logs.JSONFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.server": {"level": "WARNING"},
        "twilio.http_client": {"level": "WARNING"},
    },
}
