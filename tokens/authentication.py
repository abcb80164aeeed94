"""``Authorization: Bearer <token>`` for DRF, in the shape of its ``TokenAuthentication``.

A header of another scheme (``Basic``, ``Token``) is not ours: ``authenticate`` returns None so other
classes may run. A ``Bearer`` header that is malformed or names no live token fails with
``token_invalid``. The lookup, strict or cached, belongs to ``Token.objects.resolve``.
"""

from django.utils.translation import gettext_lazy as _
from rest_framework import HTTP_HEADER_ENCODING, exceptions
from rest_framework.authentication import BaseAuthentication

from tokens.models import Token

INVALID = _("Invalid or expired token.")


class BearerTokenAuthentication(BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        parts = authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword.lower().encode():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(INVALID, code="token_invalid")
        try:
            key = parts[1].decode("ascii")
        except UnicodeError:
            raise exceptions.AuthenticationFailed(INVALID, code="token_invalid") from None
        return self.authenticate_credentials(key)

    def authenticate_credentials(self, key: str):
        token = Token.objects.resolve(key)
        if token is None:
            raise exceptions.AuthenticationFailed(INVALID, code="token_invalid")
        token.touch()
        return token.user, token

    def authenticate_header(self, request) -> str:
        return self.keyword


def authorization_header(request) -> bytes:
    """The ``Authorization`` header as bytes, as DRF's ``get_authorization_header`` gives it, read
    from the environ directly: DRF's builds ``request.headers`` from every variable of the environ
    (about 20 us a request) to read this one."""
    header = request.META.get("HTTP_AUTHORIZATION", b"")
    return header.encode(HTTP_HEADER_ENCODING) if isinstance(header, str) else header
