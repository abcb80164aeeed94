"""What can go wrong in sign-in, as the services raise it (no HTTP here: accounts.api_errors maps it)."""


class SignInError(Exception):
    """Base of the sign-in services' errors; ``code`` is the stable machine code of API.md."""

    code = "sign_in_error"


class OTPInvalid(SignInError):
    code = "otp_invalid"

    def __init__(self, attempts_left: int):
        super().__init__(attempts_left)
        self.attempts_left = attempts_left


class OTPExpired(SignInError):
    code = "otp_expired"


class RateLimited(SignInError):
    """A limit refused the request; ``wait`` is the seconds until it would be accepted."""

    code = "throttled"

    def __init__(self, wait: float):
        super().__init__(wait)
        self.wait = max(int(wait), 1)


class Cooldown(RateLimited):
    code = "otp_cooldown"


class VerifyLocked(RateLimited):
    """The number spent its failure budget: no code is sent or accepted until the window ends."""

    code = "verify_locked"


class RegionNotAllowed(SignInError):
    code = "invalid"


class CaptchaInvalid(SignInError):
    code = "captcha_invalid"


class CaptchaUnavailable(SignInError):
    code = "captcha_unavailable"


class PhoneTaken(SignInError):
    """The new number of a number change belongs to another account."""

    code = "phone_taken"


class SameNumber(SignInError):
    code = "invalid"


class PhoneUndeliverable(SignInError):
    """Twilio reported the number cannot take messages (it is suppressed for a while)."""

    code = "phone_undeliverable"


class SMSUnavailable(SignInError):
    code = "sms_unavailable"


class ReauthRequired(SignInError):
    code = "reauth_required"


class AccountDisabled(SignInError):
    code = "account_disabled"


class PasskeyInvalid(SignInError):
    """A passkey sign-in failed, for whatever reason (401: nothing says which)."""

    code = "passkey_invalid"


class PasskeyRefused(SignInError):
    """A passkey enrolment's answer was refused (400)."""

    code = "passkey_invalid"
