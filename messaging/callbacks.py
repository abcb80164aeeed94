"""Twilio's status callbacks: the signature is checked with the SDK's validator against the public
URL (behind a proxy the URL this server sees differs from the one Twilio signed); a valid one moves
the message forward, and a WhatsApp refusal sends the code once by the fallback channel."""

import logging

from twilio.request_validator import RequestValidator

from messaging import fallback, records, tasks
from messaging.app_settings import app_settings
from messaging.backends import STATUS_CALLBACK_PATH
from messaging.numbers import mask_phone

logger = logging.getLogger(__name__)


def handle_status(sid: str, status: str, error_code: int | None) -> None:
    message = records.apply_status(sid, status, error_code)
    if message is None or status not in {"failed", "undelivered"}:
        return
    channel = fallback.channel_after(message.channel, error_code)
    stashed = fallback.take(sid) if channel else None
    if stashed is None:
        return
    try:
        tasks.enqueue(message.phone_number, *stashed, channel=channel)
    except Exception:
        logger.exception("fallback could not be queued", extra={"phone": mask_phone(message.phone_number)})


def signature_valid(request) -> bool:
    """Whether ``X-Twilio-Signature`` signs this form for our public callback URL with the auth token."""
    signature = request.headers.get("X-Twilio-Signature", "")
    if not signature or not app_settings.TWILIO_AUTH_TOKEN:
        return False
    if app_settings.PUBLIC_BASE_URL:
        query = request.META.get("QUERY_STRING", "")
        url = app_settings.PUBLIC_BASE_URL + STATUS_CALLBACK_PATH + (f"?{query}" if query else "")
    else:
        url = request.build_absolute_uri()
    return RequestValidator(app_settings.TWILIO_AUTH_TOKEN).validate(url, request.POST, signature)


def error_code(raw: str) -> int | None:
    return int(raw) if raw.isdigit() and len(raw) <= 9 else None
