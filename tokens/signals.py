"""Token events other apps can hook (audit log, per-process token cache)."""

from django.dispatch import Signal

token_issued = Signal()  # token
tokens_revoked = Signal()  # hashes: list[bytes], user_ids: list[int]
