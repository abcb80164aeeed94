"""Another service of the product (orders, say): no users of its own, no database; it trusts the
access tokens Cheershare Auth issues, checked one of two ways by the cheershare-client library
(clients/python: cheershare_client.drf)."""

import os

SECRET_KEY = os.environ.get("SECRET_KEY", "resource-server-example-only")
DEBUG = os.environ.get("DEBUG", "0") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = ["rest_framework"]
ROOT_URLCONF = "resource_server.urls"
DATABASES = {}
USE_TZ = True
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "UNAUTHENTICATED_USER": None,
}

# Where Cheershare Auth is, and what its tokens say (its JWT_ISSUER and JWT_AUDIENCE).
CHEERSHARE_URL = os.environ.get("CHEERSHARE_URL", "http://127.0.0.1:8000").rstrip("/")
CHEERSHARE_ISSUER = os.environ.get("CHEERSHARE_ISSUER", "cheershare")
CHEERSHARE_AUDIENCE = os.environ.get("CHEERSHARE_AUDIENCE", "cheershare")
CHEERSHARE_LEEWAY = int(os.environ.get("CHEERSHARE_LEEWAY", "30"))  # seconds of clock difference allowed
# A token naming a key not yet seen fetches the key set again, at most once per this many seconds.
CHEERSHARE_JWKS_COOLDOWN = float(os.environ.get("CHEERSHARE_JWKS_COOLDOWN", "5"))
# One of Cheershare's INTROSPECTION_SECRETS, and how long an answer is reused (revocation shows after it).
CHEERSHARE_INTROSPECTION_SECRET = os.environ.get("CHEERSHARE_INTROSPECTION_SECRET", "")
CHEERSHARE_INTROSPECTION_CACHE_SECONDS = int(os.environ.get("CHEERSHARE_INTROSPECTION_CACHE_SECONDS", "5"))
