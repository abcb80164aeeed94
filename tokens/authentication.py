"""``Authorization: Bearer <token>`` for DRF, in the shape of its ``TokenAuthentication``.

A header of another scheme (``Basic``, ``Token``) is not ours: ``authenticate`` returns None so other
classes may run. A ``Bearer`` header that is malformed or names no live token fails with
``token_invalid``. Both formats are accepted whatever TOKEN_FORMAT issues now: an opaque token is
looked up (``Token.objects.resolve``), a JWT is verified (tokens.jwts) and its session must be live
(``Session.objects.resolve``), each strict or cached. ``request.auth`` is the token's row, or for a
JWT an unsaved Token standing in for it (its session, scope, issue and expiry times).
"""

from datetime import UTC, datetime

from django.utils.translation import gettext_lazy as _
from rest_framework import HTTP_HEADER_ENCODING, exceptions
from rest_framework.authentication import BaseAuthentication

from tokens import jwts
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
        token = self._signed(key) if jwts.looks_like_jwt(key) else Token.objects.resolve(key)
        if token is None:
            raise exceptions.AuthenticationFailed(INVALID, code="token_invalid")
        token.touch()
        if token.pk is None:
            token.session.last_used_at = token.last_used_at
        return token.user, token

    def _signed(self, key: str) -> Token | None:
        found = jwts.live_claims(key)
        if found is None:
            return None
        claims, session = found
        return Token(
            user=session.user,
            session=session,
            scope=claims["scope"],
            device_name=session.device_name,
            created_at=datetime.fromtimestamp(claims["iat"], UTC),
            expiry=datetime.fromtimestamp(claims["exp"], UTC),
            last_used_at=session.last_used_at,
        )

    def authenticate_header(self, request) -> str:
        return self.keyword


def authorization_header(request) -> bytes:
    """The ``Authorization`` header as bytes, as DRF's ``get_authorization_header`` gives it, read
    from the environ directly: DRF's builds ``request.headers`` from every variable of the environ
    (about 20 us a request) to read this one."""
    header = request.META.get("HTTP_AUTHORIZATION", b"")
    return header.encode(HTTP_HEADER_ENCODING) if isinstance(header, str) else header
