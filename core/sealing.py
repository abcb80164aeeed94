"""Secrets kept at rest (signing keys, webhook secrets), sealed with Fernet under a key derived from
SECRET_KEY for one purpose, and opened with SECRET_KEY_FALLBACKS too, so the secret key can be
rotated as Django documents."""

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

__all__ = ["box", "InvalidToken"]


def box(purpose: str) -> MultiFernet:
    secrets = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    keys = [hashlib.sha256(f"cheershare.{purpose}:".encode() + secret.encode()).digest() for secret in secrets]
    return MultiFernet([Fernet(base64.urlsafe_b64encode(key)) for key in keys])
