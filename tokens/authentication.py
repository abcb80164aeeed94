"""``Authorization: Bearer <token>`` for DRF: parse the header, let the manager resolve it."""

from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from tokens.models import Token

INVALID = _("Invalid or expired token.")


class BearerTokenAuthentication(BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = get_authorization_header(request)
        if not header:
            return None
        parts = header.split()
        if len(parts) != 2 or parts[0].lower() != b"bearer":
            raise exceptions.AuthenticationFailed(INVALID, code="token_invalid")
        try:
            plaintext = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(INVALID, code="token_invalid") from None
        return self.authenticate_credentials(plaintext)

    def authenticate_credentials(self, plaintext: str):
        token = Token.objects.resolve(plaintext)
        if token is None:
            raise exceptions.AuthenticationFailed(INVALID, code="token_invalid")
        token.touch()
        return token.user, token

    def authenticate_header(self, request) -> str:
        return self.keyword
