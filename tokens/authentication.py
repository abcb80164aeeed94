"""``Authorization: Bearer <token>`` for DRF, in the shape of its ``TokenAuthentication``.

A header of another scheme (``Basic``, ``Token``) is not ours: ``authenticate`` returns None so other
classes may run. A ``Bearer`` header that is malformed or names no live token fails with
``token_invalid``. The lookup, strict or cached, belongs to ``Token.objects.resolve``.
"""

from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from tokens.models import Token

INVALID = _("Invalid or expired token.")


class BearerTokenAuthentication(BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
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
