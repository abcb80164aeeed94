"""Views of the same size as /v1/protected for the peers: DRF TokenAuthentication, knox."""

from knox.auth import TokenAuthentication as KnoxAuthentication
from rest_framework.authentication import TokenAuthentication
from rest_framework.permissions import IsAuthenticated

from bench.floor import OpenView


class DRFTokenView(OpenView):
    authentication_classes = [TokenAuthentication]
    permission_classes = [IsAuthenticated]


class KnoxView(OpenView):
    authentication_classes = [KnoxAuthentication]
    permission_classes = [IsAuthenticated]
