"""Trust Cheershare Auth's access tokens from another Python service.

``Verifier`` checks a signed access token (``TOKEN_FORMAT=jwt``) against the key set Cheershare
publishes, and remembers each verified token until its ``exp``; ``Introspector`` asks Cheershare
(RFC 7662) and remembers each answer a few seconds. ``cheershare_client.drf`` and
``cheershare_client.middleware`` plug them into Django REST Framework and Django."""

from cheershare_client.errors import TokenInvalid, Unreachable
from cheershare_client.introspection import Introspector
from cheershare_client.verifier import Verifier

__all__ = ["Introspector", "TokenInvalid", "Unreachable", "Verifier"]
