"""Delivery events other apps can hook (accounts.audit logs each as one structured line)."""

from django.dispatch import Signal

sms_sent = Signal()  # phone
sms_failed = Signal()  # phone, error_code, status, permanent
number_suppressed = Signal()  # phone, error_code
region_closed = Signal()  # region, prefix (the number range; empty: the whole region), conversion, sample, until
