"""Message backends, chosen by ``SMS_BACKEND`` like Django's EMAIL_BACKEND: console, locmem, twilio.
Each takes every channel (sms, whatsapp, voice); the Twilio one sends SMS and WhatsApp through the
Messages API and voice through the Calls API.

A backend's ``send(message)`` returns what the provider said (``Sent``) or raises TransientSMSError
(worth retrying) or PermanentSMSError (never retried). A transient error that came after the request
went out (``unsure``: the answer was lost, not the message) is not proof that nothing was sent:
``find(message, since)`` asks the provider before any retry.
"""

import json
import sys
from dataclasses import dataclass

import requests
import urllib3
from django.utils.module_loading import import_string
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from messaging import regions
from messaging.app_settings import app_settings

STATUS_CALLBACK_PATH = "/v1/twilio/status"
LOOKUP_LIMIT = 20  # newest messages to a number read when a send's answer was lost
CLOCK_SKEW_SECONDS = 5  # between our clock and Twilio's, when matching a lost send
BACKENDS = {
    "console": "messaging.backends.ConsoleBackend",
    "locmem": "messaging.backends.LocmemBackend",
    "twilio": "messaging.backends.TwilioBackend",
}


@dataclass(frozen=True)
class Message:
    """One code's message: the number (E.164), what is said (the SMS text, or TwiML for voice), the
    code it carries, its channel and the region's sender (empty: the default one)."""

    to: str
    body: str
    code: str
    channel: str = "sms"
    sender: str = ""


@dataclass(frozen=True)
class Sent:
    """The provider's answer: its id for the message (None for local backends) and first status."""

    sid: str | None = None
    status: str = "sent"


outbox: list[Message] = []  # LocmemBackend's sent messages, read by tests


class SMSError(Exception):
    def __init__(self, message: str, *, status: int | None = None, code: int | None = None, unsure: bool = False):
        super().__init__(message)
        self.status = status
        self.code = code
        self.unsure = unsure  # the provider may have taken the message before the failure


class TransientSMSError(SMSError):
    pass


class PermanentSMSError(SMSError):
    pass


class BaseSMSBackend:
    def send(self, message: Message) -> Sent:
        raise NotImplementedError

    def find(self, message: Message, since: float) -> Sent | None:
        """The provider's record of ``message`` taken at or after ``since`` (epoch seconds), if any.
        Local backends never lose an answer, so they never have one to find."""
        return None


class ConsoleBackend(BaseSMSBackend):
    """Development only (refused when DEBUG=0): writes the message, code included, to stdout."""

    def send(self, message: Message) -> Sent:
        by = "" if message.channel == "sms" else f" by {message.channel}"
        sys.stdout.write(
            f"[dev SMS backend, never used in production] to {message.to}{by}: code {message.code} | {message.body}\n"
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
        try:
            created = self._create(message)
        except TwilioRestException as exc:
            error = TransientSMSError if exc.status == 429 or exc.status >= 500 else PermanentSMSError
            raise error(f"Twilio answered {exc.status}", status=exc.status, code=exc.code) from None
        except (requests.ConnectionError, requests.Timeout) as exc:
            unsure = _may_have_arrived(exc)
            raise TransientSMSError(f"Twilio unreachable: {type(exc).__name__}", unsure=unsure) from None
        except TwilioException as exc:
            raise PermanentSMSError(f"Twilio client error: {type(exc).__name__}") from None
        return Sent(sid=created.sid, status=created.status or "queued")

    def find(self, message: Message, since: float) -> Sent | None:
        """The newest messages (or calls) to the number, matched by creation time (and text, for an
        SMS). Not filtered by ``DateSent``: a message Twilio still queues has none yet."""
        try:
            if message.channel == "voice":
                found = self.client.calls.list(to=message.to, limit=LOOKUP_LIMIT)
            else:
                to = f"whatsapp:{message.to}" if message.channel == "whatsapp" else message.to
                found = self.client.messages.list(to=to, limit=LOOKUP_LIMIT)
        except (TwilioException, requests.RequestException) as exc:
            raise TransientSMSError(f"Twilio could not be asked: {type(exc).__name__}", unsure=True) from None
        for item in found:
            created = item.date_created.timestamp() if item.date_created else 0
            same_text = message.channel != "sms" or item.body == message.body
            if created >= since - CLOCK_SKEW_SECONDS and same_text:
                return Sent(sid=item.sid, status=str(item.status or "queued"))
        return None

    def _create(self, message: Message):
        if message.channel == "voice":
            caller = app_settings.TWILIO_VOICE_FROM or app_settings.TWILIO_FROM_NUMBER
            return self.client.calls.create(to=message.to, from_=caller, twiml=message.body)
        callback = {"status_callback": app_settings.PUBLIC_BASE_URL + STATUS_CALLBACK_PATH}
        callback = callback if app_settings.PUBLIC_BASE_URL else {}
        if message.channel == "whatsapp":
            return self.client.messages.create(
                to=f"whatsapp:{message.to}",
                from_=f"whatsapp:{app_settings.TWILIO_WHATSAPP_FROM}",
                content_sid=app_settings.TWILIO_WHATSAPP_CONTENT_SID,
                content_variables=json.dumps({"1": message.code}),
                **callback,
            )
        return self.client.messages.create(to=message.to, body=message.body, **_sender(message.sender), **callback)


def _may_have_arrived(exc: requests.RequestException) -> bool:
    """Whether the request may have reached Twilio: anything but a connection never made."""
    if isinstance(exc, requests.ConnectTimeout):
        return False
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return not isinstance(reason, urllib3.exceptions.NewConnectionError)


def _sender(region_sender: str) -> dict:
    """The region's sender if it has one, else the messaging service or the number configured."""
    if region_sender:
        kind = "messaging_service_sid" if regions.sender_kind(region_sender) == "service" else "from_"
        return {kind: region_sender}
    if app_settings.TWILIO_MESSAGING_SERVICE_SID:
        return {"messaging_service_sid": app_settings.TWILIO_MESSAGING_SERVICE_SID}
    return {"from_": app_settings.TWILIO_FROM_NUMBER}


def get_backend() -> BaseSMSBackend:
    return import_string(BACKENDS.get(app_settings.sms_backend, app_settings.sms_backend))()
