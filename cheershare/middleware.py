"""Request-wide middleware: a request id on every response and log line, one access log line
per request, the body rules (413 over 1 MiB, 415 for non-JSON) answered before anything reads it,
the request's language, and the admin's own middleware kept to the admin's pages."""

import re
import secrets
import time

from csp.middleware import CSPMiddleware
from django.conf import settings
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.core.exceptions import DisallowedHost
from django.http import JsonResponse
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _

from cheershare import metrics
from core import logs
from core.errors import bad_request, envelope

SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
ADMIN_PATH = "/admin/"


class RequestIDMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        sent = request.META.get("HTTP_X_REQUEST_ID", "")
        request.id = sent if SANE_REQUEST_ID.match(sent) else secrets.token_hex(16)
        token = logs.request_id.set(request.id)
        try:
            response = _bad_host(request) or self.get_response(request)
            response["X-Request-ID"] = request.id
            duration = time.perf_counter() - started
            route = _route(request)
            metrics.observe_request(request.method, route, response.status_code, duration)
            user = getattr(request, "user", None)
            logs.access_line(
                request_id=request.id,
                method=request.method,
                path=request.path,
                route=route,
                status=response.status_code,
                duration_ms=round(duration * 1000, 2),
                user_id=user.pk if user is not None and user.is_authenticated else None,
            )
            return response
        finally:
            logs.request_id.reset(token)


def _bad_host(request):
    """A Host that is not allowed answers in the JSON envelope here, with DEBUG too (Django's own
    answer with DEBUG is its HTML debug page)."""
    try:
        request.get_host()
    except DisallowedHost:
        return bad_request(request)
    return None


def _route(request) -> str:
    match = getattr(request, "resolver_match", None)
    return match.route if match is not None and match.route else "<unmatched>"


class RequestBodyMiddleware:
    """API bodies: over 1 MiB is 413, and a POST/PUT/PATCH body that is not JSON is 415, on every API
    route, whether or not its view reads the body (the admin's forms are left alone; Twilio's status
    callback and token introspection are forms)."""

    FORM_ROUTES = frozenset({"/v1/twilio/status", "/v1/token/introspect"})  # (RFC 7662 is a form)

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
            return JsonResponse(envelope(_("Request body is too large."), "payload_too_large"), status=413)
        if (
            length
            and request.method in {"POST", "PUT", "PATCH"}
            and not request.path_info.startswith(ADMIN_PATH)
            and request.content_type != "application/json"
            and request.path_info not in self.FORM_ROUTES
        ):
            message = _("Unsupported media type, send application/json.")
            return JsonResponse(envelope(message, "unsupported_media_type"), status=415)
        return self.get_response(request)


class LanguageMiddleware:
    """The language of messages and SMS, from ``Accept-Language`` (or the language cookie); English
    when neither names one we speak. Django's LocaleMiddleware does this too, plus URL-prefix
    languages and redirects that no route here uses, at about twice the cost per request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        language = translation.get_language_from_request(request)
        translation.activate(language)
        request.LANGUAGE_CODE = language
        response = self.get_response(request)
        patch_vary_headers(response, ("Accept-Language",))
        response.headers.setdefault("Content-Language", language)
        return response


def admin_only(middleware):
    """``middleware`` on the admin's pages only. The API is stateless (bearer tokens, no cookies), so
    sessions, the login user and flash messages have nothing to do there.
    A subclass, so Django's admin checks still find the class they require."""

    class AdminOnly(middleware):
        async_capable = False

        def __call__(self, request):
            if request.path_info.startswith(ADMIN_PATH):
                return super().__call__(request)
            return self.get_response(request)

    AdminOnly.__name__ = AdminOnly.__qualname__ = f"AdminOnly{middleware.__name__}"
    return AdminOnly


AdminOnlySessionMiddleware = admin_only(SessionMiddleware)
AdminOnlyAuthenticationMiddleware = admin_only(AuthenticationMiddleware)
AdminOnlyMessageMiddleware = admin_only(MessageMiddleware)
AdminOnlyCSPMiddleware = admin_only(CSPMiddleware)  # the API answers JSON: a policy guards pages
