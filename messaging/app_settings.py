"""The messaging app's settings: how a code reaches a phone (backends, Twilio, delivery records,
suppression, the pumping alarm), each knob with its default beside its name (see core.conf)."""

import re

from django.conf import settings

from core.conf import AppSettings, Knob, parse_bool, parse_list

CHANNELS = ("sms", "whatsapp", "voice")
HOSTNAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


class MessagingSettings(AppSettings):
    OTP_CHANNELS = Knob(["sms"], parse_list)  # enabled channels: sms, whatsapp, voice
    OTP_FALLBACK_CHANNEL = Knob("sms", str)  # where a code WhatsApp refused goes (empty: nowhere)
    WEB_OTP_DOMAIN = Knob("", str)  # the SMS ends with "@<domain> #<code>" (browsers fill the code in)
    ANDROID_APP_HASH = Knob("", str)  # the SMS Retriever hash (11 characters) of the Android app
    SMS_REGION_CONFIG = Knob("", str)  # a JSON file: per-region sender and per-language template
    SMS_BACKEND = Knob("", str)  # empty: "twilio" when TWILIO_ACCOUNT_SID is set, else "console"
    SMS_MESSAGE_TEMPLATE = Knob("", str)  # empty: the translated default message
    SMS_DO_NOT_SHARE_WARNING = Knob(False, parse_bool)
    SMS_MAX_RETRIES = Knob(0, int)  # 0: a transient failure is retried as long as the code lives
    SMS_RETRY_BACKOFF = Knob(2, int)  # seconds, doubling per retry up to SMS_RETRY_BACKOFF_MAX
    SMS_RETRY_BACKOFF_MAX = Knob(30, int)

    TWILIO_ACCOUNT_SID = Knob("", str)
    TWILIO_AUTH_TOKEN = Knob("", str)  # also checks the status callbacks' signatures
    TWILIO_API_KEY_SID = Knob("", str)
    TWILIO_API_KEY_SECRET = Knob("", str)
    TWILIO_FROM_NUMBER = Knob("", str)
    TWILIO_MESSAGING_SERVICE_SID = Knob("", str)
    TWILIO_API_BASE_URL = Knob("https://api.twilio.com", str)
    TWILIO_HTTP_TIMEOUT = Knob(10, int)
    TWILIO_WHATSAPP_FROM = Knob("", str)  # the WhatsApp sender, E.164
    TWILIO_WHATSAPP_CONTENT_SID = Knob("", str)  # the approved authentication template (HX...)
    TWILIO_VOICE_FROM = Knob("", str)  # caller id; empty: TWILIO_FROM_NUMBER

    PUBLIC_BASE_URL = Knob("", lambda raw: raw.rstrip("/"))  # set: messages ask for signed status callbacks
    DELIVERY_RETENTION_DAYS = Knob(90, int)
    SMS_SUPPRESS_SECONDS = Knob(604800, int)  # how long a number Twilio cannot reach is not sent to
    # The pumping alarm (messaging.alarm): a number range's last-hour verified / sent under
    # SMS_MIN_CONVERSION over at least SMS_MIN_CONVERSION_SAMPLE messages closes the range (the
    # number without its last SMS_RANGE_DIGITS digits) for SMS_REGION_BLOCK_SECONDS; a region closes
    # when SMS_REGION_CLOSE_RANGES of its ranges did within the hour in a surge: a last-hour volume of
    # SMS_REGION_SURGE times its usual hourly one, and at least SMS_REGION_MIN_VOLUME messages. Each
    # needs its unverified messages asked from at least SMS_RANGE_MIN_SOURCES (a range) or
    # SMS_REGION_MIN_SOURCES (a region) source networks: one network never closes anything.
    SMS_MIN_CONVERSION = Knob(0.2, float)
    SMS_MIN_CONVERSION_SAMPLE = Knob(20, int)
    SMS_RANGE_DIGITS = Knob(5, int)
    SMS_REGION_CLOSE_RANGES = Knob(5, int)
    SMS_REGION_SURGE = Knob(3.0, float)
    SMS_REGION_MIN_VOLUME = Knob(1000, int)
    SMS_REGION_BLOCK_SECONDS = Knob(3600, int)
    SMS_RANGE_MIN_SOURCES = Knob(5, int)
    SMS_REGION_MIN_SOURCES = Knob(20, int)

    @property
    def sms_backend(self) -> str:
        return self.SMS_BACKEND or ("twilio" if self.TWILIO_ACCOUNT_SID else "console")

    def problems(self) -> list[tuple[str, str]]:
        from messaging import regions, text

        found = regions.problems() + text.length_problems()
        unknown = sorted(set(self.OTP_CHANNELS) - set(CHANNELS))
        if unknown or not self.OTP_CHANNELS:
            found.append(("messaging.E003", f"OTP_CHANNELS: unknown or no channels {unknown}; use {CHANNELS}."))
        if self.OTP_FALLBACK_CHANNEL not in {"", "sms", "voice"}:
            found.append(("messaging.E004", "OTP_FALLBACK_CHANNEL must be sms, voice or empty."))
        if (
            "whatsapp" in self.OTP_CHANNELS
            and self.sms_backend == "twilio"
            and not (self.TWILIO_WHATSAPP_FROM and self.TWILIO_WHATSAPP_CONTENT_SID)
        ):
            found.append(("messaging.E005", "WhatsApp needs TWILIO_WHATSAPP_FROM and TWILIO_WHATSAPP_CONTENT_SID."))
        if self.ANDROID_APP_HASH and not re.fullmatch(r"[A-Za-z0-9+/]{11}", self.ANDROID_APP_HASH):
            found.append(("messaging.E006", "ANDROID_APP_HASH must be the app's 11-character SMS Retriever hash."))
        if self.WEB_OTP_DOMAIN and not HOSTNAME.match(self.WEB_OTP_DOMAIN):
            found.append(("messaging.E007", "WEB_OTP_DOMAIN must be a host name such as example.com."))
        if not settings.DEBUG and self.sms_backend == "console":
            found.append(("messaging.E001", "SMS_BACKEND=console prints codes to the log and is refused when DEBUG=0."))
        if self.PUBLIC_BASE_URL and not self.PUBLIC_BASE_URL.startswith(("https://", "http://")):
            found.append(("messaging.E002", "PUBLIC_BASE_URL must be an origin such as https://auth.example.com."))
        return found


app_settings = MessagingSettings()
