"""/v1/logout, /v1/logout-all and /v1/sessions: a signed-in person ends their own sessions."""

from django.shortcuts import get_object_or_404
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from cheershare.schema import error_responses
from tokens.models import AUTHENTICATION, Token

Success = inline_serializer("Success", {"success": serializers.BooleanField()})


class SessionOutput(serializers.ModelSerializer):
    current = serializers.SerializerMethodField()

    class Meta:
        model = Token
        fields = ["id", "created_at", "expiry", "last_used_at", "device_name", "current"]

    def get_current(self, token: Token) -> bool:
        return token.pk == self.context["current_id"]


class LogoutView(APIView):
    @extend_schema(request=None, responses={200: Success, **error_responses(401, 413, 415, 503)})
    def post(self, request):
        Token.objects.filter(pk=request.auth.pk).revoke()
        return Response({"success": True})


class LogoutAllView(APIView):
    @extend_schema(
        request=None,
        responses={
            200: inline_serializer(
                "Revoked", {"success": serializers.BooleanField(), "revoked": serializers.IntegerField()}
            ),
            **error_responses(401, 413, 415, 503),
        },
    )
    def post(self, request):
        revoked = Token.objects.filter(user=request.user, scope=AUTHENTICATION).revoke()
        return Response({"success": True, "revoked": revoked})


@method_decorator(never_cache, name="dispatch")
class SessionListView(APIView):
    @extend_schema(
        responses={
            200: inline_serializer(
                "Sessions", {"success": serializers.BooleanField(), "data": SessionOutput(many=True)}
            ),
            **error_responses(401, 503),
        }
    )
    def get(self, request):
        tokens = Token.objects.live().filter(user=request.user, scope=AUTHENTICATION).order_by("-created_at", "-id")
        data = SessionOutput(tokens, many=True, context={"current_id": request.auth.pk}).data
        return Response({"success": True, "data": data})


class SessionDetailView(APIView):
    @extend_schema(responses={200: Success, **error_responses(401, 404, 503)})
    def delete(self, request, pk: int):
        token = get_object_or_404(Token.objects.live(), pk=pk, user=request.user, scope=AUTHENTICATION)
        Token.objects.filter(pk=token.pk).revoke()
        return Response({"success": True})
