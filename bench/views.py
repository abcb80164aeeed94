"""Views of the same size as /v1/protected: open (the framework's floor), DRF TokenAuthentication, knox."""

from knox.auth import TokenAuthentication as KnoxAuthentication
from rest_framework.authentication import TokenAuthentication
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView


class OpenView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]

    def get(self, request):
        return Response({"data": "Protected"})


class DRFTokenView(OpenView):
    authentication_classes = [TokenAuthentication]
    permission_classes = [IsAuthenticated]


class KnoxView(OpenView):
    authentication_classes = [KnoxAuthentication]
    permission_classes = [IsAuthenticated]
