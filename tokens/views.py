"""/v1/logout, /v1/logout-all and /v1/sessions: a signed-in person ends their own sessions."""

from django.shortcuts import get_object_or_404
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import exceptions, serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from core.schema import error_responses
from tokens import cookie as refresh_cookie
from tokens.api_errors import RefreshErrorsMixin
from tokens.models import Session, Token
from tokens.refresh import end_session

Success = inline_serializer("Success", {"success": serializers.BooleanField()})


class SessionOutput(serializers.ModelSerializer):
    expiry = serializers.DateTimeField(help_text="When the session ends if left alone.")
    current = serializers.SerializerMethodField()

    class Meta:
        model = Session
        fields = ["id", "created_at", "last_used_at", "expiry", "device_name", "current"]

    def get_current(self, session: Session) -> bool:
        return session.pk == self.context["current_id"]


class LogoutInput(serializers.Serializer):
    refresh_token = serializers.CharField(required=False, max_length=100)


class LogoutView(RefreshErrorsMixin, APIView):
    permission_classes = [AllowAny]  # the access token, or the refresh token in the body

    @extend_schema(
        request=LogoutInput,
        responses={
            200: Success,
            **error_responses(
                400,
                401,
                413,
                415,
                503,
                name="Logout",
                codes={401: ["not_authenticated", "token_invalid", "refresh_invalid"]},
            ),
        },
        description="End the current session: with the access token as Bearer, or with no "
        '`Authorization` and `{"refresh_token"}` in the body (when the access token has expired).',
    )
    def post(self, request):
        if request.auth is not None:
            _end_session_of(request.auth)
            return refresh_cookie.clear(Response({"success": True}))
        data = LogoutInput(data=request.data)
        data.is_valid(raise_exception=True)
        plaintext = data.validated_data.get("refresh_token") or refresh_cookie.presented(request)
        if not plaintext:
            raise exceptions.NotAuthenticated()
        end_session(plaintext)
        return refresh_cookie.clear(Response({"success": True}))


class LogoutAllView(APIView):
    @extend_schema(
        request=None,
        responses={
            200: inline_serializer(
                "Revoked", {"success": serializers.BooleanField(), "revoked": serializers.IntegerField()}
            ),
            **error_responses(401, 413, 415, 503),
        },
        description="End every session of the account; `revoked` is how many ended.",
    )
    def post(self, request):
        ended = Session.objects.filter(user=request.user).end("signed out everywhere")
        return Response({"success": True, "revoked": ended})


@method_decorator(never_cache, name="dispatch")
class SessionListView(APIView):
    @extend_schema(
        responses={
            200: inline_serializer(
                "Sessions", {"success": serializers.BooleanField(), "data": SessionOutput(many=True)}
            ),
            **error_responses(401, 503),
        },
        description="The account's live sessions (one per sign-in on a device), newest first.",
    )
    def get(self, request):
        sessions = Session.objects.live().filter(user=request.user).order_by("-created_at", "-id")
        data = SessionOutput(sessions, many=True, context={"current_id": request.auth.session_id}).data
        return Response({"success": True, "data": data})


class SessionDetailView(APIView):
    @extend_schema(responses={200: Success, **error_responses(401, 404, 503)}, description="End one session.")
    def delete(self, request, pk: int):
        session = get_object_or_404(Session.objects.live(), pk=pk, user=request.user)
        Session.objects.filter(pk=session.pk).end("ended from another session")
        return Response({"success": True})


def _end_session_of(token: Token) -> None:
    if token.session_id is None:
        Token.objects.filter(pk=token.pk).revoke()
    else:
        Session.objects.filter(pk=token.session_id).end("signed out")
