from rest_framework.response import Response
from rest_framework.views import APIView

from resource_server.authentication import IntrospectionAuthentication, JWTAuthentication


class MineByJWT(APIView):
    authentication_classes = [JWTAuthentication]

    def get(self, request):
        return Response({"user": request.user.id, "session": request.auth["sid"], "checked_by": "jwt"})


class MineByIntrospection(APIView):
    authentication_classes = [IntrospectionAuthentication]

    def get(self, request):
        return Response({"user": request.user.id, "session": request.auth["sid"], "checked_by": "introspection"})
