"""The one place where refresh-token errors become HTTP answers (beside accounts.api_errors, which
does it for sign-in): any view that spends or presents a refresh token uses the mixin."""

from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, status

from tokens.refresh import RefreshError, RefreshReused


class RefreshFailed(exceptions.APIException):
    status_code = status.HTTP_401_UNAUTHORIZED


def refresh_failed(exc: RefreshError) -> RefreshFailed:
    if isinstance(exc, RefreshReused):
        return RefreshFailed(
            _("This refresh token was already used, so the session has ended: sign in again."), exc.code
        )
    return RefreshFailed(_("Invalid or expired refresh token."), exc.code)


class RefreshErrorsMixin:
    """For views that spend or present refresh tokens: a RefreshError answers 401 with its code."""

    def handle_exception(self, exc):
        if isinstance(exc, RefreshError):
            exc = refresh_failed(exc)
        return super().handle_exception(exc)
