"""TOKEN_FORMAT=jwt: signed access tokens, their keys and rotation, the JWKS, and introspection."""

import base64
import hashlib
import hmac
import json
from datetime import timedelta
from urllib.parse import urlencode

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from freezegun import freeze_time

from accounts.models import User
from tests.helpers import PHONE, auth, last_code, request_code, verify
from tests.test_token_cache import cached, warm  # noqa: F401 (cached: a fixture)
from tokens.grants import start_session
from tokens.keys import CURRENT, PREVIOUS, RETIRED, SigningKey, keyring, require_signing_key
from tokens.models import Session, Token

pytestmark = pytest.mark.django_db
SECRET = "introspection-secret-of-the-orders-service"


@pytest.fixture
def jwt_mode(settings):
    settings.TOKEN_FORMAT = "jwt"
    settings.INTROSPECTION_SECRETS = [SECRET, "another-service-introspection-secret"]
    SigningKey.objects.rotate()  # as `manage.py signing_keys rotate` does before a production start
    return settings


def me(api, token):
    return api.get("/v1/me", **auth(token))


def b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def test_a_verify_answers_a_signed_access_token(api, sms_outbox, jwt_mode):
    request_code(api)
    body = verify(api, last_code(sms_outbox)).json()
    header = jwt.get_unverified_header(body["access_token"])
    key = SigningKey.objects.get(state=CURRENT)
    assert header == {"alg": "EdDSA", "kid": key.kid, "typ": "at+jwt"}
    claims = jwt.decode(body["access_token"], key.public_key(), algorithms=["EdDSA"], audience="cheershare")
    user = User.objects.get()
    assert claims["sub"] == str(user.pk) and claims["sid"] == body["session_id"] == Session.objects.get().pk
    assert claims["phone_number"] == PHONE and claims["scope"] == "authentication" and claims["iss"] == "cheershare"
    assert claims["exp"] - claims["iat"] == 900 == body["expires_in"] and len(claims["jti"]) >= 16
    assert not Token.objects.filter(scope="authentication").exists()  # only the refresh token is a row
    assert me(api, body["access_token"]).json()["data"]["phone_number"] == PHONE


@pytest.mark.parametrize("algorithm", ["EdDSA", "ES256", "RS256"])
def test_each_algorithm_signs_and_verifies(api, user, jwt_mode, algorithm):
    SigningKey.objects.generate(algorithm)
    SigningKey.objects.rotate()
    token = start_session(user=user).fields["access_token"]
    assert jwt.get_unverified_header(token)["alg"] == algorithm
    assert me(api, token).status_code == 200


def test_strict_mode_checks_the_session_in_one_query(api, user, jwt_mode):
    token = start_session(user=user).fields["access_token"]
    me(api, token)  # its first use records the session's use
    with CaptureQueriesContext(connection) as queries:
        assert me(api, token).status_code == 200
    assert len(queries) == 1 and "sessions" in queries[0]["sql"]


def test_logout_refuses_the_token_here_at_once(api, user, jwt_mode):
    token = start_session(user=user).fields["access_token"]
    assert api.post("/v1/logout", **auth(token)).status_code == 200
    assert me(api, token).json()["code"] == "token_invalid"


def test_logout_refuses_the_token_at_once_in_cached_mode(api, user, jwt_mode, cached):  # noqa: F811
    token = start_session(user=user).fields["access_token"]
    warm(api, token)
    with CaptureQueriesContext(connection) as queries:
        assert me(api, token).status_code == 200
    assert len(queries) == 0
    assert api.post("/v1/logout", **auth(token)).status_code == 200
    assert me(api, token).status_code == 401


def forge(claims: dict, *, key, algorithm="EdDSA", kid=None, typ="at+jwt") -> str:
    return jwt.encode(claims, key, algorithm=algorithm, headers={"kid": kid, "typ": typ})


