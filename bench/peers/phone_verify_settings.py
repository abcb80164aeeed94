"""django-phone-verify: POST /phone/register sends a code and returns a session token, POST
/phone/verify checks it. Its backend here sends nothing (bench.peers.silent_backend)."""

from bench.peers.common import *  # noqa: F403
from bench.peers.common import BASE_APPS

INSTALLED_APPS = [*BASE_APPS, "phone_verify"]
ROOT_URLCONF = "bench.peers.phone_verify_urls"
PHONE_VERIFICATION = {
    "BACKEND": "bench.peers.silent_backend.SilentBackend",
    "OPTIONS": {},
    "TOKEN_LENGTH": 6,
    "MESSAGE": "Welcome to {app}! Please use security code {security_code} to proceed.",
    "APP_NAME": "Bench",
    "SECURITY_CODE_EXPIRATION_TIME": 300,
    "VERIFY_SECURITY_CODE_ONLY_ONCE": True,
}
