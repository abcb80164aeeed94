"""The floor views. ``OpenView``: a DRF APIView as small as /v1/protected, with no authentication.

``LookupView``: a strict authenticated request done the plain way, a DRF view that hashes the bearer
token and reads its row, joined to its user, in one indexed SELECT through Django's cursor, on
Django's default database settings (the bare settings: no prepared statements, rows read as text).

The sign-in floors do the least the sign-in flow of issue 16 (item 2) can do on this stack, with none
of our rules: a two-field DRF serializer, one Redis script call, and then one Celery publish (a code
request) or one transaction of four single-row writes (a verify, or a refresh). Nothing is checked or limited, so
they tell how far the targets can be reached at all; they run on the bare settings.
"""

import functools
import hashlib
import os
import secrets
from datetime import UTC, datetime, timedelta

import redis
from celery import Celery
from django.db import connection, transaction
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

CODE_TTL = 300
STORE = """
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
local sends = redis.call('INCR', KEYS[2])
if sends == 1 then redis.call('EXPIRE', KEYS[2], 3600) end
return sends
"""
TAKE = "local state = redis.call('GET', KEYS[1]) redis.call('DEL', KEYS[1]) return state"
LOOKUP = (
    "SELECT tokens.id, tokens.scope, tokens.expiry, users.id, users.name FROM tokens"
    " JOIN users ON users.id = tokens.user_id WHERE tokens.hash = %s"
    " AND tokens.scope = 'authentication' AND tokens.expiry > %s AND users.is_active"
)
INSERT_SESSION = "INSERT INTO django_session (session_key, session_data, expire_date) VALUES (%s, %s, %s)"


class Open(APIView):
    """No authentication, no permission: every floor view starts here."""

    authentication_classes = []
    permission_classes = [AllowAny]


class OpenView(Open):
    def get(self, request):
        return Response({"data": "Protected"})


class LookupView(Open):
    def get(self, request):
        _scheme, _, key = request.headers.get("Authorization", "").partition(" ")
        with connection.cursor() as cursor:
            cursor.execute(LOOKUP, [hashlib.sha256(key.encode()).digest(), datetime.now(UTC)])
            row = cursor.fetchone()
        if row is None:
            return Response({"detail": "Invalid or expired token."}, status=401)
        return Response({"data": "Protected"})


class CodeRequestInput(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    phone_number = serializers.CharField(max_length=32)


class VerifyInput(serializers.Serializer):
    phone_number = serializers.CharField(max_length=32)
    otp = serializers.CharField(max_length=12)


class _Services:
    """A Redis client and a Celery app on the run's broker (made once, in the serving process: ``_services``)."""

    def __init__(self):
        self.redis = redis.Redis.from_url(os.environ["REDIS_URL"])
        self.store, self.take = self.redis.register_script(STORE), self.redis.register_script(TAKE)
        self.celery = Celery("bench-floor", broker=os.environ["CELERY_BROKER_URL"])
        self.celery.conf.update(
            task_default_queue=os.environ["CELERY_TASK_DEFAULT_QUEUE"],
            task_ignore_result=True,
            task_publish_retry=False,
        )


@functools.cache
def _services() -> _Services:
    return _Services()


def _key(phone: str) -> str:
    return f"{os.environ.get('CACHE_KEY_PREFIX', 'bench')}:floor:{phone}"


class CodeRequestFloor(Open):
    """Validate, keep a hashed code and count the send in one script, queue one task."""

    def post(self, request):
        data = CodeRequestInput(data=request.data)
        data.is_valid(raise_exception=True)
        phone, services = data.validated_data["phone_number"], _services()
        code, key = f"{secrets.randbelow(10**6):06d}", _key(phone)
        digest = hashlib.sha256(f"{phone}:{code}".encode()).digest()
        services.store(keys=[key, key + ":sends"], args=[digest, CODE_TTL])
        expires = datetime.now(UTC) + timedelta(seconds=CODE_TTL)
        services.celery.send_task("bench.floor.send", args=[phone, code], expires=expires, retry=False)
        return Response({"success": True, "expires_in": CODE_TTL})


class VerifyFloor(Open):
    """Validate, take the pending code in one script, write four rows in one transaction."""

    def post(self, request):
        data = VerifyInput(data=request.data)
        data.is_valid(raise_exception=True)
        _services().take(keys=[_key(data.validated_data["phone_number"])])
        expired = datetime.now(UTC) - timedelta(days=1)
        with transaction.atomic(), connection.cursor() as cursor:
            for _ in range(4):
                cursor.execute(INSERT_SESSION, [secrets.token_hex(16), "bench", expired])
        return Response({"success": True, "token": secrets.token_hex(13)})
