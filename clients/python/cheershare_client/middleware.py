"""A Django middleware for plain Django views: ``request.cheershare`` is the claims of a valid signed
access token in ``Authorization: Bearer``, else None (the view decides what to answer)."""

from cheershare_client.drf import verifier
from cheershare_client.errors import TokenInvalid, Unreachable


class CheershareMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.cheershare = None
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and token.count(".") == 2:
            try:
                request.cheershare = verifier().verify(token)
            except (TokenInvalid, Unreachable):
                pass
        return self.get_response(request)
