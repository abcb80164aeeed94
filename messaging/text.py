"""What a code's message says: the SMS text (the region's template in the request's language, the
do-not-share line, the Android SMS Retriever hash, the WebOTP line last) and the voice call's TwiML."""

from django.utils import translation
from django.utils.translation import gettext
from twilio.twiml.voice_response import VoiceResponse

from messaging import regions
from messaging.app_settings import app_settings
from messaging.segments import encoding, segments

VOICE_LANGUAGES = {"en": "en-IN", "hi": "hi-IN"}


def render_sms(code: str, language: str, region: str) -> str:
    with translation.override(language):
        template = (
            regions.config_for(region).templates.get(language)
            or app_settings.SMS_MESSAGE_TEMPLATE
            or gettext("Thank you for choosing Cheershare! Your one-time password is {otp}.")
        )
        lines = [template.replace("{otp}", code)]
        if app_settings.SMS_DO_NOT_SHARE_WARNING:
            lines.append(gettext("Do not share this code with anyone."))
    if app_settings.ANDROID_APP_HASH:
        lines.append(app_settings.ANDROID_APP_HASH)
    if app_settings.WEB_OTP_DOMAIN:
        lines.append(f"@{app_settings.WEB_OTP_DOMAIN} #{code}")  # WebOTP: the last line, by its rules
    return "\n".join(lines)


def render_voice(code: str, language: str) -> str:
    """TwiML that reads the code digit by digit, twice, in ``language``."""
    with translation.override(language):
        sentence = gettext("Your Cheershare code is %(digits)s.") % {"digits": ", ".join(code)}
    response = VoiceResponse()
    for _ in range(2):
        response.say(sentence, language=VOICE_LANGUAGES.get(language, "en-IN"))
        response.pause(length=1)
    return str(response)


SAMPLE_CODE = "123456"
LANGUAGES = ("en", "hi")
MAX_SEGMENTS = 3


def previews() -> list[tuple[str, str, str]]:
    """(region, language, rendered SMS with a sample code) for the default and every configured region."""
    return [
        (region, language, render_sms(SAMPLE_CODE, language, region))
        for region in ["default", *sorted(regions.configured())]
        for language in LANGUAGES
    ]


def measured_previews() -> list[tuple[str, str, str, int]]:
    """(region, language, encoding, segments) of every preview; none when SMS_REGION_CONFIG cannot be
    read (regions.problems() reports that)."""
    try:
        return [(region, language, encoding(body), segments(body)) for region, language, body in previews()]
    except ValueError:
        return []


def length_problems() -> list[tuple[str, str]]:
    """An error for every configured message that needs more than MAX_SEGMENTS segments."""
    return [
        ("messaging.E013", f"The {region}/{language} SMS needs {count} segments (at most {MAX_SEGMENTS}).")
        for region, language, _encoding, count in measured_previews()
        if count > MAX_SEGMENTS
    ]
