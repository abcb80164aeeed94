"""Seal a one-time code for the trip through the broker (Fernet, keyed from SECRET_KEY).

The broker never holds a code in plain text, and a sealed code cannot be opened after its expiry,
which is sealed with it.
"""

import base64
import hashlib
import time

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings

__all__ = ["seal", "unseal", "InvalidToken"]


def _fernet() -> Fernet:
    key = hashlib.sha256(b"cheershare.sms-seal:" + settings.SECRET_KEY.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def seal(code: str, expires_at: int) -> str:
    """``code`` and its expiry (epoch seconds), encrypted and authenticated together."""
    return _fernet().encrypt(f"{code}|{expires_at}".encode()).decode("ascii")


def unseal(sealed: str) -> str:
    """The code, or ``InvalidToken`` if it was tampered with or its expiry has passed."""
    code, _, expires_at = _fernet().decrypt(sealed.encode("ascii")).decode().partition("|")
    if not expires_at.isdigit() or int(expires_at) <= time.time():
        raise InvalidToken()
    return code
