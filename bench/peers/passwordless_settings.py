"""django-rest-passwordless, mobile flow: POST /auth/mobile/ sends a code, POST /auth/token/ trades
it for a DRF token. Its own SMS call is suppressed (PASSWORDLESS_TEST_SUPPRESSION): nothing is sent."""

from bench.peers.common import *  # noqa: F403
from bench.peers.common import BASE_APPS

INSTALLED_APPS = [*BASE_APPS, "rest_framework.authtoken", "drfpasswordless", "bench.peers.users"]
AUTH_USER_MODEL = "users.PeerUser"
ROOT_URLCONF = "bench.peers.passwordless_urls"
PASSWORDLESS_AUTH = {
    "PASSWORDLESS_AUTH_TYPES": ["MOBILE"],
    "PASSWORDLESS_MOBILE_NOREPLY_NUMBER": "+15005550006",
    "PASSWORDLESS_TEST_SUPPRESSION": True,
}