def hs256_with(public_key, header: dict, payload: str) -> str:
    """The key confusion attack: HMAC-signed with the bytes of the server's public key."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    signing_input = f"{b64(header)}.{payload}"
    mac = hmac.new(raw, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(mac).decode().rstrip('=')}"


def test_forged_and_tampered_tokens_are_token_invalid(api, user, jwt_mode):
    good = start_session(user=user).fields["access_token"]
    key = SigningKey.objects.get(state=CURRENT)
    claims = jwt.decode(good, key.public_key(), algorithms=["EdDSA"], audience="cheershare")
    header, payload, signature = good.split(".")
    stranger = ed25519.Ed25519PrivateKey.generate()
    bad = {
        "alg none": f"{b64({'alg': 'none', 'kid': key.kid, 'typ': 'at+jwt'})}.{payload}.",
        "tampered sub": f"{header}.{b64({**claims, 'sub': str(user.pk + 1)})}.{signature}",
        "another key, same kid": forge(claims, key=stranger, kid=key.kid),
        "unknown kid": forge(claims, key=stranger, kid="nobody"),
        "HS256 with the public key": hs256_with(
            key.public_key(), {"alg": "HS256", "kid": key.kid, "typ": "at+jwt"}, payload
        ),
        "wrong typ": forge(claims, key=key.private_key(), kid=key.kid, typ="JWT"),
        "wrong audience": forge({**claims, "aud": "other"}, key=key.private_key(), kid=key.kid),
        "wrong issuer": forge({**claims, "iss": "https://evil.example"}, key=key.private_key(), kid=key.kid),
        "no jti": forge({k: v for k, v in claims.items() if k != "jti"}, key=key.private_key(), kid=key.kid),
        "refresh scope": forge({**claims, "scope": "refresh"}, key=key.private_key(), kid=key.kid),
        "expired": forge({**claims, "exp": claims["iat"] - 60}, key=key.private_key(), kid=key.kid),
        "garbage": "a.b.c",
    }
    for name, token in bad.items():
        response = me(api, token)
        assert (response.status_code, response.json()["code"]) == (401, "token_invalid"), name
    assert me(api, good).status_code == 200


def test_a_token_expires_with_a_small_leeway(api, user, jwt_mode):
    token = start_session(user=user).fields["access_token"]
    with freeze_time(timezone.now() + timedelta(seconds=900 + 20)):
        assert me(api, token).status_code == 200
    with freeze_time(timezone.now() + timedelta(seconds=900 + 31)):
        assert me(api, token).status_code == 401


def test_an_opaque_token_still_works_in_jwt_mode_and_back(api, user, settings):
    opaque = start_session(user=user).fields["access_token"]
    settings.TOKEN_FORMAT = "jwt"
    SigningKey.objects.rotate()
    signed = start_session(user=user).fields["access_token"]
    assert me(api, opaque).status_code == 200 and me(api, signed).status_code == 200
    settings.TOKEN_FORMAT = "opaque"
    assert me(api, signed).status_code == 200


def test_refresh_in_jwt_mode_answers_a_new_jwt(api, user, jwt_mode):
    first = start_session(user=user).fields
    body = api.post("/v1/token/refresh", {"refresh_token": first["refresh_token"]}, format="json").json()
    assert body["access_token"].count(".") == 2 and body["access_token"] != first["access_token"]
    assert me(api, body["access_token"]).status_code == 200


def test_rotation_publishes_the_next_key_first_and_the_previous_until_its_tokens_expire(api, user, jwt_mode):
    old = start_session(user=user).fields["access_token"]
    first = SigningKey.objects.get(state=CURRENT)
    upcoming = SigningKey.objects.generate()
    jwks = api.get("/.well-known/jwks.json")
    assert {k["kid"] for k in jwks.json()["keys"]} == {first.kid, upcoming.kid}
    assert jwks["Cache-Control"] == "public, max-age=300"
    assert all(set(k) >= {"kid", "alg", "use", "kty"} and "d" not in k for k in jwks.json()["keys"])
    assert jwt.get_unverified_header(start_session(user=user).fields["access_token"])["kid"] == first.kid
    call_command("signing_keys", "rotate")
    new = start_session(user=user).fields["access_token"]
    assert jwt.get_unverified_header(new)["kid"] == upcoming.kid
    assert me(api, old).status_code == 200 and me(api, new).status_code == 200
    assert SigningKey.objects.get(kid=first.kid).state == PREVIOUS
    with freeze_time(timezone.now() + timedelta(seconds=900 + 31)):
        assert {k["kid"] for k in api.get("/.well-known/jwks.json").json()["keys"]} == {upcoming.kid}
    call_command("signing_keys", "retire", upcoming.kid)
    assert SigningKey.objects.get(kid=upcoming.kid).state == RETIRED
    assert me(api, new).status_code == 401


def test_every_process_signs_with_the_new_key_within_a_minute(user, jwt_mode):
    first = SigningKey.objects.get(state=CURRENT)
    with freeze_time(timezone.now()) as clock:
        assert keyring.signing_key()[0] == first.kid  # this process loads the keys now
        upcoming = SigningKey.objects.generate()
        SigningKey.objects.filter(pk=upcoming.pk).update(state=CURRENT)  # another process rotates
        SigningKey.objects.filter(pk=first.pk).update(
            state=PREVIOUS, published_until=timezone.now() + timedelta(hours=1)
        )
        clock.tick(59)
        assert keyring.signing_key()[0] == first.kid
        clock.tick(2)
        assert keyring.signing_key()[0] == upcoming.kid


def test_private_keys_are_sealed_at_rest_and_open_with_a_fallback_secret(user, jwt_mode, settings):
    key = SigningKey.objects.rotate()
    stored = bytes(SigningKey.objects.get(pk=key.pk).sealed_private)
    assert b"PRIVATE KEY" not in stored
    old_secret = settings.SECRET_KEY
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = "a-new-secret-key-" + "x" * 40, [old_secret]
    assert SigningKey.objects.get(pk=key.pk).private_key() is not None


def test_start_up_refuses_jwt_without_a_key_when_debug_is_off(settings):
    settings.TOKEN_FORMAT, settings.DEBUG = "jwt", False
    with pytest.raises(ImproperlyConfigured, match="signing_keys rotate"):
        require_signing_key()
    SigningKey.objects.rotate()
    require_signing_key()


def test_the_admin_lists_keys_without_private_parts(client, jwt_mode, user):
    key = SigningKey.objects.rotate()
    client.force_login(User.objects.create_superuser("+919000000001", "Admin", password="a-long-admin-password"))
    page = client.get("/admin/tokens/signingkey/").content.decode()
    detail = client.get(f"/admin/tokens/signingkey/{key.pk}/change/").content.decode()
    assert key.kid in page and "PRIVATE" not in detail and bytes(key.sealed_private).decode() not in detail


def introspect(api, token, secret=SECRET, *, as_json=False):
    """As RFC 7662 says, a form (or, as we also take, JSON)."""
    headers = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
    if as_json:
        return api.post("/v1/token/introspect", {"token": token}, format="json", **headers)
    form = urlencode({"token": token})
    return api.post("/v1/token/introspect", form, content_type="application/x-www-form-urlencoded", **headers)


@pytest.mark.parametrize("token_format", ["jwt", "opaque"])
def test_introspection_answers_live_tokens_of_either_format(api, user, jwt_mode, token_format):
    jwt_mode.TOKEN_FORMAT = token_format
    fields = start_session(user=user).fields
    access = introspect(api, fields["access_token"]).json()  # a form, as RFC 7662 says
    assert access["active"] is True and access["token_type"] == "access_token"
    assert (access["sub"], access["sid"], access["scope"]) == (str(user.pk), fields["session_id"], "authentication")
    assert access["phone_number"] == user.phone_number and access["exp"] > access["iat"]
    refresh = introspect(api, fields["refresh_token"], as_json=True).json()
    assert refresh["active"] is True and refresh["token_type"] == "refresh_token"
    api.post("/v1/logout", **auth(fields["access_token"]))
    assert introspect(api, fields["access_token"]).json() == {"active": False}
    assert introspect(api, fields["refresh_token"]).json() == {"active": False}


@pytest.mark.parametrize("token", ["", "x", "A" * 26, "a.b.c", "\u00e9" * 30])
def test_introspection_of_anything_else_is_inactive(api, jwt_mode, token):
    response = introspect(api, token)
    assert response.status_code in (200, 400)
    if response.status_code == 200:
        assert response.json() == {"active": False}


@pytest.mark.parametrize("secret", ["", "wrong", SECRET + "x", SECRET[:-1]])
def test_introspection_needs_a_known_secret(api, user, jwt_mode, secret):
    token = start_session(user=user).fields["access_token"]
    response = introspect(api, token, secret=secret)
    assert response.status_code == 401 and response.json()["code"] == "introspection_unauthorized"
    assert introspect(api, token, secret="another-service-introspection-secret").json()["active"] is True


def test_introspection_is_404_when_no_secret_is_configured(api, user, settings):
    response = introspect(api, start_session(user=user).fields["access_token"])
    assert response.status_code == 404 and response.json()["code"] == "not_found"
