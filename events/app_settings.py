"""The events app's settings (webhooks), with their defaults (read lazily; see core.conf)."""

from core.conf import AppSettings, Knob, parse_bool

RETRY_DELAYS = (5, 300, 1800, 7200, 18000, 36000, 36000)  # seconds before each retry (Standard Webhooks')


class EventSettings(AppSettings):
    WEBHOOK_URL = Knob("", str)  # an endpoint from the environment (more in the admin)
    WEBHOOK_SECRET = Knob("", str)  # its secret: whsec_ + base64
    WEBHOOK_ALLOW_PRIVATE = Knob(False, parse_bool)  # let endpoints resolve to loopback or private addresses
    WEBHOOK_TIMEOUT = Knob(5, int)  # seconds a receiver has to answer
    WEBHOOK_DISABLE_AFTER = Knob(432000, int)  # an endpoint failing this long (5 days) is disabled
    EVENTS_RETENTION_DAYS = Knob(30, int)  # events over (delivered or given up) are purged after this

    def problems(self) -> list[tuple[str, str]]:
        found = []
        if self.WEBHOOK_URL and not self.WEBHOOK_SECRET.startswith("whsec_"):
            found.append(("events.E001", "WEBHOOK_URL needs WEBHOOK_SECRET (whsec_ followed by base64)."))
        return found


app_settings = EventSettings()
