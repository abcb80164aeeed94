"""Per-region senders and templates (SMS_REGION_CONFIG): a JSON file mapping a region to its sender
and its template per language, for countries that demand registered text (India's DLT) or allow
alphanumeric sender ids::

    {"IN": {"sender": "MG0123...", "templates": {"en": "Your code is {otp}", "hi": "..."}}}

A sender is an E.164 number, an alphanumeric sender id (1-11 letters, digits or spaces, at least
one letter) or a Twilio messaging service sid (``MG`` + 32 hex digits).
"""

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache

import phonenumbers

from messaging.app_settings import app_settings

ALPHANUMERIC_ID = re.compile(r"^(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}$")
SERVICE_SID = re.compile(r"^MG[0-9a-f]{32}$")


@dataclass(frozen=True)
class RegionConfig:
    sender: str = ""
    templates: dict[str, str] = field(default_factory=dict)


def config_for(region: str) -> RegionConfig:
    return load(app_settings.SMS_REGION_CONFIG).get(region, RegionConfig())


def configured() -> dict[str, RegionConfig]:
    return load(app_settings.SMS_REGION_CONFIG)


@lru_cache(maxsize=4)
def load(path: str) -> dict[str, RegionConfig]:
    """The file at ``path`` read once (ValueError if it cannot be read); {} when no path is set."""
    if not path:
        return {}
    try:
        with open(path, encoding="utf-8") as handle:
            raw = json.load(handle)
        return {
            region.upper(): RegionConfig(str(entry.get("sender", "")), dict(entry.get("templates", {})))
            for region, entry in raw.items()
        }
    except (OSError, ValueError, AttributeError, TypeError) as exc:
        raise ValueError(f"SMS_REGION_CONFIG={path!r} cannot be read: {exc}") from None


def sender_kind(sender: str) -> str | None:
    """``number``, ``alphanumeric`` or ``service``; None if it is none of them."""
    if SERVICE_SID.match(sender):
        return "service"
    if sender.startswith("+"):
        try:
            return "number" if phonenumbers.is_valid_number(phonenumbers.parse(sender)) else None
        except phonenumbers.NumberParseException:
            return None
    return "alphanumeric" if ALPHANUMERIC_ID.match(sender) else None


def problems() -> list[tuple[str, str]]:
    try:
        regions = configured()
    except ValueError as exc:
        return [("messaging.E010", str(exc))]
    found = []
    for region, config in regions.items():
        if config.sender and sender_kind(config.sender) is None:
            found.append(
                ("messaging.E011", f"SMS_REGION_CONFIG {region}: sender {config.sender!r} is not well formed.")
            )
        found += [
            ("messaging.E012", f"SMS_REGION_CONFIG {region}/{language}: the template has no {{otp}}.")
            for language, template in config.templates.items()
            if "{otp}" not in template
        ]
    return found
