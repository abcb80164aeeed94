"""App-owned settings, in the manner of django-allauth's ``app_settings``.

Each app declares its knobs once, with their defaults and parsers, in its ``app_settings`` module.
``settings.py`` reads the ones the environment sets (and only there is the environment read); the
apps read ``django.conf.settings`` lazily through the declaration, so ``override_settings`` works:
values are remembered for as long as Django keeps the same settings object (``override_settings``,
and pytest-django's ``settings`` fixture, swap in a new one on every change and the old one back).
Remembering matters: a code request reads 16 knobs, and reading an unset one through
``django.conf.settings`` raises and catches an AttributeError each time (6 % of its CPU).
"""

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.core.checks import Error, register
from django.core.exceptions import ImproperlyConfigured


def parse_bool(raw: str) -> bool:
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def parse_list(raw: str) -> list[str]:
    return [item.strip() for item in raw.split(",") if item.strip()]


def parse_host_port(raw: str) -> tuple[str, int]:
    """``host:port`` (``[v6]:port`` too) as a (host, port) pair."""
    host, separator, port = raw.rpartition(":")
    if not separator or not host or not port.isdigit():
        raise ImproperlyConfigured(f"{raw!r} is not host:port")
    return host.strip("[]"), int(port)


def sentinel_location(url: str, master: str) -> str:
    """``url`` with its host replaced by the primary's name (django-redis' Sentinel form); the
    password and database number are kept."""
    parts = urlsplit(url)
    credentials = parts.netloc.rpartition("@")[0]
    return urlunsplit(parts._replace(netloc=f"{credentials}@{master}" if credentials else master))


def parse_upper_list(raw: str) -> list[str]:
    return [item.upper() for item in parse_list(raw)]


class Knob:
    """One setting: its default and how to read it from an environment string."""

    def __init__(self, default: Any, parse: Callable[[str], Any] = str):
        self.default, self.parse = default, parse
        self.name = ""

    def __set_name__(self, owner, name: str) -> None:
        self.name = name

    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        return _remembered.get(self.name, self.default)


class _Remembered:
    """The knob values read from one settings object (``settings._wrapped``), by name."""

    def __init__(self):
        self.state: tuple[object, dict[str, Any]] = (None, {})  # one attribute: a reader never pairs
        # a new settings object with the old one's values

    def get(self, name: str, default: Any) -> Any:
        source, values = self.state
        if source is not settings._wrapped:
            source, values = self.state = (settings._wrapped, {})
        try:
            return values[name]
        except KeyError:
            value = values[name] = getattr(settings, name, default)
            return value


_remembered = _Remembered()


class AppSettings:
    """Base of an app's settings object; subclasses hold ``Knob`` attributes."""

    @classmethod
    def knobs(cls) -> list[Knob]:
        return [value for klass in cls.__mro__ for value in vars(klass).values() if isinstance(value, Knob)]

    def problems(self) -> list[tuple[str, str]]:
        """(check id, message) for every setting that cannot work; empty when all is well."""
        return []

    def register_check(self) -> None:
        """Report ``problems()`` in ``manage.py check`` (under ``override_settings`` too)."""

        def check_settings(app_configs=None, **kwargs) -> list[Error]:
            return [Error(message, id=check_id) for check_id, message in self.problems()]

        register(check_settings)
        self.system_check = check_settings


def from_environment(environ, *app_settings: type[AppSettings]) -> dict[str, Any]:
    """The knobs that ``environ`` sets (non-empty), parsed; ``settings.py`` adds them to its globals."""
    values = {}
    for owner in app_settings:
        for knob in owner.knobs():
            raw = environ.get(knob.name, "")
            if raw.strip():
                try:
                    values[knob.name] = knob.parse(raw.strip())
                except ValueError as exc:
                    raise ImproperlyConfigured(f"{knob.name}={raw!r} cannot be read: {exc}") from None
    return values
