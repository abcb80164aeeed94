"""``Authorization: Bearer <token>`` for DRF: parse the header, let the manager resolve it.

With TOKEN_CACHE_SECONDS > 0 a validated token is remembered in this process (tokens.memo) and
forgotten as soon as any process revokes it (tokens.revocation).
"""

from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from tokens import revocation
from tokens.memo import memo
from tokens.models import Token, hash_token, is_well_formed

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
        return self.authenticate_credentials(parts[1].decode("latin-1"))

    def authenticate_credentials(self, plaintext: str):
        if not is_well_formed(plaintext):
            raise exceptions.AuthenticationFailed(INVALID, code="token_invalid")
        token = self._lookup(hash_token(plaintext))
        if token is None:
            raise exceptions.AuthenticationFailed(INVALID, code="token_invalid")
        token.touch()
        return token.user, token

    def _lookup(self, digest: bytes) -> Token | None:
        if not revocation.enabled():
            return Token.objects.resolve_hash(digest)
        revocation.ensure_listener()
        token = memo.get(digest)
        if token is None:
            generation = memo.generation
            token = Token.objects.resolve_hash(digest)
            if token is not None:
                memo.put(digest, token, generation)
        return token

    def authenticate_header(self, request) -> str:
        return self.keyword
