"""The one place where sign-in errors become HTTP answers (DRF exceptions; the handler renders them)."""

from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, status

from accounts import exceptions as errors

ANSWERS = {
    errors.OTPInvalid: (status.HTTP_401_UNAUTHORIZED, _("Invalid or expired OTP")),
    errors.OTPExpired: (status.HTTP_401_UNAUTHORIZED, _("Invalid or expired OTP")),
    errors.VerifyLocked: (
        status.HTTP_429_TOO_MANY_REQUESTS,
        _("Too many wrong codes for this number, please retry later."),
    ),
    errors.Cooldown: (status.HTTP_429_TOO_MANY_REQUESTS, _("Please wait before requesting another OTP.")),
    errors.RateLimited: (status.HTTP_429_TOO_MANY_REQUESTS, _("Too many requests, please retry later.")),
    errors.SMSUnavailable: (
        status.HTTP_503_SERVICE_UNAVAILABLE,
        _("The SMS service is unavailable, please retry shortly."),
    ),
    errors.CaptchaInvalid: (status.HTTP_400_BAD_REQUEST, _("The CAPTCHA was not solved, please try again.")),
    errors.CaptchaUnavailable: (
        status.HTTP_503_SERVICE_UNAVAILABLE,
        _("The CAPTCHA check is unavailable, please retry shortly."),
    ),
    errors.PhoneUndeliverable: (
        status.HTTP_400_BAD_REQUEST,
        _("Messages cannot be delivered to this number; check it or use another one."),
    ),
    errors.PhoneTaken: (status.HTTP_409_CONFLICT, _("This number belongs to another account.")),
    errors.AccountDisabled: (status.HTTP_401_UNAUTHORIZED, _("This account is disabled.")),
    errors.ReauthRequired: (
        status.HTTP_403_FORBIDDEN,
        _("Sign in again (a fresh code) to do this."),
    ),
}


class SignInFailed(exceptions.APIException):
    def __init__(self, status_code: int, detail, code: str, extra: dict | None = None, wait: int | None = None):
        super().__init__(detail, code)
        self.status_code = status_code
        self.extra = extra or {}
        self.wait = wait  # DRF's handler turns it into Retry-After


def to_api_exception(exc: errors.SignInError) -> exceptions.APIException:
    if isinstance(exc, errors.RegionNotAllowed):
        return exceptions.ValidationError({"phone_number": [_("SMS cannot be sent to this country.")]})
    if isinstance(exc, errors.SameNumber):
        return exceptions.ValidationError({"phone_number": [_("This is already your number.")]})
    status_code, message = ANSWERS[type(exc)]
    extra = {"attempts_left": exc.attempts_left} if isinstance(exc, errors.OTPInvalid) else None
    if isinstance(exc, errors.OTPInvalid) and exc.attempts_left <= 0:
        message = _("Invalid OTP, and no attempts are left for this code: request a new one.")
    return SignInFailed(status_code, message, exc.code, extra, getattr(exc, "wait", None))


class SignInErrorsMixin:
    """For views that call the sign-in services: their errors answer as ``ANSWERS`` says."""

    def handle_exception(self, exc):
        if isinstance(exc, errors.SignInError):
            exc = to_api_exception(exc)
        return super().handle_exception(exc)
