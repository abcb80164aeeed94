from django.conf import settings
from django.contrib import admin
from django.http import Http404
from django.urls import path, re_path
from django.views.static import serve
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from accounts.passkey_views import (
    PasskeyDetailView,
    PasskeyListView,
    PasskeyOptionsView,
    PasskeySignInOptionsView,
    PasskeySignInView,
    apple_app_site_association,
    assetlinks,
)
from accounts.views import MeView, PhoneChangeView, ProtectedView, SignupView, TokenRefreshView
from cheershare.health import HealthView, ReadyView
from cheershare.metrics import MetricsView
from messaging.views import TwilioStatusView
from tokens.service_views import IntrospectionView, JWKSView
from tokens.views import LogoutAllView, LogoutView, SessionDetailView, SessionListView


@extend_schema(
    deprecated=True, tags=["legacy"], description="The original server's path of `POST /v1/signup`: use that."
)
class LegacySignupView(SignupView):
    pass


@extend_schema(
    deprecated=True, tags=["legacy"], description="The original server's path of `GET /v1/protected`: use that."
)
class LegacyProtectedView(ProtectedView):
    pass


EXAMPLE_ROOTS = {  # a path's first part: where its files are (the built client and its one dependency)
    "client": ("clients", "js", "dist", "src"),
    "vendor": ("clients", "js", "node_modules", "@simplewebauthn", "browser", "esm"),
}


def example_page(request, path: str):
    """The example pages of ``examples/web/`` (``make run``: SERVE_EXAMPLES follows DEBUG), from the
    API's own origin, as WebAuthn needs; ``client/`` is the built TypeScript client (``make client``)."""
    if not settings.SERVE_EXAMPLES:
        raise Http404
    first, _, rest = path.partition("/")
    if first == "vendor":
        first, _, rest = rest.partition("/")
        first = "vendor" if first == "simplewebauthn" else "?"
    if first in EXAMPLE_ROOTS:
        return serve(request, rest, document_root=settings.BASE_DIR.joinpath(*EXAMPLE_ROOTS[first]))
    return serve(request, path, document_root=settings.BASE_DIR / "examples" / "web")


class NotFoundView(APIView):
    """Any unknown route, any method: 404 in the envelope, in DEBUG too."""

    permission_classes = [AllowAny]
    authentication_classes = []
    schema = None

    def dispatch(self, request, *args, **kwargs):
        self.http_method_names = [request.method.lower()] if request.method else []
        return super().dispatch(request, *args, **kwargs)

    def http_method_not_allowed(self, request, *args, **kwargs):
        raise NotFound()


urlpatterns = [
    path("v1/signup", SignupView.as_view(), name="signup"),
    path("signup", LegacySignupView.as_view(), name="signup-legacy"),
    path("v1/protected", ProtectedView.as_view(), name="protected"),
    path("protected", LegacyProtectedView.as_view(), name="protected-legacy"),
    path("v1/token/refresh", TokenRefreshView.as_view(), name="token-refresh"),
    path("v1/token/introspect", IntrospectionView.as_view(), name="token-introspect"),
    path(".well-known/jwks.json", JWKSView.as_view(), name="jwks"),
    path("v1/passkeys/options", PasskeyOptionsView.as_view(), name="passkey-options"),
    path("v1/passkeys", PasskeyListView.as_view(), name="passkeys"),
    path("v1/passkeys/<int:pk>", PasskeyDetailView.as_view(), name="passkey-detail"),
    path("v1/passkeys/signin/options", PasskeySignInOptionsView.as_view(), name="passkey-signin-options"),
    path("v1/passkeys/signin", PasskeySignInView.as_view(), name="passkey-signin"),
    path(".well-known/assetlinks.json", assetlinks, name="assetlinks"),
    path(".well-known/apple-app-site-association", apple_app_site_association, name="apple-app-site-association"),
    path("v1/me", MeView.as_view(), name="me"),
    path("v1/me/phone", PhoneChangeView.as_view(), name="me-phone"),
    path("v1/logout", LogoutView.as_view(), name="logout"),
    path("v1/logout-all", LogoutAllView.as_view(), name="logout-all"),
    path("v1/sessions", SessionListView.as_view(), name="sessions"),
    path("v1/sessions/<int:pk>", SessionDetailView.as_view(), name="session-detail"),
    path("v1/twilio/status", TwilioStatusView.as_view(), name="twilio-status"),
    path("healthz", HealthView.as_view(), name="healthz"),
    path("readyz", ReadyView.as_view(), name="readyz"),
    path("metrics", MetricsView.as_view(), name="metrics"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("admin/", admin.site.urls),
    path("examples/<path:path>", example_page, name="examples"),
    re_path(r"^(?!admin/|static/|examples/)[\s\S]*$", NotFoundView.as_view()),  # [\s\S]: newlines too
]

handler400 = "core.errors.bad_request"
handler403 = "core.errors.permission_denied"
handler404 = "core.errors.not_found"
handler500 = "core.errors.server_error"
