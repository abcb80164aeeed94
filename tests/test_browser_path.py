"""The browser path (issue 45): CORS for the origins an operator allows (django-cors-headers), and the
refresh token as a cookie no script can read, guarded against forged requests."""

import pytest
from rest_framework.test import APIClient

from tests.helpers import PHONE, auth, last_code, request_code

pytestmark = pytest.mark.django_db
APP = "http://localhost:3000"
EVIL = "https://evil.example"
PUBLIC_ROUTES = [
    ("POST", "/v1/signup"),
    ("POST", "/v1/token/refresh"),
    ("POST", "/v1/logout"),
    ("POST", "/v1/logout-all"),
    ("GET", "/v1/me"),
    ("PATCH", "/v1/me"),
    ("DELETE", "/v1/me"),
    ("POST", "/v1/me/phone"),
    ("GET", "/v1/sessions"),
    ("DELETE", "/v1/sessions/1"),
    ("GET", "/v1/protected"),
    ("POST", "/v1/passkeys/options"),
    ("GET", "/v1/passkeys"),
    ("POST", "/v1/passkeys"),
    ("PATCH", "/v1/passkeys/1"),
    ("POST", "/v1/passkeys/signin/options"),
    ("POST", "/v1/passkeys/signin"),
    ("POST", "/v1/token/introspect"),
    ("GET", "/.well-known/jwks.json"),
    ("GET", "/healthz"),
]


@pytest.fixture
def cors(settings):
    settings.CORS_ALLOWED_ORIGINS = [APP]
    return settings


def preflight(path: str, method: str, origin: str):
    return APIClient().options(
        path,
        HTTP_ORIGIN=origin,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD=method,
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization, content-type, x-request-id, accept-language",
    )


@pytest.mark.parametrize("method, path", PUBLIC_ROUTES)
def test_an_allowed_origin_passes_the_preflight_of_every_public_route(cors, method, path):
    answer = preflight(path, method, APP)
    assert answer.status_code == 200 and answer.content == b""  # the middleware's answer, no view's description
    assert answer["Access-Control-Allow-Origin"] == APP
    allowed = answer["Access-Control-Allow-Headers"].lower()
    assert all(header in allowed for header in ("authorization", "content-type", "x-request-id", "accept-language"))
    assert method in answer["Access-Control-Allow-Methods"]


@pytest.mark.parametrize("method, path", PUBLIC_ROUTES)
def test_a_refused_origin_gets_no_cors_headers(cors, method, path):
    answer = preflight(path, method, EVIL)
    assert "Access-Control-Allow-Origin" not in answer and answer.content == b""
    actual = APIClient().generic(method, path, HTTP_ORIGIN=EVIL)
    assert "Access-Control-Allow-Origin" not in actual


def test_no_origin_is_allowed_by_default():
    assert "Access-Control-Allow-Origin" not in preflight("/v1/signup", "POST", APP)


def test_an_allowed_origin_reads_retry_after_and_the_request_id(cors, sms_outbox):
    request_code(APIClient(), HTTP_ORIGIN=APP)
    cooldown = request_code(APIClient(), HTTP_ORIGIN=APP)
    assert cooldown.status_code == 429 and cooldown["Access-Control-Allow-Origin"] == APP
    exposed = cooldown["Access-Control-Expose-Headers"].lower()
    assert "retry-after" in exposed and "x-request-id" in exposed


@pytest.fixture
def cookie_mode(cors):
    cors.REFRESH_COOKIE = True
    cors.CORS_ALLOW_CREDENTIALS = True
    return cors


def signed_in_by_cookie(sms_outbox):
    client = APIClient()
    request_code(client)
    answer = client.post("/v1/signup", {"phone_number": PHONE, "otp": last_code(sms_outbox)}, format="json")
    assert answer.status_code == 200
    return client, answer


def refresh(client, **headers):
    return client.post("/v1/token/refresh", {}, format="json", **headers)


def test_the_refresh_token_is_a_cookie_no_script_can_read(cookie_mode, sms_outbox):
    client, answer = signed_in_by_cookie(sms_outbox)
    assert "refresh_token" not in answer.json() and "access_token" in answer.json()
    cookie = answer.cookies["__Host-cheershare-refresh"]
    assert cookie["httponly"] and cookie["secure"] and cookie["path"] == "/" and cookie["samesite"] == "Strict"
    assert not cookie["domain"]
    refreshed = refresh(client, HTTP_X_CHEERSHARE_REFRESH="1", HTTP_ORIGIN=APP)
    assert refreshed.status_code == 200 and "refresh_token" not in refreshed.json()
    assert refreshed.cookies["__Host-cheershare-refresh"].value != cookie.value  # rotated


def test_a_cookie_refresh_needs_the_header_and_an_allowed_origin(cookie_mode, sms_outbox):
    client, _answer = signed_in_by_cookie(sms_outbox)
    foreign = refresh(client, HTTP_X_CHEERSHARE_REFRESH="1", HTTP_ORIGIN=EVIL)
    assert (foreign.status_code, foreign.json()["code"]) == (403, "csrf_failed")
    no_header = refresh(client, HTTP_ORIGIN=APP)
    assert (no_header.status_code, no_header.json()["code"]) == (403, "csrf_failed")
    form = client.post("/v1/token/refresh", "x=1", content_type="application/x-www-form-urlencoded", HTTP_ORIGIN=EVIL)
    assert form.status_code in (403, 415)  # a plain form post: refused, and nothing spent
    assert refresh(client, HTTP_X_CHEERSHARE_REFRESH="1", HTTP_ORIGIN=APP).status_code == 200


def test_logout_reads_the_cookie_and_clears_it(cookie_mode, sms_outbox):
    client, answer = signed_in_by_cookie(sms_outbox)
    out = client.post("/v1/logout", {}, format="json", HTTP_X_CHEERSHARE_REFRESH="1", HTTP_ORIGIN=APP)
    assert out.status_code == 200 and out.cookies["__Host-cheershare-refresh"].value == ""
    assert APIClient().get("/v1/me", **auth(answer.json()["access_token"])).status_code == 401


def test_without_the_cookie_setting_the_token_stays_in_the_body(cors, sms_outbox):
    client = APIClient()
    request_code(client)
    answer = client.post("/v1/signup", {"phone_number": PHONE, "otp": last_code(sms_outbox)}, format="json")
    assert "refresh_token" in answer.json() and not answer.cookies
