"""The messaging app's settings: how a code reaches a phone (backends, Twilio, delivery records,
suppression, the pumping alarm), each knob with its default beside its name (see cheershare.conf)."""

from django.conf import settings

from cheershare.conf import AppSettings, Knob, parse_bool


class MessagingSettings(AppSettings):
    SMS_BACKEND = Knob("", str)  # empty: "twilio" when TWILIO_ACCOUNT_SID is set, else "console"
    SMS_MESSAGE_TEMPLATE = Knob("", str)  # empty: the translated default message
    SMS_DO_NOT_SHARE_WARNING = Knob(False, parse_bool)
    SMS_MAX_RETRIES = Knob(3, int)
    SMS_RETRY_BACKOFF = Knob(2, int)

    TWILIO_ACCOUNT_SID = Knob("", str)
    TWILIO_AUTH_TOKEN = Knob("", str)  # also checks the status callbacks' signatures
    TWILIO_API_KEY_SID = Knob("", str)
    TWILIO_API_KEY_SECRET = Knob("", str)
    TWILIO_FROM_NUMBER = Knob("", str)
    TWILIO_MESSAGING_SERVICE_SID = Knob("", str)
    TWILIO_API_BASE_URL = Knob("https://api.twilio.com", str)
    TWILIO_HTTP_TIMEOUT = Knob(10, int)

    PUBLIC_BASE_URL = Knob("", lambda raw: raw.rstrip("/"))  # set: messages ask for signed status callbacks
    DELIVERY_RETENTION_DAYS = Knob(90, int)
    SMS_SUPPRESS_SECONDS = Knob(604800, int)  # how long a number Twilio cannot reach is not sent to
    SMS_MIN_CONVERSION = Knob(0.2, float)  # the pumping alarm: a region's last-hour verified / sent ...
    SMS_MIN_CONVERSION_SAMPLE = Knob(50, int)  # ... over at least this many messages ...
    SMS_REGION_BLOCK_SECONDS = Knob(3600, int)  # ... closes the region this long

    @property
    def sms_backend(self) -> str:
        return self.SMS_BACKEND or ("twilio" if self.TWILIO_ACCOUNT_SID else "console")

    def problems(self) -> list[tuple[str, str]]:
        found = []
        if not settings.DEBUG and self.sms_backend == "console":
            found.append(("messaging.E001", "SMS_BACKEND=console prints codes to the log and is refused when DEBUG=0."))
        if self.PUBLIC_BASE_URL and not self.PUBLIC_BASE_URL.startswith(("https://", "http://")):
            found.append(("messaging.E002", "PUBLIC_BASE_URL must be an origin such as https://auth.example.com."))
        return found


app_settings = MessagingSettings()
