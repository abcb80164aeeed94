"""/v1/passkeys (enrol, list, rename, remove) and /v1/passkeys/signin (sign in with no message), and
the native apps' /.well-known files: parse, call one service, answer."""

from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache
from drf_spectacular.utils import OpenApiExample, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import passkey_ceremonies as ceremonies
from accounts.api_errors import SignInErrorsMixin
from accounts.app_settings import app_settings
from accounts.passkeys import Passkey
from accounts.serializers import Input, NameField, SignedInOutput, StrictCharField, device_name_of
from accounts.views import signed_in_answer, validated
from core.client_ip import client_ip
from core.schema import error_responses


class CeremonyInput(Input):
    ceremony_id = StrictCharField(max_length=64)
    credential = serializers.DictField(help_text="PublicKeyCredential.toJSON(), WebAuthn Level 3.")


class EnrolInput(CeremonyInput):
    name = NameField(required=False)


class PasskeySignInInput(CeremonyInput):
    device_name = StrictCharField(required=False, allow_blank=True, max_length=1000, trim_whitespace=False)
    device_token = StrictCharField(required=False, allow_blank=True, max_length=100)


class RenameInput(Input):
    name = NameField()


class PasskeyOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    created_at = serializers.DateTimeField()
    last_used_at = serializers.DateTimeField(allow_null=True)
    backed_up = serializers.BooleanField()


Options = inline_serializer(
    "PasskeyOptions", {"success": serializers.BooleanField(), "ceremony_id": serializers.CharField(),
                       "publicKey": serializers.DictField()},
)  # fmt: skip


ASSERTION = {
    "id": "q8p1Zf2mQ0W9kT3vYc5d7A",
    "rawId": "q8p1Zf2mQ0W9kT3vYc5d7A",
    "type": "public-key",
    "response": {
        "clientDataJSON": "eyJ0eXBlIjoid2ViYXV0aG4uZ2V0Iiwi...",
        "authenticatorData": "SZYN5YgOjGh0NBcPZHZgW4_krrmihjLHmVzzuoMdl2MdAAAAAA",
        "signature": "MEUCIQC...",
        "userHandle": "3q2-7wAAAAAAAAAAAAAAAA",
    },
    "clientExtensionResults": {},
    "authenticatorAttachment": "platform",
}
SIGN_IN_EXAMPLE = OpenApiExample(
    "Sign in",
    value={"ceremony_id": "xY2n8dQe3rT1uV9wK4zB7mLpA5sC0fGh", "credential": ASSERTION, "device_name": "Pixel 8"},
    request_only=True,
)
ENROL_EXAMPLE = OpenApiExample(
    "Add a passkey",
    value={
        "ceremony_id": "xY2n8dQe3rT1uV9wK4zB7mLpA5sC0fGh",
        "credential": {
            "id": "q8p1Zf2mQ0W9kT3vYc5d7A",
            "rawId": "q8p1Zf2mQ0W9kT3vYc5d7A",
            "type": "public-key",
            "response": {"clientDataJSON": "eyJ0eXBlIjoid2ViYXV0aG4uY3JlYXRlIiwi...",
                         "attestationObject": "o2NmbXRkbm9uZWdhdHRTdG10oGhhdXRoRGF0YV...",
                         "transports": ["internal", "hybrid"]},
            "clientExtensionResults": {},
            "authenticatorAttachment": "platform",
        },
        "name": "Asha's phone",
    },
    request_only=True,
)  # fmt: skip


def _passkey(passkey: Passkey) -> dict:
    return PasskeyOutput(passkey).data


@method_decorator(never_cache, name="dispatch")
class PasskeyOptionsView(SignInErrorsMixin, APIView):
    @extend_schema(
        request=None,
        responses={
            200: Options,
            **error_responses(401, 403, 429, 503, name="PasskeyOptions", codes={403: ["reauth_required"]}),
        },
        description="Creation options for a new passkey of this account (its sign-in must be recent).",
    )
    def post(self, request):
        ceremony_id, options = ceremonies.enrolment_options(
            user=request.user, token=request.auth, client_ip=client_ip(request)
        )
        return Response({"success": True, "ceremony_id": ceremony_id, "publicKey": options})


