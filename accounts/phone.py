"""Phone numbers: parse what a person typed (E.164 or national) and normalize it to E.164."""

import phonenumbers
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from accounts.app_settings import app_settings
from messaging.numbers import parsed

MAX_INPUT_LENGTH = 32
INVALID_MESSAGE = _("Enter a valid phone number, e.g. +919876543210.")
NATIONAL_MESSAGE = _(
    "Enter a valid phone number. A number without + is read as a number of region %(region)s; "
    "for another country, start with + and its code."
)
NUMBER_TYPES = {name.lower(): value for name, value in vars(phonenumbers.PhoneNumberType).items() if name.isupper()}
TYPE_MESSAGE = _("This kind of number cannot receive sign-in codes; use a mobile number.")


def normalize_phone(raw: str) -> str:
    """Return ``raw`` in E.164, reading national numbers in PHONE_DEFAULT_REGION; else ValidationError."""
    number = _parse(raw)
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(INVALID_MESSAGE, code="invalid")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def sign_in_number(raw: str) -> str:
    """``raw`` in E.164 if it is a valid number of a type in PHONE_ALLOWED_TYPES (no premium-rate,
    toll-free, satellite, shared-cost, UAN, pager or personal numbers by default); else ValidationError.

    One parse and one type lookup (phonenumbers' type is UNKNOWN exactly when the number is invalid);
    a number starting with ``+`` is parsed through ``parsed``, so an E.164 one is parsed once per request."""
    number = _parse(raw)
    kind = phonenumbers.number_type(number)
    if kind == phonenumbers.PhoneNumberType.UNKNOWN:
        raise _invalid(raw)
    if kind not in {NUMBER_TYPES[name] for name in app_settings.PHONE_ALLOWED_TYPES if name in NUMBER_TYPES}:
        raise ValidationError(TYPE_MESSAGE, code="invalid")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def validate_e164(value: str) -> None:
    """Model-field validator: the value must already be a valid number in E.164."""
    if normalize_phone(value) != value:
        raise ValidationError(_("Enter the number in E.164 form, e.g. +919876543210."), code="invalid")


def _parse(raw: str) -> phonenumbers.PhoneNumber:
    if not isinstance(raw, str) or not raw.strip() or len(raw) > MAX_INPUT_LENGTH:
        raise ValidationError(INVALID_MESSAGE, code="invalid")
    text = raw.strip()
    try:
        return parsed(text) if text.startswith("+") else phonenumbers.parse(text, app_settings.PHONE_DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        raise _invalid(text) from None


def _invalid(raw: str) -> ValidationError:
    """The refusal of a number that is not one; a national one's says which region it was read in."""
    if raw.strip().startswith("+"):
        return ValidationError(INVALID_MESSAGE, code="invalid")
    return ValidationError(NATIONAL_MESSAGE, code="invalid", params={"region": app_settings.PHONE_DEFAULT_REGION})
