import hashlib
import re
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from freezegun import freeze_time
from rest_framework.test import APIRequestFactory

from accounts.models import User
from tests.helpers import PHONE, auth, fields, last_code, request_code, sign_in, verify
from tokens.authentication import BearerTokenAuthentication
from tokens.lookup import CompiledLookup
from tokens.models import Token, hash_token

pytestmark = pytest.mark.django_db


def test_token_is_26_base32_chars_stored_only_as_sha256(user):
    token, plaintext = Token.objects.issue(user=user)
    assert re.fullmatch(r"[A-Z2-7]{26}", plaintext)
    stored = Token.objects.get(pk=token.pk)
    assert bytes(stored.hash) == hashlib.sha256(plaintext.encode()).digest()
    assert stored.scope == "authentication"
    assert abs((stored.expiry - timezone.now()) - timedelta(seconds=172800)) < timedelta(seconds=5)
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM tokens")
        assert plaintext not in repr(cursor.fetchall())


def test_signed_in_token_resolves_on_protected_routes(api, sms_outbox):
    token = sign_in(api, sms_outbox)
    assert api.get("/v1/protected", **auth(token)).json() == {"data": "Protected"}
    assert api.get("/protected", **auth(token)).json() == {"data": "Protected"}
    me = api.get("/v1/me", HTTP_AUTHORIZATION=f"bEaReR {token}").json()
    assert me["success"] is True and me["data"]["phone_number"] == PHONE


