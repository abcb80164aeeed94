class TokenInvalid(Exception):
    """The token is not a live access token of this Cheershare (its message says why)."""


class Unreachable(Exception):
    """Cheershare could not be asked (its key set, or introspection)."""