@method_decorator(never_cache, name="dispatch")
class PasskeyListView(SignInErrorsMixin, APIView):
    @extend_schema(
        responses={200: inline_serializer("Passkeys", {"success": serializers.BooleanField(),
                                                       "data": PasskeyOutput(many=True)}),
                   **error_responses(401, 503)},
        description="This account's passkeys (never their keys).",
    )  # fmt: skip
    def get(self, request):
        return Response({"success": True, "data": [_passkey(p) for p in request.user.passkeys.all()]})

    @extend_schema(
        request=EnrolInput,
        responses={
            201: inline_serializer("PasskeyAdded", {"success": serializers.BooleanField(), "data": PasskeyOutput()}),
            **error_responses(
                400,
                401,
                403,
                503,
                name="PasskeyEnrol",
                codes={400: ["invalid", "parse_error", "passkey_invalid"], 403: ["reauth_required"]},
            ),
        },
        examples=[ENROL_EXAMPLE],
        description="Add the passkey the authenticator made for `ceremony_id` "
        "(`passkey_invalid` if it does not verify).",
    )
    def post(self, request):
        data = validated(EnrolInput, request.data)
        passkey = ceremonies.enrol(
            user=request.user,
            token=request.auth,
            ceremony_id=data["ceremony_id"],
            credential=data["credential"],
            name=data.get("name", ""),
        )
        return Response({"success": True, "data": _passkey(passkey)}, status=201)


@method_decorator(never_cache, name="dispatch")
class PasskeyDetailView(SignInErrorsMixin, APIView):
    @extend_schema(
        request=RenameInput,
        responses={200: inline_serializer("PasskeyRenamed", {"success": serializers.BooleanField(),
                                                             "data": PasskeyOutput()}),
                   **error_responses(400, 401, 404, 503)},
        description="Rename one of this account's passkeys.",
    )  # fmt: skip
    def patch(self, request, pk: int):
        passkey = get_object_or_404(Passkey, pk=pk, user=request.user)
        passkey.name = validated(RenameInput, request.data)["name"]
        passkey.save(update_fields=["name"])
        return Response({"success": True, "data": _passkey(passkey)})

    @extend_schema(responses={204: None, **error_responses(401, 404, 503)}, description="Remove a passkey.")
    def delete(self, request, pk: int):
        get_object_or_404(Passkey, pk=pk, user=request.user).delete()
        return Response(status=204)


@method_decorator(never_cache, name="dispatch")
class PasskeySignInOptionsView(SignInErrorsMixin, APIView):
    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(
        request=None,
        responses={200: Options, **error_responses(429, 503)},
        description="Request options for a passkey sign-in: no credential named (the authenticator offers its own).",
    )
    def post(self, request):
        ceremony_id, options = ceremonies.sign_in_options(client_ip=client_ip(request))
        return Response({"success": True, "ceremony_id": ceremony_id, "publicKey": options})


@method_decorator(never_cache, name="dispatch")
class PasskeySignInView(SignInErrorsMixin, APIView):
    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(
        request=PasskeySignInInput,
        responses={
            200: SignedInOutput,
            **error_responses(400, 401, 503, name="PasskeySignIn", codes={401: ["passkey_invalid"]}),
        },
        examples=[SIGN_IN_EXAMPLE],
        description="Sign in with a passkey: the same answer as a code verify, no message sent. Any failure "
        "is 401 `passkey_invalid`.",
    )
    def post(self, request):
        data = validated(PasskeySignInInput, request.data)
        device_name = device_name_of(data.get("device_name", ""), request.headers.get("User-Agent", ""))
        result = ceremonies.sign_in_with_passkey(
            ceremony_id=data["ceremony_id"],
            credential=data["credential"],
            device_name=device_name,
            device_token=data.get("device_token", ""),
        )
        return signed_in_answer(result)


def assetlinks(request):
    """Android's Digital Asset Links: the apps that may use this site's passkeys (404 if none)."""
    apps = app_settings.android_apps()
    if not apps:
        raise Http404
    relations = ["delegate_permission/common.handle_all_urls", "delegate_permission/common.get_login_creds"]
    statements = [
        {"relation": relations, "target": {"namespace": "android_app", "package_name": package,
                                           "sha256_cert_fingerprints": [fingerprint.upper()]}}
        for package, fingerprint in apps
    ]  # fmt: skip
    return JsonResponse(statements, safe=False)


def apple_app_site_association(request):
    """Apple's associated domains: the apps that may use this site's passkeys (404 if none)."""
    if not app_settings.APPLE_APP_IDS:
        raise Http404
    return JsonResponse({"webcredentials": {"apps": app_settings.APPLE_APP_IDS}})