def test_no_header_is_not_authenticated(api):
    response = api.get("/v1/me")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert response["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "header",
    [
        "Bearer",
        "Bearer ",
        "Bearer a b",
        "Bearer short",
        "Bearer ABCDEFGHIJKLMNOPQRSTUVWXYZ",
        "Bearer abcdefghijklmnopqrstuvwxyz",
        "Bearer ABCDEFGHIJKLMNOPQRSTUVWX\u00e9Z",
    ],
)
def test_malformed_or_unknown_token_is_token_invalid(api, user, header):
    response = api.get("/v1/me", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert response.json() == {"success": False, "error": "Invalid or expired token.", "code": "token_invalid"}
    assert response["WWW-Authenticate"] == "Bearer"


def test_expired_token_is_refused(api, user):
    _token, plaintext = Token.objects.issue(user=user)
    with freeze_time(timezone.now() + timedelta(seconds=172801)):
        assert api.get("/v1/me", **auth(plaintext)).json()["code"] == "token_invalid"


def test_inactive_user_token_is_refused(api, user):
    _token, plaintext = Token.objects.issue(user=user)
    User.objects.filter(pk=user.pk).update(is_active=False)
    assert api.get("/v1/me", **auth(plaintext)).json()["code"] == "token_invalid"


def test_other_scope_does_not_authenticate(api, user):
    _token, plaintext = Token.objects.issue(user=user, scope="password_reset")
    assert api.get("/v1/me", **auth(plaintext)).status_code == 401


def test_deleting_user_deletes_tokens(user):
    Token.objects.issue(user=user)
    user.delete()
    assert Token.objects.count() == 0


def test_patch_me_updates_name(api, user):
    _token, plaintext = Token.objects.issue(user=user)
    response = api.patch("/v1/me", {"name": "  Asha Rao "}, format="json", **auth(plaintext))
    assert response.status_code == 200 and response.json()["data"]["name"] == "Asha Rao"
    bad = api.patch("/v1/me", {"name": "\x00"}, format="json", **auth(plaintext))
    assert bad.status_code == 400 and "name" in bad.json()["fields"]


def test_authenticated_request_is_one_query_and_last_used_written_at_most_once_a_minute(api, user):
    token, plaintext = Token.objects.issue(user=user)
    with freeze_time() as clock:
        api.get("/v1/protected", **auth(plaintext))
        first_use = Token.objects.get(pk=token.pk).last_used_at
        assert first_use is not None
        clock.tick(30)
        with CaptureQueriesContext(connection) as queries:
            assert api.get("/v1/protected", **auth(plaintext)).status_code == 200
        assert len(queries) == 1 and queries[0]["sql"].startswith("SELECT")
        assert "ORDER BY" not in queries[0]["sql"]
        clock.tick(31)
        api.get("/v1/protected", **auth(plaintext))
        assert Token.objects.get(pk=token.pk).last_used_at > first_use


@pytest.mark.parametrize("header", ["Token ABCDEFGHIJKLMNOPQRSTUVWXYZ", "Basic dXNlcjpwYXNz", "Digest x"])
def test_another_scheme_is_not_ours(api, user, header):
    """Not a Bearer header: the class answers None (other classes may run); the route asks for credentials."""
    response = api.get("/v1/me", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert response["WWW-Authenticate"] == "Bearer"
    request = APIRequestFactory().get("/", HTTP_AUTHORIZATION=header)
    assert BearerTokenAuthentication().authenticate(request) is None


def test_resolve_returns_a_fully_loaded_token_and_user(user):
    """Every field comes back converted by the database backend (SQLite hands back strings)."""
    token, plaintext = Token.objects.issue(user=user, device_name="Pixel 8")
    with CaptureQueriesContext(connection) as queries:
        found = Token.objects.resolve(plaintext)
        assert found.pk == token.pk and found.user.pk == user.pk
        assert bytes(found.hash) == bytes(token.hash) and found.device_name == "Pixel 8"
        assert found.created_at == Token.objects.get(pk=token.pk).created_at
        assert found.expiry.tzinfo is not None and found.created_at.tzinfo is not None
        assert found.user.phone_number == PHONE and found.user.created_at.tzinfo is not None
        assert found.user.password == user.password and found.user.last_login is None
    assert len(queries) == 2  # the lookup, and the get() above: nothing was deferred
    assert fields(found) == fields(Token.objects.get(pk=token.pk))  # the lookup's row format, the ORM's values
    assert fields(found.user) == fields(User.objects.get(pk=user.pk))


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("server_side_binding", [True, False])
def test_the_lookup_reads_the_same_row_however_psycopg_binds(user, server_side_binding):
    """DATABASE_SERVER_SIDE_BINDING=0 (behind a transaction-pooling PgBouncer) makes psycopg bind
    client-side, with another cursor class: the binary row reads the same there."""
    token, plaintext = Token.objects.issue(user=user, device_name="Pixel 8")
    default = connections["default"]
    options = {**default.settings_dict["OPTIONS"], "server_side_binding": server_side_binding}
    if not server_side_binding:
        options["prepare_threshold"] = None
    other = type(default)({**default.settings_dict, "OPTIONS": options})  # a second connection
    try:
        lookup = CompiledLookup(Token, other)
        found = lookup.run(other, digest=hash_token(plaintext), scope=token.scope, now=timezone.now())
        assert fields(found) == fields(Token.objects.get(pk=token.pk))
        assert fields(found.user) == fields(User.objects.get(pk=user.pk))
    finally:
        other.close()


def test_repeated_authenticated_requests_never_fail(api, user):
    """The README flow on any database: a token keeps working request after request (was a 500)."""
    _token, plaintext = Token.objects.issue(user=user)
    with freeze_time() as clock:
        for _ in range(5):
            for path in ("/v1/me", "/v1/protected", "/v1/sessions"):
                assert api.get(path, **auth(plaintext)).status_code == 200
            clock.tick(61)  # past TOKEN_LAST_USED_INTERVAL: last_used_at is compared and written
        assert api.post("/v1/logout-all", **auth(plaintext)).json() == {"success": True, "revoked": 1}


def test_resolve_refuses_what_is_not_a_live_token(user):
    _token, plaintext = Token.objects.issue(user=user)
    assert Token.objects.resolve("A" * 26) is None
    assert Token.objects.resolve("not a token") is None
    assert Token.objects.resolve(plaintext, scope="password_reset") is None
    with freeze_time(timezone.now() + timedelta(seconds=172801)):
        assert Token.objects.resolve(plaintext) is None


def test_a_client_sending_a_revoked_token_can_still_sign_in(api, sms_outbox, settings):
    """Public routes run no authentication: an old token in the header never blocks sign-in."""
    settings.OTP_RESEND_COOLDOWN = 0
    old = sign_in(api, sms_outbox)
    assert api.post("/v1/logout", **auth(old)).status_code == 200
    api.credentials(**auth(old))
    response = request_code(api)
    assert response.status_code == 200, response.json()
    response = verify(api, last_code(sms_outbox))
    assert response.status_code == 200 and response.json()["token"] != old
    for path in ("/healthz", "/api/schema/"):
        assert api.get(path).status_code == 200


def test_answers_that_carry_tokens_or_account_data_are_not_stored(api, sms_outbox):
    response = request_code(api)
    assert "no-store" in response["Cache-Control"]
    response = verify(api, last_code(sms_outbox))
    assert "no-store" in response["Cache-Control"]
    token = response.json()["token"]
    for path in ("/v1/me", "/v1/sessions"):
        assert "no-store" in api.get(path, **auth(token))["Cache-Control"]


def test_delete_account_with_a_fresh_sign_in(api, sms_outbox, settings):
    settings.OTP_RESEND_COOLDOWN = 0
    token = sign_in(api, sms_outbox)
    user = User.objects.get(phone_number=PHONE)
    response = api.delete("/v1/me", **auth(token))
    assert response.status_code == 204
    assert not User.objects.filter(pk=user.pk).exists() and not Token.objects.filter(user_id=user.pk).exists()
    assert api.get("/v1/me", **auth(token)).status_code == 401
    request_code(api)
    again = verify(api, last_code(sms_outbox))
    assert again.json()["created"] is True and again.json()["data"]["id"] != user.pk


def test_delete_account_needs_a_recent_sign_in(api, user):
    _token, plaintext = Token.objects.issue(user=user)
    with freeze_time(timezone.now() + timedelta(seconds=601)):
        response = api.delete("/v1/me", **auth(plaintext))
    assert response.status_code == 403 and response.json()["code"] == "reauth_required"
    assert User.objects.filter(pk=user.pk).exists()
