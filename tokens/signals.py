"""Token and session events other apps can hook (audit log, per-process token cache)."""

from django.dispatch import Signal

token_issued = Signal()  # token
tokens_revoked = Signal()  # hashes: list[bytes], user_ids: list[int]
sessions_ended = Signal()  # session_ids, user_ids, ended: [(session id, user id, device name)], how (why, in words)
refresh_reused = Signal()  # session_id, user_id (a spent refresh token came back: the session ended)
