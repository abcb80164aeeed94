"""/v1/signup (request a code, or verify it), /v1/token/refresh, /v1/me and /v1/protected: parse,
call one service, answer."""

from django.utils.decorators import method_decorator
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from drf_spectacular.utils import OpenApiExample, PolymorphicProxySerializer, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import limits, otp
from accounts.account import change_phone, delete_account, request_phone_change
from accounts.api_errors import SignInErrorsMixin
from accounts.serializers import (
    CodeRequestInput,
    CodeSentOutput,
    PhoneChangeInput,
    RefreshedOutput,
    RefreshInput,
    SignedInOutput,
    UserEnvelopeOutput,
    UserUpdateInput,
    VerifyInput,
    device_name_of,
    user_data,
)
from accounts.signin import sign_in
from core.client_ip import client_ip
from core.schema import error_responses
from tokens import cookie as refresh_cookie
from tokens.api_errors import RefreshErrorsMixin
from tokens.refresh import refresh

PAIR_EXAMPLE = {
    "token": "K3JQ7YB2XWXGQ5ZL5T4KQFZV3M",
    "expiry": "2026-12-07T10:00:00Z",
    "access_token": "K3JQ7YB2XWXGQ5ZL5T4KQFZV3M",
    "token_type": "Bearer",
    "expires_in": 172800,
    "refresh_token": "7NQ2M5XJ4ZK3B6W2Y7PLR5TQHA",
    "refresh_expiry": "2027-01-04T10:00:00Z",
    "session_id": 12,
}
USER_EXAMPLE = {"id": 1, "name": "Asha", "phone_number": "+919876543210", "created_at": "2026-12-05T10:00:00Z"}
SIGNUP_EXAMPLES = [
    OpenApiExample("1. Request a code", value={"name": "Asha", "phone_number": "+919876543210"}, request_only=True),
    OpenApiExample(
        "2. Verify it",
        value={
            "phone_number": "+919876543210",
            "otp": "123456",
            "verification_id": "q7RkZ3xY0fN2aL8cW4vB1g",
            "device_name": "Pixel 8",
        },
        request_only=True,
    ),
    OpenApiExample(
        "1. Code sent",
        value={
            "success": True,
            "message": "OTP sent successfully",
            "expires_in": 300,
            "resend_in": 60,
            "channel": "sms",
            "verification_id": "q7RkZ3xY0fN2aL8cW4vB1g",
        },
        response_only=True,
        status_codes=["200"],
    ),
    OpenApiExample(
        "2. Signed in",
        value={
            "success": True,
            "message": "User registered successfully",
            "created": True,
            "data": USER_EXAMPLE,
            **PAIR_EXAMPLE,
            "device_token": "Zq3v0Jb8k2LrT6yHn1WcX5uE9sAd4fGp7mKoQiRtBwY",
        },
        response_only=True,
        status_codes=["200"],
    ),
]
CODE_REQUEST_CODES = {
    400: ["invalid", "parse_error", "captcha_invalid", "phone_undeliverable"],
    429: ["otp_cooldown", "throttled", "verify_locked"],
    503: ["service_unavailable", "sms_unavailable", "captcha_unavailable"],
}


@method_decorator(never_cache, name="dispatch")
class SignupView(SignInErrorsMixin, APIView):
    """Public: no authentication runs here, so a client still sending a revoked token can sign in."""

    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(
        request=PolymorphicProxySerializer(
            "SignupRequest", [CodeRequestInput, VerifyInput], resource_type_field_name=None
        ),
        responses={
            200: PolymorphicProxySerializer(
                "SignupResponse", [CodeSentOutput, SignedInOutput], resource_type_field_name=None
            ),
            **error_responses(
                400,
                401,
                413,
                415,
                429,
                503,
                name="Signup",
                codes={**CODE_REQUEST_CODES, 401: ["otp_invalid", "otp_expired", "account_disabled"]},
            ),
        },
        examples=SIGNUP_EXAMPLES,
        description="Without `otp`: send a code by SMS. With `otp`: verify it and receive a bearer token.",
    )
    def post(self, request):
        if "otp" in request.data:
            return self._verify(request)
        data = validated(CodeRequestInput, request.data)
        issued = otp.request_code(
            phone=data["phone_number"],
            name=data.get("name", ""),
            client_ip=client_ip(request),
            language=get_language(),
            channel=data["channel"],
            captcha_token=data.get("captcha_token", ""),
            device_token=data.get("device_token", ""),
        )
        return _code_sent(issued)

    def _verify(self, request):
        data = validated(VerifyInput, request.data)
        device_name = device_name_of(data.get("device_name", ""), request.headers.get("User-Agent", ""))
        result = sign_in(
            phone=data["phone_number"],
            code=data["otp"],
            device_name=device_name,
            client_ip=client_ip(request),
            name=data.get("name", ""),
            verification_id=data.get("verification_id"),
            device_token=data.get("device_token", ""),
        )
        return signed_in_answer(result)


