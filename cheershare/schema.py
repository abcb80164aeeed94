"""OpenAPI pieces shared by every view: the error envelope and its responses."""

from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class ErrorEnvelope(serializers.Serializer):
    success = serializers.BooleanField(default=False)
    error = serializers.CharField()
    code = serializers.CharField()
    fields = serializers.DictField(child=serializers.ListField(child=serializers.CharField()), required=False)
    attempts_left = serializers.IntegerField(required=False)


DESCRIPTIONS = {
    400: "Invalid input (`invalid`, with `fields`), a body that is not a JSON object (`parse_error`), "
    "or a refused CAPTCHA (`captcha_invalid`).",
    401: "Missing, malformed, unknown or expired credentials, or a wrong or expired code.",
    403: "Refused: e.g. `reauth_required` (sign in again first), `signature_invalid` (not signed by Twilio).",
    404: "Not found.",
    409: "The number belongs to another account (`phone_taken`).",
    413: "Body over 1 MiB.",
    415: "Body is not JSON.",
    429: "Too many requests (`throttled`, `otp_cooldown`, `verify_locked`); see `Retry-After`.",
    503: "A dependency (database, cache, broker, SMS or CAPTCHA provider) is unavailable.",
}


def error_responses(*statuses: int) -> dict:
    return {status: OpenApiResponse(ErrorEnvelope, description=DESCRIPTIONS[status]) for status in statuses}
