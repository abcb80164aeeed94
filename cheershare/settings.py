"""Settings: every knob is read here, once, from the environment (see README's table).

With nothing set, the defaults give a development run on SQLite, the in-process cache, eager Celery
and the console SMS backend. With DEBUG=0, unsafe development defaults are refused at start.
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
DEV_SECRET_KEY = "dev-insecure-cheershare-key-do-not-use-in-production"


def env_bool(name: str, default: bool) -> bool:
    return os.environ.get(name, "1" if default else "0").strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", True)
SECRET_KEY = os.environ.get("SECRET_KEY", DEV_SECRET_KEY)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "accounts",
    "tokens",
]

MIDDLEWARE = [
    "cheershare.middleware.RequestIDMiddleware",
    "cheershare.middleware.RequestBodyMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "cheershare.urls"
WSGI_APPLICATION = "cheershare.wsgi.application"
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("CONN_MAX_AGE", 600),
        conn_health_checks=True,
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
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

REDIS_URL = os.environ.get("REDIS_URL", "")
CACHE_KEY_PREFIX = os.environ.get("CACHE_KEY_PREFIX", "cheershare")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": CACHE_KEY_PREFIX,
            "OPTIONS": {
                # Fail closed: a Redis outage must never silently switch limits off.
                "SOCKET_CONNECT_TIMEOUT": 1,
                "SOCKET_TIMEOUT": 1,
            },
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "KEY_PREFIX": CACHE_KEY_PREFIX,
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

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["tokens.authentication.BearerTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["cheershare.parsers.JSONObjectParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "cheershare.errors.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Cheershare Auth",
    "DESCRIPTION": "Phone-number sign-in: a one-time code by SMS, then a bearer token.",
    "VERSION": "1.0.0",
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
CELERY_BROKER_CONNECTION_TIMEOUT = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "socket_connect_timeout": 1,
    "socket_timeout": 2,
    "max_retries": 0,
    "visibility_timeout": 3600,
}
CELERY_TASK_PUBLISH_RETRY = False
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE = (
    {
        "purge-expired-tokens": {
            "task": "tokens.tasks.purge_expired_tokens",
            "schedule": env_int("PURGE_EXPIRED_TOKENS_EVERY", 3600),
        }
    }
    if env_bool("PURGE_EXPIRED_TOKENS_BEAT", False)
    else {}
)

# SMS delivery.
TWILIO_ACCOUNT_SID = os.environ.get("TWILIO_ACCOUNT_SID", "")
TWILIO_AUTH_TOKEN = os.environ.get("TWILIO_AUTH_TOKEN", "")
TWILIO_API_KEY_SID = os.environ.get("TWILIO_API_KEY_SID", "")
TWILIO_API_KEY_SECRET = os.environ.get("TWILIO_API_KEY_SECRET", "")
TWILIO_FROM_NUMBER = os.environ.get("TWILIO_FROM_NUMBER", "")
TWILIO_MESSAGING_SERVICE_SID = os.environ.get("TWILIO_MESSAGING_SERVICE_SID", "")
TWILIO_API_BASE_URL = os.environ.get("TWILIO_API_BASE_URL", "https://api.twilio.com")
TWILIO_HTTP_TIMEOUT = env_int("TWILIO_HTTP_TIMEOUT", 10)
SMS_BACKEND = os.environ.get("SMS_BACKEND", "twilio" if TWILIO_ACCOUNT_SID else "console")
SMS_MESSAGE_TEMPLATE = os.environ.get("SMS_MESSAGE_TEMPLATE", "")
SMS_DO_NOT_SHARE_WARNING = env_bool("SMS_DO_NOT_SHARE_WARNING", False)
SMS_MAX_RETRIES = env_int("SMS_MAX_RETRIES", 3)
SMS_RETRY_BACKOFF = env_int("SMS_RETRY_BACKOFF", 2)
SMS_MAX_PER_HOUR = env_int("SMS_MAX_PER_HOUR", 0)
SMS_MAX_PER_COUNTRY_PER_HOUR = env_int("SMS_MAX_PER_COUNTRY_PER_HOUR", 0)
SMS_ALLOWED_REGIONS = [region.upper() for region in env_list("SMS_ALLOWED_REGIONS")]

# One-time codes.
OTP_LENGTH = env_int("OTP_LENGTH", 6)
OTP_TTL = env_int("OTP_TTL", 300)
OTP_MAX_ATTEMPTS = env_int("OTP_MAX_ATTEMPTS", 5)
OTP_RESEND_COOLDOWN = env_int("OTP_RESEND_COOLDOWN", 60)
OTP_MAX_SENDS_PER_HOUR = env_int("OTP_MAX_SENDS_PER_HOUR", 5)
OTP_MAX_SENDS_PER_IP_PER_HOUR = env_int("OTP_MAX_SENDS_PER_IP_PER_HOUR", 30)
OTP_TEST_NUMBERS = dict(item.partition(":")[::2] for item in env_list("OTP_TEST_NUMBERS"))
if any(not code for code in OTP_TEST_NUMBERS.values()):
    raise ImproperlyConfigured("OTP_TEST_NUMBERS entries read number:code, e.g. +919000000000:123456.")
OTP_TEST_NUMBERS_IN_PRODUCTION = env_bool("OTP_TEST_NUMBERS_IN_PRODUCTION", False)

PHONE_DEFAULT_REGION = os.environ.get("PHONE_DEFAULT_REGION", "IN").upper()
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)

# Tokens.
TOKEN_TTL = env_int("TOKEN_TTL", 172800)
TOKEN_LAST_USED_INTERVAL = env_int("TOKEN_LAST_USED_INTERVAL", 60)
TOKEN_CACHE_SECONDS = env_int("TOKEN_CACHE_SECONDS", 0)
TOKEN_CACHE_SIZE = env_int("TOKEN_CACHE_SIZE", 10000)

METRICS_ENABLED = env_bool("METRICS_ENABLED", True)
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
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "cheershare.logs.JSONFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.server": {"level": "WARNING"},
        "twilio.http_client": {"level": "WARNING"},
    },
}

if not DEBUG:
    if SECRET_KEY == DEV_SECRET_KEY or len(SECRET_KEY) < 32:
        raise ImproperlyConfigured("Set SECRET_KEY (32+ characters): the development key is refused when DEBUG=0.")
    if SMS_BACKEND == "console":
        raise ImproperlyConfigured("SMS_BACKEND=console prints codes to the log and is refused when DEBUG=0.")
    if OTP_TEST_NUMBERS and not OTP_TEST_NUMBERS_IN_PRODUCTION:
        raise ImproperlyConfigured("OTP_TEST_NUMBERS is refused when DEBUG=0 unless OTP_TEST_NUMBERS_IN_PRODUCTION=1.")
