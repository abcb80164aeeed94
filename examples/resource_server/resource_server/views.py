from cheershare_client.drf import IntrospectionAuthentication, JWTAuthentication
from rest_framework.response import Response
from rest_framework.views import APIView


class Bare(APIView):
    """No token checked: the floor the benchmark measures the token routes against (bench/resource_server.py)."""

    authentication_classes = []
    permission_classes = []

    def get(self, request):
        return Response({"user": "1", "session": 1, "checked_by": "none"})


class MineByJWT(APIView):
    authentication_classes = [JWTAuthentication]

    def get(self, request):
        return Response({"user": request.user.id, "session": request.auth["sid"], "checked_by": "jwt"})


class MineByIntrospection(APIView):
    authentication_classes = [IntrospectionAuthentication]

    def get(self, request):
        return Response({"user": request.user.id, "session": request.auth["sid"], "checked_by": "introspection"})
