"""Liveness (/healthz: the process serves) and readiness (/readyz: PostgreSQL, cache and broker answer;
it also reports whether a Celery worker is alive, which the web's readiness does not depend on)."""

import uuid

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from cheershare.celery import app as celery_app
from core.errors import envelope
from messaging import heartbeat


class HealthView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(
        responses={
            200: inline_serializer("Health", {"status": serializers.CharField(), "version": serializers.CharField()})
        },
        description="200 while the process serves, with the server's version.",
    )
    def get(self, request):
        return Response({"status": "ok", "version": settings.VERSION})


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _check_cache() -> None:
    key = f"readyz:{uuid.uuid4().hex}"
    cache.set(key, 1, 5)
    if cache.get(key) != 1:
        raise RuntimeError("cache did not keep a value")
    cache.delete(key)


def _check_broker() -> None:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return
    with celery_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=1)


CHECKS = {"database": _check_database, "cache": _check_cache, "broker": _check_broker}


class ReadyView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(
        responses={
            (200, "application/json"): inline_serializer(
                "Ready",
                {"status": serializers.CharField(), "checks": serializers.DictField(child=serializers.CharField())},
            ),
            (503, "application/json"): inline_serializer(
                "NotReady",
                {
                    "success": serializers.BooleanField(),
                    "error": serializers.CharField(),
                    "code": serializers.ChoiceField(["not_ready"]),
                    "checks": serializers.DictField(child=serializers.CharField()),
                },
            ),
        },
        description="200 when the database, the cache and the message broker answer, else 503 `not_ready`; "
        "`checks` gives each one's state and the SMS worker's (which does not fail readiness).",
    )
    def get(self, request):
        checks = {}
        for name, check in CHECKS.items():
            try:
                check()
                checks[name] = "ok"
            except Exception as exc:
                checks[name] = f"unavailable: {type(exc).__name__}"
        ready = all(state == "ok" for state in checks.values())
        checks["worker"] = _worker_state()
        if ready:
            return Response({"status": "ok", "checks": checks})
        return Response(envelope(_("A dependency is unavailable."), "not_ready", checks=checks), status=503)


def _worker_state() -> str:
    try:
        return heartbeat.state()
    except Exception as exc:  # the cache is down: already reported above
        return f"unknown: {type(exc).__name__}"
