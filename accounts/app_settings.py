"""The accounts app's settings: every knob of sign-in, with its default beside its name.

``settings.py`` reads the ones the environment sets; code reads them here (``app_settings.OTP_TTL``),
lazily, so ``override_settings`` works. ``problems()`` is the one validation: start-up refuses a
setting that cannot work, and ``manage.py check`` reports it (see core.conf).
"""

import base64
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError

from core.conf import AppSettings, Knob, parse_bool, parse_list, parse_upper_list


def parse_test_numbers(raw: str) -> dict[str, str]:
    """``+919000000000:123456,...`` -> ``{number: code}`` (numbers as written; see ``test_numbers``)."""
    return dict(item.partition(":")[::2] for item in parse_list(raw))


def android_origin(fingerprint: str) -> str:
    """The WebAuthn origin of an Android app signed with the certificate of SHA-256 ``fingerprint``."""
    digest = bytes.fromhex(fingerprint.replace(":", ""))
    return "android:apk-key-hash:" + base64.urlsafe_b64encode(digest).decode().rstrip("=")


class AccountSettings(AppSettings):
    PHONE_DEFAULT_REGION = Knob("IN", str.upper)

    OTP_LENGTH = Knob(6, int)
    OTP_LENGTH_UNDER_ATTACK = Knob(9, int)  # a number's codes while strangers have spent its failure budget
    OTP_TTL = Knob(300, int)
    OTP_MAX_ATTEMPTS = Knob(5, int)
    OTP_RESEND_COOLDOWN = Knob(60, int)
    OTP_MAX_SENDS_PER_HOUR = Knob(5, int)  # codes to one number for one requester (a client network, a known device)
    OTP_MAX_SENDS_PER_NUMBER_PER_HOUR = Knob(10, int)  # codes to one number in all (known devices aside)
    OTP_MAX_SENDS_PER_IP_PER_HOUR = Knob(30, int)  # codes asked from one source network (see SOURCE_PREFIX_*)
    SOURCE_PREFIX_IPV4 = Knob(24, int)  # a source network, as the sign-in caps and the pumping alarm count it
    SOURCE_PREFIX_IPV6 = Knob(48, int)
    # Wrong codes (across codes, from anywhere) over a rolling OTP_FAILURE_WINDOW before the number's
    # codes grow to OTP_LENGTH_UNDER_ATTACK; see the README's security section for the arithmetic.
    OTP_MAX_FAILURES_PER_NUMBER = Knob(10, int)
    OTP_FAILURE_WINDOW = Knob(86400, int)
    OTP_MAX_FAILURES_PER_IP_PER_HOUR = Knob(50, int)  # wrong codes from one address (IPv6: its /64)
    REFRESH_MAX_PER_IP_PER_HOUR = Knob(1800, int)  # token refreshes from one address (IPv6: its /64)
    PHONE_ALLOWED_TYPES = Knob(["mobile", "fixed_line_or_mobile"], parse_list)
    REAUTH_MAX_AGE = Knob(600, int)  # seconds a sign-in may be old to delete the account or change its number
    PHONE_CHANGE_MAX_PER_DAY = Knob(5, int)  # number-change codes one account may ask for a day
    OTP_TEST_NUMBERS = Knob({}, parse_test_numbers)
    OTP_TEST_NUMBERS_IN_PRODUCTION = Knob(False, parse_bool)

    SMS_MAX_PER_HOUR = Knob(0, int)  # the SMS-pumping breaker: global and per-region hourly caps
    SMS_MAX_PER_COUNTRY_PER_HOUR = Knob(0, int)
    SMS_ALLOWED_REGIONS = Knob([], parse_upper_list)

    # Passkeys (WebAuthn): the relying party, the origins allowed in clientDataJSON, ceremony lifetime;
    # native apps' identities for /.well-known/assetlinks.json and apple-app-site-association.
    WEBAUTHN_RP_ID = Knob("", str)  # default: the host of PUBLIC_BASE_URL, else localhost
    WEBAUTHN_RP_NAME = Knob("Cheershare", str)
    WEBAUTHN_ORIGINS = Knob([], parse_list)  # default: PUBLIC_BASE_URL's origin, else http://localhost:8000
    WEBAUTHN_CEREMONY_TTL = Knob(300, int)
    WEBAUTHN_MAX_PER_IP_PER_HOUR = Knob(600, int)  # passkey ceremonies begun from one source network
    ANDROID_APP_FINGERPRINTS = Knob([], parse_list)  # package:SHA-256 signing-certificate fingerprint (AB:CD:...)
    APPLE_APP_IDS = Knob([], parse_list)  # TEAMID.bundle.id

    CAPTCHA_SECRET = Knob("", str)  # set: the code request must carry a solved captcha_token
    CAPTCHA_VERIFY_URL = Knob("https://challenges.cloudflare.com/turnstile/v0/siteverify", str)
    CAPTCHA_FAIL_OPEN = Knob(False, parse_bool)  # provider unreachable: let requests through

    @property
    def rp_id(self) -> str:
        base = getattr(settings, "PUBLIC_BASE_URL", "")
        return self.WEBAUTHN_RP_ID or (urlsplit(base).hostname if base else "") or "localhost"

    @property
    def webauthn_origins(self) -> list[str]:
        """The origins a passkey ceremony may come from: the web's, and each Android app's."""
        base = getattr(settings, "PUBLIC_BASE_URL", "")
        web = self.WEBAUTHN_ORIGINS or [base.rstrip("/") if base else "http://localhost:8000"]
        return web + [android_origin(fingerprint) for _package, fingerprint in self.android_apps()]

    def android_apps(self) -> list[tuple[str, str]]:
        """ANDROID_APP_FINGERPRINTS as (package, fingerprint) pairs."""
        return [tuple(item.split(":", 1)) for item in self.ANDROID_APP_FINGERPRINTS]

    def test_numbers(self) -> dict[str, str]:
        """OTP_TEST_NUMBERS with the numbers in E.164 (ValueError if one is not a number)."""
        from accounts.phone import normalize_phone

        try:
            return {normalize_phone(number): code for number, code in self.OTP_TEST_NUMBERS.items()}
        except ValidationError:
            raise ValueError("OTP_TEST_NUMBERS holds a number that is not a valid phone number.") from None

    def problems(self) -> list[tuple[str, str]]:
        found = []
        if not 4 <= self.OTP_LENGTH <= 10:
            found.append(("accounts.E003", "OTP_LENGTH must be between 4 and 10 digits."))
        if not (8 <= self.SOURCE_PREFIX_IPV4 <= 32 and 16 <= self.SOURCE_PREFIX_IPV6 <= 128):
            found.append(("accounts.E008", "SOURCE_PREFIX_IPV4 must be 8-32 and SOURCE_PREFIX_IPV6 16-128."))
        try:
            bad_apps = [
                package
                for package, fingerprint in self.android_apps()
                if len(bytes.fromhex(fingerprint.replace(":", ""))) != 32
            ]
        except ValueError:
            bad_apps = ["?"]
        if bad_apps or any(":" not in item for item in self.ANDROID_APP_FINGERPRINTS):
            found.append(
                ("accounts.E009", "ANDROID_APP_FINGERPRINTS: each is package:SHA-256 fingerprint (32 bytes in hex).")
            )
        if self.WEBAUTHN_CEREMONY_TTL <= 0:
            found.append(("accounts.E010", "WEBAUTHN_CEREMONY_TTL must be a positive number of seconds."))
        if not self.OTP_LENGTH <= self.OTP_LENGTH_UNDER_ATTACK <= 12:
            found.append(("accounts.E007", "OTP_LENGTH_UNDER_ATTACK must be between OTP_LENGTH and 12 digits."))
        try:
            numbers = self.test_numbers()
        except ValueError as exc:
            found.append(("accounts.E001", str(exc)))
            numbers = {}
        found += [
            ("accounts.E002", f"OTP_TEST_NUMBERS: the code for {number} must be {self.OTP_LENGTH} digits.")
            for number, code in numbers.items()
            if len(code) != self.OTP_LENGTH or not code.isdigit()
        ]
        from accounts.phone import NUMBER_TYPES

        unknown = sorted(set(self.PHONE_ALLOWED_TYPES) - set(NUMBER_TYPES))
        if unknown or not self.PHONE_ALLOWED_TYPES:
            found.append(("accounts.E006", f"PHONE_ALLOWED_TYPES: unknown or no types {unknown}; see phonenumbers."))
        if not settings.DEBUG:
            if self.OTP_TEST_NUMBERS and not self.OTP_TEST_NUMBERS_IN_PRODUCTION:
                found.append(
                    (
                        "accounts.E005",
                        "OTP_TEST_NUMBERS is refused when DEBUG=0 unless OTP_TEST_NUMBERS_IN_PRODUCTION=1.",
                    )
                )
        return found


app_settings = AccountSettings()
