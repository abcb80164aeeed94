"""Routes for other services: the public keys of our JWTs, and token introspection (RFC 7662)."""

from django.http import Http404
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import exceptions, serializers
from rest_framework.parsers import FormParser, JSONParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from core.client_ip import client_ip
from core.schema import error_responses
from tokens.app_settings import app_settings
from tokens.authentication import authorization_header
from tokens.introspection import Guessing, caller_allowed, introspect
from tokens.keys import SigningKey

JWKS_MAX_AGE = 300  # seconds a JWKS may be cached: a key is published before it signs by more than this


class PublicView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]


class JWKSView(PublicView):
    @extend_schema(
        responses={200: inline_serializer("JWKS", {"keys": serializers.ListField(child=serializers.DictField())})},
        description="The public keys that verify our JWT access tokens (`kid`, `alg`, `use: sig`): the key "
        "that signs, the next one, and previous ones until their last token expires.",
    )
    def get(self, request):
        keys = [key.public_jwk for key in SigningKey.objects.published()]
        return Response({"keys": keys}, headers={"Cache-Control": f"public, max-age={JWKS_MAX_AGE}"})


class IntrospectionInput(serializers.Serializer):
    token = serializers.CharField(max_length=4096, trim_whitespace=False)
    token_type_hint = serializers.CharField(required=False, max_length=32)


@method_decorator(never_cache, name="dispatch")
class IntrospectionView(PublicView):
    parser_classes = [FormParser, JSONParser]

    @extend_schema(
        request=IntrospectionInput,
        responses={
            200: inline_serializer(
                "Introspection",
                {
                    "active": serializers.BooleanField(),
                    "token_type": serializers.CharField(required=False, help_text="`access_token` or `refresh_token`"),
                    "sub": serializers.CharField(required=False),
                    "sid": serializers.IntegerField(required=False),
                    "scope": serializers.CharField(required=False),
                    "iat": serializers.IntegerField(required=False),
                    "exp": serializers.IntegerField(required=False),
                    "phone_number": serializers.CharField(required=False),
                },
            ),
            **error_responses(
                400, 401, 404, 413, 415, 429, name="Introspection", codes={401: ["introspection_unauthorized"]}
            ),
        },
        description="RFC 7662: whether a token (either format, access or refresh) is live, and its claims; "
        '`{"active": false}` for anything else. For services named by an introspection secret.',
    )
    def post(self, request):
        if not app_settings.INTROSPECTION_SECRETS:
            raise Http404
        parts = authorization_header(request).split()
        secret = parts[1].decode("latin-1") if len(parts) == 2 and parts[0].lower() == b"bearer" else ""
        try:
            allowed = caller_allowed(secret, client_ip(request))
        except Guessing as guessing:
            raise exceptions.Throttled(guessing.wait) from None
        if not allowed:
            raise exceptions.AuthenticationFailed(code="introspection_unauthorized")
        data = IntrospectionInput(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(introspect(data.validated_data["token"]))

    def get_authenticate_header(self, request) -> str:
        return 'Bearer realm="introspection"'
