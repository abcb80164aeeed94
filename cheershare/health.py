"""Liveness (/healthz: the process serves) and readiness (/readyz: PostgreSQL, cache and broker answer,
and with DEBUG=0 the configuration passes the production check; it also reports whether a Celery
worker and beat are alive, which the web's readiness does not depend on)."""

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

from cheershare import production
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
        if settings.PRODUCTION_CHECKS:
            raise RuntimeError("eager: no CELERY_BROKER_URL")
        return
    with celery_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=1)


def _check_configuration() -> None:
    """With DEBUG=0, the production check's errors (cheershare.production) keep the server unready."""
    errors = [problem.id for problem in production.problems() if problem.is_serious()]
    if errors:
        raise RuntimeError(", ".join(errors))


CHECKS = {
    "database": _check_database,
    "cache": _check_cache,
    "broker": _check_broker,
    "configuration": _check_configuration,
}


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
        description="200 when the database, the cache and the message broker answer and (with DEBUG=0) the "
        "configuration passes the production check, else 503 `not_ready`; `checks` gives each one's state "
        "and whether a worker and Celery beat were heard from (which does not fail readiness).",
    )
    def get(self, request):
        checks = {}
        for name, check in CHECKS.items():
            try:
                check()
                checks[name] = "ok"
            except RuntimeError as exc:
                checks[name] = f"refused: {exc}"
            except Exception as exc:
                checks[name] = f"unavailable: {type(exc).__name__}"
        ready = all(state == "ok" for state in checks.values())
        checks["worker"] = _heard_from(heartbeat.KEY)
        checks["beat"] = _heard_from(heartbeat.BEAT_KEY)
        if ready:
            return Response({"status": "ok", "checks": checks})
        return Response(envelope(_("A dependency is unavailable."), "not_ready", checks=checks), status=503)


def _heard_from(key: str) -> str:
    try:
        return heartbeat.state(key)
    except Exception as exc:  # the cache is down: already reported above
        return f"unknown: {type(exc).__name__}"
