"""OpenAPI document, Swagger UI without a CDN, structured access log, Prometheus metrics, fuzzing."""

import ipaddress
import json
import logging
import os
import re
import subprocess

import pytest

from accounts.models import User
from core.logs import JSONFormatter
from tests.helpers import PHONE, last_code, log_lines, request_code, verify
from tests.live import BIN, request
from tokens.models import Token

pytestmark = pytest.mark.django_db

ROUTES = {
    "/v1/signup": {"post"},
    "/signup": {"post"},
    "/v1/protected": {"get"},
    "/protected": {"get"},
    "/v1/me": {"get", "patch", "delete"},
    "/v1/me/phone": {"post"},
    "/v1/token/refresh": {"post"},
    "/v1/token/introspect": {"post"},
    "/.well-known/jwks.json": {"get"},
    "/v1/twilio/status": {"post"},
    "/v1/logout": {"post"},
    "/v1/logout-all": {"post"},
    "/v1/sessions": {"get"},
    "/v1/sessions/{id}": {"delete"},
    "/v1/passkeys/options": {"post"},
    "/v1/passkeys": {"get", "post"},
    "/v1/passkeys/{id}": {"patch", "delete"},
    "/v1/passkeys/signin/options": {"post"},
    "/v1/passkeys/signin": {"post"},
    "/healthz": {"get"},
    "/readyz": {"get"},
}


def test_schema_describes_every_route_errors_and_bearer_scheme(api):
    response = api.get("/api/schema/?format=json")
    assert response.status_code == 200
    schema = json.loads(response.content)
    assert schema["openapi"].startswith("3.")
    assert {path: set(ops) & {"get", "post", "patch", "delete"} for path, ops in schema["paths"].items()} == ROUTES
    assert schema["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "A 26-character token from /v1/signup.",
    }
    signup = schema["paths"]["/v1/signup"]["post"]
    assert {"200", "400", "401", "413", "415", "429", "503"} <= set(signup["responses"])
    assert "requestBody" in signup
    assert {"bearerAuth": []} in schema["paths"]["/v1/me"]["get"]["security"]
    assert "401" in schema["paths"]["/v1/sessions/{id}"]["delete"]["responses"]
    steps = signup["requestBody"]["content"]["application/json"]["examples"]
    answers = signup["responses"]["200"]["content"]["application/json"]["examples"]
    assert "otp" in steps["2.VerifyIt"]["value"] and "otp" not in steps["1.RequestACode"]["value"]
    assert "refresh_token" in answers["2.SignedIn"]["value"] and "resend_in" in answers["1.CodeSent"]["value"]
    assert schema["paths"]["/signup"]["post"]["deprecated"] is True
    refresh = schema["paths"]["/v1/token/refresh"]["post"]
    assert {"200", "400", "401", "429"} <= set(refresh["responses"]) and refresh["security"] == [
        {}
    ]  # public: no credentials
    answer = refresh["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert {"access_token", "refresh_token", "refresh_expiry", "session_id", "data"} <= set(
        schema["components"]["schemas"][answer]["properties"]
    )


def test_schema_is_json_on_accept_header(api):
    response = api.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response["Content-Type"].startswith("application/json")
    assert json.loads(response.content)["info"]["title"] == "Cheershare Auth"


def test_swagger_ui_is_served_without_a_cdn(api):
    page = api.get("/api/docs/").content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert assets and all(asset.startswith("/static/") for asset in assets), assets
    assert not re.search(r"https?://[^\s\"']*cdn", page, re.IGNORECASE)  # (a random CSRF token may spell "cdn")


def access_lines(stderr: str) -> list[dict]:
    return [line for line in log_lines(stderr) if line["logger"] == "cheershare.access"]


def test_each_request_logs_one_structured_line_without_secrets(api, sms_outbox, caplog, capfd):
    caplog.set_level(logging.INFO, logger="cheershare.access")
    request_code(api)
    code = last_code(sms_outbox)
    token = verify(api, code).json()["token"]
    api.get("/v1/me", HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_X_REQUEST_ID="req-42")
    stderr = capfd.readouterr().err
    lines = access_lines(stderr)
    assert len(lines) == 3
    line = lines[-1]
    assert {key: line[key] for key in ["request_id", "method", "path", "route", "status", "user_id"]} == {
        "request_id": "req-42",
        "method": "GET",
        "path": "/v1/me",
        "route": "v1/me",
        "status": 200,
        "user_id": User.objects.get().pk,
    }
    assert line["duration_ms"] >= 0 and line["level"] == "INFO" and line["message"] == "request"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4}", line["time"])
    assert code not in stderr and token not in stderr
    assert code not in caplog.text and token not in caplog.text


def test_the_access_line_has_the_shape_of_every_other_line(api, caplog, capfd):
    caplog.set_level(logging.INFO, logger="cheershare.access")
    logging.getLogger("cheershare.access").info("request", extra={"path": "/healthz"})
    [record] = [r for r in caplog.records if r.name == "cheershare.access"]
    api.get("/healthz")
    [line] = access_lines(capfd.readouterr().err)
    formatted = json.loads(JSONFormatter().format(record))
    assert set(formatted) < set(line)
    assert {key: line[key] for key in ["level", "logger", "message", "path"]} == {
        key: formatted[key] for key in ["level", "logger", "message", "path"]
    }