@method_decorator(never_cache, name="dispatch")
class TokenRefreshView(SignInErrorsMixin, RefreshErrorsMixin, APIView):
    """Public: the refresh token is the credential; any ``Authorization`` header is ignored."""

    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(
        request=RefreshInput,
        responses={
            200: RefreshedOutput,
            **error_responses(
                400, 401, 413, 415, 429, 503, name="Refresh", codes={401: ["refresh_invalid", "refresh_reused"]}
            ),
        },
        description="Spend a refresh token for a new access token and a new refresh token of the same "
        "session. The same token sent again within a few seconds gets the same answer; later, it ends "
        "the session (401 `refresh_reused`). Unknown or ended: 401 `refresh_invalid`.",
    )
    def post(self, request):
        data = validated(RefreshInput, request.data)
        plaintext = data.get("refresh_token") or refresh_cookie.presented(request)
        if not plaintext:
            raise serializers.ValidationError({"refresh_token": [_("This field is required.")]})
        limits.admit_refresh(client_ip(request))
        grant = refresh(plaintext)
        answer = Response({"success": True, "data": user_data(grant.user), **grant.fields})
        return refresh_cookie.deliver(answer, grant.fields)


@method_decorator(never_cache, name="dispatch")
class MeView(SignInErrorsMixin, APIView):
    @extend_schema(
        responses={200: UserEnvelopeOutput, **error_responses(401, 503)}, description="The signed-in account."
    )
    def get(self, request):
        return Response({"success": True, "data": user_data(request.user)})

    @extend_schema(
        request=UserUpdateInput,
        responses={200: UserEnvelopeOutput, **error_responses(400, 401, 413, 415, 503)},
        description="Change the account's name.",
    )
    def patch(self, request):
        data = validated(UserUpdateInput, request.data)
        request.user.name = data["name"]
        request.user.save(update_fields=["name"])
        return Response({"success": True, "data": user_data(request.user)})

    @extend_schema(
        responses={204: None, **error_responses(401, 403, 503)},
        description="Delete the account, its sessions and pending codes. Needs a recent sign-in (a code "
        "verified in this session less than 10 minutes ago, by default), else 403 `reauth_required`.",
    )
    def delete(self, request):
        delete_account(user=request.user, token=request.auth)
        return Response(status=204)


@method_decorator(never_cache, name="dispatch")
class PhoneChangeView(SignInErrorsMixin, APIView):
    @extend_schema(
        request=PhoneChangeInput,
        responses={
            200: PolymorphicProxySerializer(
                "PhoneChangeResponse", [CodeSentOutput, UserEnvelopeOutput], resource_type_field_name=None
            ),
            **error_responses(
                400,
                401,
                403,
                409,
                413,
                415,
                429,
                503,
                name="PhoneChange",
                codes={**CODE_REQUEST_CODES, 401: ["not_authenticated", "token_invalid", "otp_invalid", "otp_expired"]},
            ),
        },
        description="Without `otp`: send a code to the new number. With `otp`: verify it and move the "
        "account to it (409 `phone_taken` if another account holds it); every other session ends. "
        "Both steps need a recent sign-in (10 minutes, by default), else 403 `reauth_required`.",
    )
    def post(self, request):
        data = validated(PhoneChangeInput, request.data)
        if "otp" not in data:
            issued = request_phone_change(
                user=request.user,
                token=request.auth,
                phone=data["phone_number"],
                client_ip=client_ip(request),
                language=get_language(),
                channel=data["channel"],
                captcha_token=data.get("captcha_token", ""),
            )
            return _code_sent(issued)
        user = change_phone(
            user=request.user,
            token=request.auth,
            phone=data["phone_number"],
            code=data["otp"],
            client_ip=client_ip(request),
            verification_id=data.get("verification_id"),
        )
        return Response({"success": True, "data": user_data(user)})


class ProtectedView(APIView):
    @extend_schema(
        responses={200: inline_serializer("Protected", {"data": serializers.CharField()}), **error_responses(401, 503)},
        description="An example of a route that needs a bearer token.",
    )
    def get(self, request):
        return Response({"data": "Protected"})


def _code_sent(issued: otp.IssuedCode) -> Response:
    return Response(
        {
            "success": True,
            "message": _("OTP sent successfully"),
            "expires_in": issued.expires_in,
            "resend_in": issued.resend_in,
            "channel": issued.channel,
            "verification_id": issued.verification_id,
        }
    )


def signed_in_answer(result) -> Response:
    """The answer to a sign-in, by code or by passkey: the account, the session's pair (the refresh
    token in its cookie, with REFRESH_COOKIE) and the device's token."""
    answer = Response(
        {
            "success": True,
            "message": _("User registered successfully") if result.created else _("User logged in successfully"),
            "created": result.created,
            "data": user_data(result.user),
            **result.grant.fields,
            "device_token": result.device_token,
        }
    )
    return refresh_cookie.deliver(answer, result.grant.fields)


def validated(serializer_class, data) -> dict:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data
