"""What every token model shares: the scopes, the token's form and hash, the per-process memo."""

import base64
import hashlib
import secrets
from datetime import datetime, timedelta

from tokens import revocation
from tokens.app_settings import app_settings
from tokens.memo import memo

AUTHENTICATION = "authentication"
REFRESH = "refresh"
TOKEN_LENGTH = 26
TOKEN_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")


def generate_token() -> str:
    return base64.b32encode(secrets.token_bytes(16)).decode("ascii").rstrip("=")


def hash_token(plaintext: str) -> bytes:
    return hashlib.sha256(plaintext.encode("ascii")).digest()


def is_well_formed(plaintext: str) -> bool:
    return len(plaintext) == TOKEN_LENGTH and TOKEN_ALPHABET.issuperset(plaintext)


def remembered(key: bytes, find, fits):
    """``find()``: in strict mode every time; in cached mode (TOKEN_CACHE_SECONDS > 0) the answer
    remembered under ``key`` while it ``fits`` the request, until it ages out or any process revokes
    it (a lookup that raced a revocation is not remembered)."""
    if not revocation.enabled():
        return find()
    revocation.ensure_listener()
    found = memo.get(key)
    if found is None or not fits(found):
        generation = memo.generation
        found = find()
        if found is not None:
            memo.put(key, found, generation)
    return found


def memo_key(session_id: int) -> bytes:
    """A session's key in the per-process memo (beside token hashes: 32 bytes, never this)."""
    return b"sid:%d" % session_id


def access_expiry(session, now: datetime) -> datetime:
    """TOKEN_TTL from ``now``, but never past the moment ``session`` could end if left alone."""
    expiry = now + timedelta(seconds=app_settings.access_ttl)
    return expiry if session is None else min(expiry, session.expiry)
