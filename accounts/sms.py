"""SMS backends, chosen by ``SMS_BACKEND`` like Django's EMAIL_BACKEND: console, locmem, twilio.

A backend's ``send(to, body)`` returns nothing or raises TransientSMSError (worth retrying) or
PermanentSMSError (never retried).
"""

import logging
import sys

import requests
from django.conf import settings
from django.utils.module_loading import import_string
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

logger = logging.getLogger("cheershare.sms")

BACKENDS = {
    "console": "accounts.sms.ConsoleBackend",
    "locmem": "accounts.sms.LocmemBackend",
    "twilio": "accounts.sms.TwilioBackend",
}

outbox: list[dict] = []  # LocmemBackend's sent messages, read by tests


class SMSError(Exception):
    def __init__(self, message: str, *, status: int | None = None, code: int | None = None):
        super().__init__(message)
        self.status = status
        self.code = code


class TransientSMSError(SMSError):
    pass


class PermanentSMSError(SMSError):
    pass


class BaseSMSBackend:
    def send(self, to: str, body: str) -> None:
        raise NotImplementedError


class ConsoleBackend(BaseSMSBackend):
    """Development only (refused when DEBUG=0): writes the message, code included, to stdout."""

    def send(self, to: str, body: str) -> None:
        sys.stdout.write(f"[dev SMS backend, never used in production] to {to}: {body}\n")
        sys.stdout.flush()


class LocmemBackend(BaseSMSBackend):
    def send(self, to: str, body: str) -> None:
        outbox.append({"to": to, "body": body})


class TwilioBackend(BaseSMSBackend):
    """The official Twilio SDK, with an HTTP timeout and ``TWILIO_API_BASE_URL`` honoured."""

    def __init__(self):
        if settings.TWILIO_API_KEY_SID:
            username, password = settings.TWILIO_API_KEY_SID, settings.TWILIO_API_KEY_SECRET
        else:
            username, password = settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN
        self.client = Client(
            username,
            password,
            account_sid=settings.TWILIO_ACCOUNT_SID,
            http_client=TwilioHttpClient(timeout=settings.TWILIO_HTTP_TIMEOUT),
        )
        self.client.api.base_url = settings.TWILIO_API_BASE_URL

    def send(self, to: str, body: str) -> None:
        sender = (
            {"messaging_service_sid": settings.TWILIO_MESSAGING_SERVICE_SID}
            if settings.TWILIO_MESSAGING_SERVICE_SID
            else {"from_": settings.TWILIO_FROM_NUMBER}
        )
        try:
            self.client.messages.create(to=to, body=body, **sender)
        except TwilioRestException as exc:
            error = TransientSMSError if exc.status == 429 or exc.status >= 500 else PermanentSMSError
            raise error(f"Twilio answered {exc.status}", status=exc.status, code=exc.code) from None
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise TransientSMSError(f"Twilio unreachable: {type(exc).__name__}") from None
        except TwilioException as exc:
            raise PermanentSMSError(f"Twilio client error: {type(exc).__name__}") from None


def get_backend() -> BaseSMSBackend:
    return import_string(BACKENDS.get(settings.SMS_BACKEND, settings.SMS_BACKEND))()
