"""The CAPTCHA gate of the code request (off unless CAPTCHA_SECRET is set).

The token is checked server-side by the provider's siteverify endpoint (Cloudflare Turnstile by
default; hCaptcha and reCAPTCHA take the same form: ``secret``, ``response``, ``remoteip``).
"""

import logging

import requests

from accounts.app_settings import app_settings
from accounts.exceptions import CaptchaInvalid, CaptchaUnavailable

logger = logging.getLogger(__name__)
TIMEOUT_SECONDS = 3


def require_captcha(token: str, client_ip: str) -> None:
    """Raise CaptchaInvalid if the provider refuses ``token``, CaptchaUnavailable if it cannot be
    asked (unless CAPTCHA_FAIL_OPEN)."""
    if not app_settings.CAPTCHA_SECRET:
        return
    if not token:
        raise CaptchaInvalid()
    form = {"secret": app_settings.CAPTCHA_SECRET, "response": token, "remoteip": client_ip}
    try:
        answer = requests.post(app_settings.CAPTCHA_VERIFY_URL, data=form, timeout=TIMEOUT_SECONDS)
        answer.raise_for_status()
        passed = answer.json().get("success") is True
    except (requests.RequestException, ValueError, AttributeError) as exc:
        logger.error("CAPTCHA provider unreachable", extra={"error": type(exc).__name__})
        if app_settings.CAPTCHA_FAIL_OPEN:
            return
        raise CaptchaUnavailable() from None
    if not passed:
        raise CaptchaInvalid()
