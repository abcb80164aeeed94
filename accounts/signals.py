"""Sign-in events other apps can hook; accounts.audit logs each as one structured line."""

from django.dispatch import Signal

code_requested = Signal()  # phone, test_number
verification_failed = Signal()  # phone, attempts_left
locked_out = Signal()  # phone (one code destroyed after OTP_MAX_ATTEMPTS)
codes_lengthened = Signal()  # phone (the failure budget spent: its next codes are OTP_LENGTH_UNDER_ATTACK long)
number_locked = Signal()  # phone, by (an operator locked the number)
number_unlocked = Signal()  # phone, by (who lifted the lock: an admin's number, or "command")
send_limit_tripped = Signal()  # limit, phone
cache_lost = Signal()  # (the cache came back empty: failure budgets count as half spent for a window)
user_created = Signal()  # user
user_deleted = Signal()  # phone
phone_changed = Signal()  # user, old_phone, new_phone
passkey_added = Signal()  # user_id, passkey
passkey_removed = Signal()  # user_id, passkey