def test_the_access_line_follows_its_logger_level(api, caplog, capfd):
    caplog.set_level(logging.WARNING, logger="cheershare.access")
    assert api.get("/healthz").status_code == 200
    assert access_lines(capfd.readouterr().err) == []


def test_a_request_is_answered_when_its_access_line_cannot_be_written(api, caplog, capfd):
    caplog.set_level(logging.INFO, logger="cheershare.access")
    read_end, write_end = os.pipe()
    os.close(read_end)  # every write to the pipe now fails (EPIPE)
    saved = os.dup(2)
    os.dup2(write_end, 2)
    try:
        response = api.get("/healthz")
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(write_end)
    assert response.status_code == 200


def metric(api, pattern: str) -> float:
    found = re.search(re.escape(pattern) + r" ([0-9.e+]+)", api.get("/metrics").content.decode())
    return float(found.group(1)) if found else 0.0


def test_metrics_count_requests_and_product_events(api, sms_outbox, settings):
    names = [
        'cheershare_http_requests_total{method="POST",route="v1/signup",status="200"}',
        'cheershare_otp_codes_sent_total{region="IN"}',
        'cheershare_messages_total{region="IN",status="sent"}',
        'cheershare_codes_verified_total{region="IN"}',
        'cheershare_otp_verifications_total{outcome="otp_invalid"}',
        'cheershare_otp_verifications_total{outcome="success"}',
        "cheershare_tokens_issued_total",
        'cheershare_sms_deliveries_total{outcome="sent"}',
    ]
    before = [metric(api, name) for name in names]
    request_code(api)
    code = last_code(sms_outbox)
    verify(api, f"{(int(code) + 1) % 10**6:06d}")
    verify(api, code)
    after = [metric(api, name) for name in names]
    assert [a - b for a, b in zip(after, before, strict=True)] == [2, 1, 1, 1, 1, 1, 1, 1]
    assert "cheershare_http_request_duration_seconds_bucket" in api.get("/metrics").content.decode()
    settings.METRICS_ENABLED = False
    assert api.get("/metrics").status_code == 404


@pytest.mark.live
def test_schemathesis_finds_no_server_error_and_no_schema_mismatch(start_server):
    user = User.objects.create_user(PHONE, "Asha")
    _token, plaintext = Token.objects.issue(user=user)
    server = start_server(
        SMS_BACKEND="locmem",
        OTP_RESEND_COOLDOWN="0",
        OTP_MAX_SENDS_PER_HOUR="100000",
        OTP_MAX_SENDS_PER_IP_PER_HOUR="100000",
    )
    base = [
        str(BIN / "schemathesis"),
        "run",
        server.url + "/api/schema/?format=json",
        "--checks",
        "not_a_server_error,response_schema_conformance,content_type_conformance,status_code_conformance",
        "--max-examples",
        "25",
        "--seed",
        "1",
        "--request-timeout",
        "10",
    ]
    runs = [
        base + ["-H", f"Authorization: Bearer {plaintext}", "--exclude-path-regex", "logout"],
        base,
    ]
    generated = 0
    for args in runs:
        result = subprocess.run(args, capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stdout[-4000:]
        generated += int(re.search(r"(\d+) generated", result.stdout).group(1))
    print(f"schemathesis requests: {generated}")
    assert generated > 300
    assert request(server.url + "/healthz")[0] == 200


def test_metrics_are_served_only_to_allowed_scrapers(api, settings):
    assert api.get("/metrics").status_code == 200  # loopback
    public = api.get("/metrics", REMOTE_ADDR="203.0.113.9")
    assert public.status_code == 404 and public.json()["code"] == "not_found"
    settings.METRICS_TOKEN = "scrape-token-0123456789"
    assert api.get("/metrics", REMOTE_ADDR="203.0.113.9", HTTP_AUTHORIZATION="Bearer wrong").status_code == 404
    scraped = api.get("/metrics", REMOTE_ADDR="203.0.113.9", HTTP_AUTHORIZATION="Bearer scrape-token-0123456789")
    assert scraped.status_code == 200
    settings.METRICS_ALLOWED_IPS = [ipaddress.ip_network("10.0.0.0/8")]
    assert api.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200


def test_metric_labels_stay_bounded_whatever_the_method(api):
    before = len(api.get("/metrics").content)
    for i in range(300):
        api.generic(f"X{i:04d}RANDOM", f"/no/such/route/{i}")
    text = api.get("/metrics").content.decode()
    assert "X0001RANDOM" not in text and 'method="other"' in text
    assert len(text) - before < 5_000  # the same few series, not 300 new ones


def test_the_version_is_pyprojects_and_the_changelog_names_it(api):
    import tomllib

    from tests.live import ROOT

    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert api.get("/healthz").json() == {"status": "ok", "version": version}
    assert json.loads(api.get("/api/schema/?format=json").content)["info"]["version"] == version
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert f"## [{version}] - " in changelog and (ROOT / "LICENSE").read_text().startswith("MIT License")
