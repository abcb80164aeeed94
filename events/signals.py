"""Webhook events other apps can hook (the audit log)."""

from django.dispatch import Signal

endpoint_disabled = Signal()  # endpoint, failing_since
