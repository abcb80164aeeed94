"""The refresh token as a cookie no script can read (REFRESH_COOKIE=1): the answers that issue a
refresh token (a verify, a passkey sign-in, a refresh) set it as an HttpOnly cookie and leave it out
of the JSON; a refresh and a logout read it from there.

``__Host-`` prefixed, Secure, Path=/ (with DEBUG, on plain http: unprefixed and not Secure),
SameSite as REFRESH_COOKIE_SAMESITE (Strict by default). A browser sends a cookie with any request,
a forged one too, so a request that carries it must also carry ``X-Cheershare-Refresh: 1`` (a header
no HTML form can send, and that a cross-origin page can send only after a CORS preflight) and, when it
says where it comes from, an ``Origin`` this server allows (its own, or one of CORS_ALLOWED_ORIGINS);
otherwise it is refused, 403 ``csrf_failed``."""

from urllib.parse import urlsplit

from django.conf import settings
from rest_framework import exceptions, status

from tokens.app_settings import app_settings

HEADER = "X-Cheershare-Refresh"


class CSRFFailed(exceptions.APIException):
    status_code = status.HTTP_403_FORBIDDEN
    default_detail = "This request must come from an allowed origin, with the X-Cheershare-Refresh header."
    default_code = "csrf_failed"


def enabled() -> bool:
    return app_settings.REFRESH_COOKIE


def name() -> str:
    return "cheershare-refresh" if settings.DEBUG else "__Host-cheershare-refresh"


def deliver(response, fields: dict):
    """Move ``fields``' refresh token into the answer's cookie (when the cookie is on)."""
    if not enabled() or "refresh_token" not in fields:
        return response
    response.data.pop("refresh_token", None)
    response.set_cookie(
        name(),
        fields["refresh_token"],
        max_age=app_settings.SESSION_MAX_AGE or None,
        path="/",
        secure=not settings.DEBUG,
        httponly=True,
        samesite=app_settings.REFRESH_COOKIE_SAMESITE,
    )
    return response


def clear(response):
    if enabled():
        response.delete_cookie(name(), path="/", samesite=app_settings.REFRESH_COOKIE_SAMESITE)
    return response


def presented(request) -> str | None:
    """The refresh token of the request's cookie, or None; CSRFFailed if the request carries it
    without the header or from an origin this server does not allow."""
    if not enabled():
        return None
    token = request.COOKIES.get(name())
    if not token:
        return None
    if request.headers.get(HEADER) != "1" or not _origin_allowed(request.headers.get("Origin")):
        raise CSRFFailed()
    return token


def _origin_allowed(origin: str | None) -> bool:
    if origin is None:  # a same-origin request may omit it (older browsers); the header still had to be set
        return True
    parts = urlsplit(origin)
    own = f"{parts.scheme}://{parts.netloc}" in _own_origins()
    return own or origin in getattr(settings, "CORS_ALLOWED_ORIGINS", [])


def _own_origins() -> set[str]:
    base = getattr(settings, "PUBLIC_BASE_URL", "").rstrip("/")
    hosts = [host for host in settings.ALLOWED_HOSTS if host not in ("*",) and not host.startswith(".")]
    return {base} | {f"{scheme}://{host}" for host in hosts for scheme in ("https", "http")}
