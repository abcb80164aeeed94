import pytest

from tests.helpers import PHONE

pytestmark = pytest.mark.django_db


def assert_envelope(response, status: int, code: str) -> dict:
    assert response.status_code == status
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["success"] is False and body["code"] == code and body["error"]
    return body


@pytest.mark.parametrize("body", [b"{", b'{"name": }', b"\xff\xfe", b"NaN", b'{"a": NaN}', b"[" * 100000])
def test_malformed_json_is_parse_error(api, body):
    response = api.post("/v1/signup", body, content_type="application/json")
    assert_envelope(response, 400, "parse_error")


@pytest.mark.parametrize("body", [b"[]", b"1", b'"x"', b"null", b"true"])
def test_json_that_is_not_an_object_is_parse_error(api, body):
    assert_envelope(api.post("/v1/signup", body, content_type="application/json"), 400, "parse_error")


def test_body_over_one_mib_is_413(api):
    body = b'{"name": "' + b"a" * (1024 * 1024) + b'"}'
    assert_envelope(api.post("/v1/signup", body, content_type="application/json"), 413, "payload_too_large")


@pytest.mark.parametrize(
    "content_type", ["application/x-www-form-urlencoded", "text/plain", "multipart/form-data; boundary=x"]
)
def test_non_json_body_is_415(api, content_type):
    response = api.post("/v1/signup", b"name=a", content_type=content_type)
    assert_envelope(response, 415, "unsupported_media_type")


def test_non_json_body_is_415_even_where_the_view_reads_no_body(api, user):
    from tokens.models import Token

    _token, plaintext = Token.objects.issue(user=user)
    response = api.post(
        "/v1/logout", b"a=1", content_type="application/x-www-form-urlencoded", HTTP_AUTHORIZATION=f"Bearer {plaintext}"
    )
    assert_envelope(response, 415, "unsupported_media_type")
    assert api.post("/v1/logout", HTTP_AUTHORIZATION=f"Bearer {plaintext}").status_code == 200


def test_json_with_charset_is_accepted(api, sms_outbox):
    body = b'{"name": "Asha", "phone_number": "+919876543210"}'
    assert api.post("/v1/signup", body, content_type="application/json; charset=utf-8").status_code == 200


def test_unknown_route_is_404_for_any_method(api):
    assert_envelope(api.get("/nope"), 404, "not_found")
    assert_envelope(api.post("/v1/nope", {}, format="json"), 404, "not_found")
    assert_envelope(api.get("/v1/sessions/abc"), 404, "not_found")


def test_wrong_method_is_405(api):
    assert_envelope(api.get("/v1/signup"), 405, "method_not_allowed")
    assert_envelope(api.put("/v1/signup", {}, format="json"), 405, "method_not_allowed")


@pytest.mark.parametrize("escaped", ["\\u0000", "\\ud800", "a\\udfffb"])
@pytest.mark.parametrize("field", ["name", "phone_number"])
def test_nul_and_surrogates_are_400_not_500(api, escaped, field):
    fields = {"name": '"Asha"', "phone_number": f'"{PHONE}"', field: f'"{escaped}"'}
    body = "{" + ", ".join(f'"{key}": {value}' for key, value in fields.items()) + "}"
    assert_envelope(api.post("/v1/signup", body.encode(), content_type="application/json"), 400, "invalid")


def test_wrong_types_are_invalid(api):
    body = assert_envelope(
        api.post("/v1/signup", {"name": {"a": 1}, "phone_number": [1]}, format="json"), 400, "invalid"
    )
    assert set(body["fields"]) == {"name", "phone_number"}


def test_every_response_carries_a_request_id(api):
    generated = api.get("/healthz")["X-Request-ID"]
    assert len(generated) == 32
    assert api.get("/healthz", HTTP_X_REQUEST_ID="abc-123")["X-Request-ID"] == "abc-123"
    assert api.get("/healthz", HTTP_X_REQUEST_ID="bad id\n<script>")["X-Request-ID"] != "bad id\n<script>"
    assert api.get("/nope")["X-Request-ID"]


def test_server_error_is_enveloped_without_traceback(client, settings):
    from django.urls import path

    def boom(request):
        raise RuntimeError("internal detail")

    urls = type("urls", (), {"urlpatterns": [path("boom", boom)], "handler500": "core.errors.server_error"})
    settings.ROOT_URLCONF = urls
    client.raise_request_exception = False
    response = client.get("/boom")
    body = assert_envelope(response, 500, "server_error")
    assert "internal detail" not in response.content.decode() and "Traceback" not in str(body)
    assert response["X-Request-ID"]


def test_a_path_with_a_newline_is_an_enveloped_404(api, settings):
    """Found by schemathesis: the catch-all route's `.` did not match a newline, so Django's own
    (HTML, in DEBUG a technical) 404 page answered."""
    settings.DEBUG = True
    response = api.delete("/v1/sessions/%0A%0E%C2%BDU")
    assert response.status_code == 404 and response["Content-Type"] == "application/json"
    assert response.json()["code"] == "not_found"


def test_the_body_rules_know_the_admin_and_the_callback_under_a_url_prefix(client):
    """Served under a prefix (SCRIPT_NAME, as behind a proxy at /auth), the admin's forms and the
    Twilio callback are still told apart by the path inside the app, not the full path."""
    login = client.post("/admin/login/", {"username": "+919000000001", "password": "x"}, SCRIPT_NAME="/auth")
    assert login.status_code == 200 and b"password" in login.content  # the form again, not a 415
    callback = client.post("/v1/twilio/status", {"MessageSid": "SM1"}, SCRIPT_NAME="/auth")
    assert callback.status_code != 415
    api_form = client.post("/v1/signup", {"name": "Asha"}, SCRIPT_NAME="/auth")
    assert_envelope(api_form, 415, "unsupported_media_type")
