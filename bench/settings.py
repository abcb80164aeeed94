"""Benchmark settings: the product's, plus the peers (DRF authtoken, knox) and an open floor view."""

from cheershare.settings import *  # noqa: F403
from cheershare.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "rest_framework.authtoken", "knox"]
ROOT_URLCONF = "bench.urls"
REST_KNOX = {"TOKEN_TTL": None, "AUTO_REFRESH": False}
