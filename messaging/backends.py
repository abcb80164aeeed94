"""SMS backends, chosen by ``SMS_BACKEND`` like Django's EMAIL_BACKEND: console, locmem, twilio.

A backend's ``send(message)`` returns what the provider said (``Sent``) or raises TransientSMSError
(worth retrying) or PermanentSMSError (never retried).
"""

import sys
from dataclasses import dataclass

import requests
from django.utils.module_loading import import_string
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from messaging.app_settings import app_settings

STATUS_CALLBACK_PATH = "/v1/twilio/status"
BACKENDS = {
    "console": "messaging.backends.ConsoleBackend",
    "locmem": "messaging.backends.LocmemBackend",
    "twilio": "messaging.backends.TwilioBackend",
}


@dataclass(frozen=True)
class Message:
    """One code's message: the number (E.164), the rendered text, and the code it carries."""

    to: str
    body: str
    code: str


@dataclass(frozen=True)
class Sent:
    """The provider's answer: its id for the message (None for local backends) and first status."""

    sid: str | None = None
    status: str = "sent"


outbox: list[Message] = []  # LocmemBackend's sent messages, read by tests


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
    def send(self, message: Message) -> Sent:
        raise NotImplementedError


class ConsoleBackend(BaseSMSBackend):
    """Development only (refused when DEBUG=0): writes the message, code included, to stdout."""

    def send(self, message: Message) -> Sent:
        sys.stdout.write(
            f"[dev SMS backend, never used in production] to {message.to}: code {message.code} | {message.body}\n"
        )
        sys.stdout.flush()
        return Sent()


class LocmemBackend(BaseSMSBackend):
    def send(self, message: Message) -> Sent:
        outbox.append(message)
        return Sent()


class TwilioBackend(BaseSMSBackend):
    """The official Twilio SDK, with an HTTP timeout and ``TWILIO_API_BASE_URL`` honoured."""

    def __init__(self):
        if app_settings.TWILIO_API_KEY_SID:
            username, password = app_settings.TWILIO_API_KEY_SID, app_settings.TWILIO_API_KEY_SECRET
        else:
            username, password = app_settings.TWILIO_ACCOUNT_SID, app_settings.TWILIO_AUTH_TOKEN
        self.client = Client(
            username,
            password,
            account_sid=app_settings.TWILIO_ACCOUNT_SID,
            http_client=TwilioHttpClient(timeout=app_settings.TWILIO_HTTP_TIMEOUT),
        )
        self.client.api.base_url = app_settings.TWILIO_API_BASE_URL

    def send(self, message: Message) -> Sent:
        sender = (
            {"messaging_service_sid": app_settings.TWILIO_MESSAGING_SERVICE_SID}
            if app_settings.TWILIO_MESSAGING_SERVICE_SID
            else {"from_": app_settings.TWILIO_FROM_NUMBER}
        )
        if app_settings.PUBLIC_BASE_URL:
            sender["status_callback"] = app_settings.PUBLIC_BASE_URL + STATUS_CALLBACK_PATH
        try:
            created = self.client.messages.create(to=message.to, body=message.body, **sender)
        except TwilioRestException as exc:
            error = TransientSMSError if exc.status == 429 or exc.status >= 500 else PermanentSMSError
            raise error(f"Twilio answered {exc.status}", status=exc.status, code=exc.code) from None
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise TransientSMSError(f"Twilio unreachable: {type(exc).__name__}") from None
        except TwilioException as exc:
            raise PermanentSMSError(f"Twilio client error: {type(exc).__name__}") from None
        return Sent(sid=created.sid, status=created.status or "queued")


def get_backend() -> BaseSMSBackend:
    return import_string(BACKENDS.get(app_settings.sms_backend, app_settings.sms_backend))()
