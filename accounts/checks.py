"""System checks: a malformed OTP_TEST_NUMBERS stops the start instead of failing requests later."""

from django.conf import settings
from django.core.checks import Error, register
from django.core.exceptions import ValidationError

from accounts.otp import test_numbers


@register()
def check_test_numbers(app_configs, **kwargs):
    try:
        numbers = test_numbers()
    except ValidationError:
        return [Error("OTP_TEST_NUMBERS holds a number that is not a valid phone number.", id="accounts.E001")]
    return [
        Error(f"OTP_TEST_NUMBERS: the code for {number} must be {settings.OTP_LENGTH} digits.", id="accounts.E002")
        for number, code in numbers.items()
        if len(code) != settings.OTP_LENGTH or not code.isdigit()
    ]
