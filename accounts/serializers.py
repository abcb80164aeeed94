"""Request and response shapes of the sign-in and profile routes."""

import copy
import unicodedata
from functools import lru_cache

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers
from ua_parser import parse as ua_parse

from accounts.app_settings import app_settings
from accounts.code_store import is_verification_id
from accounts.phone import sign_in_number
from messaging.app_settings import app_settings as messaging_settings

# Control, surrogate and format characters (Cf: RLO and the other bidi controls, zero-width, tags).
INVISIBLE = frozenset({"Cc", "Cs", "Cf"})


def reject_control_characters(value: str) -> None:
    if any(unicodedata.category(char) in INVISIBLE for char in value):
        raise serializers.ValidationError(_("Control characters are not allowed."))


def clean_device_name(value: str) -> str:
    """A device name as stored: control characters dropped, trimmed, at most 100 characters."""
    return "".join(char for char in value if unicodedata.category(char) not in INVISIBLE).strip()[:100]


def device_name_of(given: str, user_agent: str) -> str:
    """The name a client gave its device, else one read from its User-Agent by ua-parser ("Chrome
    Mobile on Android"), else the User-Agent itself (cleaned)."""
    return clean_device_name(given) or clean_device_name(_named_agent(user_agent) or user_agent)


@lru_cache(maxsize=1024)
def _named_agent(user_agent: str) -> str:
    if not user_agent:
        return ""
    found = ua_parse(user_agent[:1000])
    browser = found.user_agent.family if found.user_agent and found.user_agent.family != "Other" else ""
    system = found.os.family if found.os and found.os.family != "Other" else ""
    if browser and system:
        return f"{browser} on {system}"  # stored, so in one language for every reader
    return browser or system


class StrictCharField(serializers.CharField):
    """A CharField that takes only JSON strings (DRF's would turn 5 into "5")."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class PhoneNumberField(StrictCharField):
    """Accepts E.164 or a national number (PHONE_DEFAULT_REGION); yields E.164."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 32)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        try:
            return sign_in_number(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from None


class NameField(StrictCharField):
    def __init__(self, **kwargs):
        super().__init__(min_length=1, max_length=100, validators=[reject_control_characters], **kwargs)


class OTPField(StrictCharField):
    """A string of OTP_LENGTH ASCII digits, or OTP_LENGTH_UNDER_ATTACK (a guessed-at number's codes)."""

    def __init__(self, **kwargs):
        super().__init__(max_length=12, **kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        lengths = {app_settings.OTP_LENGTH, app_settings.OTP_LENGTH_UNDER_ATTACK}
        if len(value) not in lengths or not value.isascii() or not value.isdigit():
            raise serializers.ValidationError(_("Enter the code the message gave you, digits only."))
        return value


class VerificationIdField(StrictCharField):
    """The ``verification_id`` a code request answered (its form checked, not its existence)."""

    def __init__(self, **kwargs):
        super().__init__(required=False, max_length=64, **kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if not is_verification_id(value):
            raise serializers.ValidationError(_("Send the verification_id the code request answered."))
        return value


class ChannelField(StrictCharField):
    """``sms`` (the default), ``whatsapp`` or ``voice``: one of OTP_CHANNELS."""

    def __init__(self, **kwargs):
        super().__init__(required=False, default="sms", max_length=16, **kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if value not in messaging_settings.OTP_CHANNELS:
            enabled = ", ".join(messaging_settings.OTP_CHANNELS)
            raise serializers.ValidationError(_("Choose one of: %(channels)s.") % {"channels": enabled})
        return value


class Input(serializers.Serializer):
    """A flat request shape. Its fields are shallow copies of the declared ones: DRF deep-copies
    them for every instance, which re-runs each field's ``__init__`` (its validators and merged
    error messages) and cost a code request 350 µs of its 5 ms; a copy binds on its own, and
    shares only what validation reads (validators, error messages)."""

    def get_fields(self):
        return {name: copy.copy(field) for name, field in self._declared_fields.items()}


class CodeRequestInput(Input):
    name = NameField(required=False, help_text="Used only if the account is created; optional.")
    phone_number = PhoneNumberField()
    channel = ChannelField()
    captcha_token = StrictCharField(required=False, allow_blank=True, max_length=4096)
    device_token = StrictCharField(
        required=False, allow_blank=True, max_length=100, help_text="What a sign-in on this device answered."
    )


class VerifyInput(Input):
    phone_number = PhoneNumberField()
    name = NameField(required=False)
    otp = OTPField()
    verification_id = VerificationIdField()
    device_name = StrictCharField(required=False, allow_blank=True, max_length=1000, trim_whitespace=False)
    device_token = StrictCharField(required=False, allow_blank=True, max_length=100)


class PhoneChangeInput(Input):
    """Without ``otp``: send a code to the new number. With it: verify it and move the account."""

    phone_number = PhoneNumberField()
    otp = OTPField(required=False)
    verification_id = VerificationIdField()
    channel = ChannelField()
    captcha_token = StrictCharField(required=False, allow_blank=True, max_length=4096)


class UserOutput(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)
    phone_number = serializers.CharField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)


_user_output = UserOutput()


def user_data(user) -> dict:
    """UserOutput's representation from one shared instance (building a serializer per request,
    with its deep-copied fields, costs more than the rest of GET /v1/me)."""
    return _user_output.to_representation(user)


class UserUpdateInput(Input):
    name = NameField()


class CodeSentOutput(serializers.Serializer):
    success = serializers.BooleanField()
    message = serializers.CharField()
    expires_in = serializers.IntegerField()
    resend_in = serializers.IntegerField()
    channel = serializers.ChoiceField(["sms", "whatsapp", "voice"])
    verification_id = serializers.CharField(help_text="Send it with the code: that request's code is checked.")


class GrantOutput(serializers.Serializer):
    """A session's new pair: ``token``/``expiry`` for the original clients, the rest OAuth-shaped."""

    token = serializers.CharField(help_text="The access token (the same as `access_token`).")
    expiry = serializers.DateTimeField(help_text="When the access token expires.")
    access_token = serializers.CharField()
    token_type = serializers.ChoiceField(["Bearer"])
    expires_in = serializers.IntegerField(help_text="Seconds until the access token expires.")
    refresh_token = serializers.CharField(help_text="Spend it at /v1/token/refresh for a new pair.")
    refresh_expiry = serializers.DateTimeField(help_text="When the session ends unless used before.")
    session_id = serializers.IntegerField()


class SignedInOutput(GrantOutput):
    success = serializers.BooleanField()
    message = serializers.CharField()
    created = serializers.BooleanField()
    data = UserOutput()
    device_token = serializers.CharField(
        help_text="Keep it beside the refresh token; send it with this device's next code requests."
    )


class RefreshInput(Input):
    refresh_token = StrictCharField(max_length=100, required=False, help_text="Or, with REFRESH_COOKIE, the cookie.")


class RefreshedOutput(GrantOutput):
    success = serializers.BooleanField()
    data = UserOutput()


class UserEnvelopeOutput(serializers.Serializer):
    success = serializers.BooleanField()
    data = UserOutput()
