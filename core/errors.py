"""The one JSON error envelope: a DRF exception handler plus handlers for Django's own errors.

Every error on every route reads ``{"success": false, "error": ..., "code": ..., "fields"?: {...}}``.
"""

import logging

from django.core.exceptions import PermissionDenied
from django.db import DatabaseError
from django.http import Http404, JsonResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from redis.exceptions import RedisError
from rest_framework import exceptions, status
from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger("core.errors")


class ServiceUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = _lazy("The service is temporarily unavailable, please retry shortly.")
    default_code = "service_unavailable"


def envelope(error: str, code: str, fields: dict | None = None, **extra) -> dict:
    body = {"success": False, "error": str(error), "code": code, **extra}
    if fields:
        body["fields"] = fields
    return body


def _fields(detail) -> dict:
    if isinstance(detail, dict):
        return {key: _fields_list(value) for key, value in detail.items()}
    return {"non_field_errors": _fields_list(detail)}


def _fields_list(value) -> list:
    if isinstance(value, dict):
        return [f"{key}: {message}" for key, messages in value.items() for message in _fields_list(messages)]
    if isinstance(value, list):
        return [message for item in value for message in _fields_list(item)]
    return [str(value)]


def exception_handler(exc, context):
    """Turn any exception raised in a DRF view into the envelope (unknown ones stay 500s)."""
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, (RedisError, DatabaseError)):
        logger.error("dependency unavailable: %s", type(exc).__name__)
        exc = ServiceUnavailable()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        body = envelope(_("Invalid input."), "invalid", _fields(exc.detail))
    else:
        body = envelope(exc.detail, exc.get_codes(), **getattr(exc, "extra", {}))
    if response.status_code == status.HTTP_429_TOO_MANY_REQUESTS and "Retry-After" in response:
        body["retry_after"] = int(response["Retry-After"])
    response.data = body
    return response


def _json_error(status_code: int, error: str, code: str) -> JsonResponse:
    return JsonResponse(envelope(error, code), status=status_code)


def bad_request(request, exception=None):
    return _json_error(400, _("Bad request."), "bad_request")


def permission_denied(request, exception=None):
    return _json_error(403, _("You do not have permission to perform this action."), "permission_denied")


def not_found(request, exception=None):
    return _json_error(404, _("Not found."), "not_found")


def server_error(request):
    return _json_error(500, _("Internal server error."), "server_error")
