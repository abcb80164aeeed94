"""Seal a one-time code for the trip through the broker (Fernet, keyed from SECRET_KEY).

The broker never holds a code in plain text, and a sealed code cannot be opened after it expired.
"""

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings

__all__ = ["seal", "unseal", "InvalidToken"]


def _fernet() -> Fernet:
    key = hashlib.sha256(b"cheershare.sms-seal:" + settings.SECRET_KEY.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def seal(code: str) -> str:
    return _fernet().encrypt(code.encode()).decode("ascii")


def unseal(sealed: str, *, max_age: int) -> str:
    """The code, or ``InvalidToken`` if it was tampered with or sealed more than ``max_age`` seconds ago."""
    return _fernet().decrypt(sealed.encode("ascii"), ttl=max_age).decode()
