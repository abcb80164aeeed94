"""Test settings, on one of two stacks (``TEST_STACK``):

- ``services`` (default): the real PostgreSQL and Redis of this machine. pytest-django creates (and
  drops) its own database, named per run; Redis keys carry a per-run prefix in database 15 and live
  tests use per-test broker queues, so parallel runs and a developer's own data never meet.
- ``defaults``: exactly what ``make run`` uses (SQLite, the in-process cache, eager Celery, the
  console SMS backend); tests marked ``services`` are skipped.
"""

import os
import tempfile

TEST_STACK = os.environ.get("TEST_STACK", "services")
if TEST_STACK == "services":
    os.environ.setdefault("DATABASE_URL", f"postgres://postgres@127.0.0.1:5432/cheershare_{os.getpid()}")
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")
    os.environ.setdefault("CACHE_KEY_PREFIX", f"test-{os.getpid()}")
    os.environ.setdefault("SMS_BACKEND", "locmem")
elif TEST_STACK == "defaults":
    for name in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "SMS_BACKEND", "TOKEN_CACHE_SECONDS"):
        os.environ.pop(name, None)
else:
    raise RuntimeError(f"TEST_STACK={TEST_STACK!r}: use services or defaults")

from cheershare.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

if TEST_STACK == "defaults":
    # A file, as make run's db.sqlite3 is: an in-memory test database shares one cache between its
    # connections, and answers a writer that meets another "database table is locked" at once, where a
    # file makes it wait its turn (SQLite's busy timeout).
    test_file = os.path.join(tempfile.gettempdir(), f"cheershare-test-{os.getpid()}.sqlite3")
    DATABASES["default"]["TEST"] = {"NAME": test_file}  # noqa: F405
