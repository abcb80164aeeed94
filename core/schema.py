"""OpenAPI pieces shared by every view: the error envelope, with the ``code`` values each route can
answer as an enum and an example of each (docs/api.md's table says what every code means)."""

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, inline_serializer
from rest_framework import serializers

DESCRIPTIONS = {
    400: "Invalid input (`invalid`, with `fields`), a body that is not a JSON object (`parse_error`), or as the "
    "`code` says.",
    401: "Missing, malformed, unknown or expired credentials, or a wrong or expired code.",
    403: "Refused: sign in again first (`reauth_required`), or not signed by Twilio (`signature_invalid`).",
    404: "Not found.",
    409: "The number belongs to another account (`phone_taken`).",
    413: "Body over 1 MiB.",
    415: "Body is not JSON.",
    429: "Too many requests: wait `retry_after` seconds (also the `Retry-After` header).",
    503: "A dependency (database, cache, broker, SMS or CAPTCHA provider) is unavailable: retry shortly.",
}
COMMON_CODES = {  # what any route can answer with each status
    400: ["invalid", "parse_error"],
    401: ["not_authenticated", "token_invalid"],
    403: ["reauth_required"],
    404: ["not_found"],
    409: ["phone_taken"],
    413: ["payload_too_large"],
    415: ["unsupported_media_type"],
    429: ["throttled"],
    503: ["service_unavailable"],
}
EXAMPLES = {  # code: the English `error` of an example answer
    "invalid": "Invalid input.",
    "parse_error": "The request body is not valid JSON.",
    "captcha_invalid": "The CAPTCHA was not solved, please try again.",
    "phone_undeliverable": "Messages cannot be delivered to this number; check it or use another one.",
    "not_authenticated": "Authentication credentials were not provided.",
    "token_invalid": "Invalid or expired token.",
    "otp_invalid": "That code is not right, 4 tries left.",
    "otp_expired": "That code has expired or was used: ask for a new one.",
    "account_disabled": "This account is disabled.",
    "passkey_invalid": "That passkey could not sign you in.",
    "introspection_unauthorized": "Incorrect authentication credentials.",
    "refresh_invalid": "Invalid or expired refresh token.",
    "refresh_reused": "This refresh token was already used, so the session has ended: sign in again.",
    "reauth_required": "Sign in again (a fresh code) to do this.",
    "signature_invalid": "The request is not signed by Twilio.",
    "not_found": "Not found.",
    "phone_taken": "This number belongs to another account.",
    "payload_too_large": "Request body is too large.",
    "unsupported_media_type": 'Unsupported media type "text/plain" in request.',
    "otp_cooldown": "Please wait before requesting another OTP.",
    "throttled": "Too many requests, please retry later.",
    "verify_locked": "Sign-in to this number is paused for now, please retry later.",
    "service_unavailable": "The service is temporarily unavailable, please retry shortly.",
    "sms_unavailable": "The SMS service is unavailable, please retry shortly.",
    "captcha_unavailable": "The CAPTCHA check is unavailable, please retry shortly.",
}
_serializers: dict[tuple[int, tuple[str, ...]], type] = {}  # one component per status and set of codes


def error_responses(*statuses: int, name: str = "", codes: dict[int, list[str]] | None = None) -> dict:
    """The error answers of a route: for each status, the envelope with the route's ``code`` values
    (``codes``, else COMMON_CODES) as an enum, and an example of each. ``name`` prefixes the schema
    components of a route whose codes differ from the common ones."""
    codes = {**COMMON_CODES, **(codes or {})}
    return {
        status: OpenApiResponse(
            _envelope(
                f"{name}Error{status}" if codes[status] != COMMON_CODES.get(status) else f"Error{status}",
                status,
                tuple(codes[status]),
            ),
            description=DESCRIPTIONS[status],
            examples=[_example(status, code) for code in codes[status]],
        )
        for status in statuses
    }


def _envelope(component: str, status: int, codes: tuple[str, ...]) -> type:
    """The envelope with ``codes``, named ``component`` unless a route named it first."""
    key = (status, codes)
    if key not in _serializers:
        _serializers[key] = inline_serializer(
            component,
            {
                "success": serializers.BooleanField(default=False),
                "error": serializers.CharField(help_text="One sentence for people, in the request's language."),
                "code": serializers.ChoiceField(codes, help_text="Stable, for programs (see docs/api.md)."),
                "fields": serializers.DictField(
                    child=serializers.ListField(child=serializers.CharField()),
                    required=False,
                    help_text="`invalid` only: messages by field.",
                ),
                "attempts_left": serializers.IntegerField(required=False, help_text="`otp_invalid` only."),
                "retry_after": serializers.IntegerField(required=False, help_text="429 only: seconds to wait."),
            },
        )
    return _serializers[key]


def _example(status: int, code: str) -> OpenApiExample:
    value = {"success": False, "error": EXAMPLES[code], "code": code}
    if code == "invalid":
        value["fields"] = {"phone_number": ["Enter a valid phone number."]}
    elif code == "otp_invalid":
        value["attempts_left"] = 4
    elif status == 429:
        value["retry_after"] = 42
    return OpenApiExample(code, value=value, status_codes=[str(status)], response_only=True)
