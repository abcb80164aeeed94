"""The one place where sign-in errors become HTTP answers (DRF exceptions; the handler renders them)."""

from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from rest_framework import exceptions, status

from accounts import exceptions as errors

ANSWERS = {
    errors.OTPExpired: (status.HTTP_401_UNAUTHORIZED, _("That code has expired or was used: ask for a new one.")),
    errors.VerifyLocked: (
        status.HTTP_429_TOO_MANY_REQUESTS,
        _("Sign-in to this number is paused for now, please retry later."),
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
    errors.PasskeyInvalid: (status.HTTP_401_UNAUTHORIZED, _("That passkey could not sign you in.")),
    errors.PasskeyRefused: (status.HTTP_400_BAD_REQUEST, _("That passkey could not be added: try again.")),
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
    if isinstance(exc, errors.OTPInvalid):
        return SignInFailed(
            status.HTTP_401_UNAUTHORIZED,
            wrong_code_message(exc.attempts_left),
            exc.code,
            {"attempts_left": exc.attempts_left},
        )
    status_code, message = ANSWERS[type(exc)]
    return SignInFailed(status_code, message, exc.code, None, getattr(exc, "wait", None))


def wrong_code_message(attempts_left: int) -> str:
    if attempts_left <= 0:
        return _("That code is not right, and no tries are left for it: ask for a new one.")
    return ngettext(
        "That code is not right, %(count)d try left.", "That code is not right, %(count)d tries left.", attempts_left
    ) % {"count": attempts_left}


class SignInErrorsMixin:
    """For views that call the sign-in services: their errors answer as ``ANSWERS`` says."""

    def handle_exception(self, exc):
        if isinstance(exc, errors.SignInError):
            exc = to_api_exception(exc)
        return super().handle_exception(exc)
