"""POST /v1/twilio/status: Twilio reports how a message went."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import exceptions, serializers
from rest_framework.parsers import FormParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from core.schema import error_responses
from messaging import callbacks


class SignatureInvalid(exceptions.PermissionDenied):
    default_detail = _("The request is not signed by Twilio.")
    default_code = "signature_invalid"


class TwilioStatusView(APIView):
    """Public and signed: no bearer token, no CSRF, no Celery round trip."""

    authentication_classes = []
    permission_classes = [AllowAny]
    parser_classes = [FormParser]

    @extend_schema(
        request={
            "application/x-www-form-urlencoded": inline_serializer(
                "TwilioStatus",
                {
                    "MessageSid": serializers.CharField(),
                    "MessageStatus": serializers.CharField(),
                    "ErrorCode": serializers.CharField(required=False),
                },
            )
        },
        parameters=[OpenApiParameter("X-Twilio-Signature", location=OpenApiParameter.HEADER, required=True)],
        responses={
            200: inline_serializer("StatusTaken", {"success": serializers.BooleanField()}),
            **error_responses(403, 413, 415, name="TwilioStatus", codes={403: ["signature_invalid"]}),
        },
        description="Twilio's message status callback; statuses only move forward. An unknown sid answers 200.",
    )
    def post(self, request):
        if not callbacks.signature_valid(request):
            raise SignatureInvalid()
        sid, status = request.POST.get("MessageSid", ""), request.POST.get("MessageStatus", "")
        if sid and status:
            callbacks.handle_status(sid, status.lower(), callbacks.error_code(request.POST.get("ErrorCode", "")))
        return Response({"success": True})
