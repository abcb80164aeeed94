"""Test settings: the project's settings on the real PostgreSQL and Redis of this machine.

pytest-django creates (and drops) its own database, named per run; Redis keys carry a per-run prefix
in database 15 and live tests use per-test broker queues, so parallel runs and a developer's own data
never meet.
"""

import os

os.environ.setdefault("DATABASE_URL", f"postgres://postgres@127.0.0.1:5432/cheershare_{os.getpid()}")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")
os.environ.setdefault("CACHE_KEY_PREFIX", f"test-{os.getpid()}")
os.environ.setdefault("SMS_BACKEND", "locmem")

from cheershare.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
