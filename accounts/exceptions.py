"""Errors the sign-in services raise, in DRF's manner; the exception handler renders the envelope."""

from django.utils.translation import gettext_lazy as _
from rest_framework import status
from rest_framework.exceptions import APIException


class OTPInvalid(APIException):
    status_code = status.HTTP_401_UNAUTHORIZED
    default_detail = _("Invalid or expired OTP")
    default_code = "otp_invalid"

    def __init__(self, attempts_left: int):
        super().__init__()
        self.extra = {"attempts_left": attempts_left}


class OTPExpired(APIException):
    status_code = status.HTTP_401_UNAUTHORIZED
    default_detail = _("Invalid or expired OTP")
    default_code = "otp_expired"


class RateLimited(APIException):
    """A 429 with ``Retry-After``; ``wait`` is in seconds (DRF's handler sets the header from it)."""

    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_detail = _("Too many requests, please retry later.")
    default_code = "throttled"

    def __init__(self, wait: int, detail=None, code=None):
        super().__init__(detail, code)
        self.wait = max(int(wait), 1)


class Cooldown(RateLimited):
    default_detail = _("Please wait before requesting another OTP.")
    default_code = "otp_cooldown"


class SMSUnavailable(APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = _("The SMS service is unavailable, please retry shortly.")
    default_code = "sms_unavailable"


class AccountDisabled(APIException):
    status_code = status.HTTP_401_UNAUTHORIZED
    default_detail = _("This account is disabled.")
    default_code = "account_disabled"
