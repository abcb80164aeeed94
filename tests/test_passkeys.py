"""Passkeys (issue 44): enrolled from a fresh session, signing in with no message, every failure one
401 `passkey_invalid`; tested with a software authenticator (tests/authenticator.py)."""

import time
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from freezegun import freeze_time
from rest_framework.test import APIClient

from accounts.models import AuditEvent, Passkey, User
from tests.authenticator import SoftAuthenticator, b64url
from tests.helpers import PHONE, auth, last_code, request_code, statements, verify

pytestmark = pytest.mark.django_db
OTHER = "+919876500001"


def signed_in(sms_outbox, phone=PHONE) -> str:
    api = APIClient()
    assert request_code(api, phone).status_code == 200
    answer = verify(api, last_code(sms_outbox), phone)
    assert answer.status_code == 200
    return answer.json()["access_token"]


def enrol(token: str, authenticator: SoftAuthenticator, name: str = "My phone"):
    api = APIClient()
    options = api.post("/v1/passkeys/options", **auth(token)).json()
    credential = authenticator.create(options["publicKey"])
    body = {"ceremony_id": options["ceremony_id"], "credential": credential, "name": name}
    return api.post("/v1/passkeys", body, format="json", **auth(token))


def sign_in_options() -> dict:
    answer = APIClient().post("/v1/passkeys/signin/options", {}, format="json")
    assert answer.status_code == 200
    return answer.json()


def passkey_sign_in(authenticator: SoftAuthenticator, options: dict | None = None, **get_options):
    options = options or sign_in_options()
    credential = authenticator.get(options["publicKey"], **get_options)
    body = {"ceremony_id": options["ceremony_id"], "credential": credential, "device_name": "Laptop"}
    return APIClient().post("/v1/passkeys/signin", body, format="json")


@pytest.fixture
def enrolled(sms_outbox):
    token = signed_in(sms_outbox)
    authenticator = SoftAuthenticator()
    assert enrol(token, authenticator).status_code == 201
    return token, authenticator


def test_creation_options_ask_for_a_discoverable_verified_passkey(sms_outbox):
    token = signed_in(sms_outbox)
    answer = APIClient().post("/v1/passkeys/options", **auth(token)).json()
    options = answer["publicKey"]
    assert answer["success"] is True and len(answer["ceremony_id"]) >= 16
    assert options["rp"] == {"id": "localhost", "name": "Cheershare"}
    user = User.objects.get()
    assert options["user"]["name"] == PHONE and options["user"]["id"] == b64url(bytes(user.passkey_handle))
    assert len(bytes(user.passkey_handle)) == 32 and PHONE.encode() not in bytes(user.passkey_handle)
    assert [param["alg"] for param in options["pubKeyCredParams"]] == [-8, -7, -257]
    assert options["authenticatorSelection"]["residentKey"] == "required"
    assert options["authenticatorSelection"]["userVerification"] == "required"
    assert options["attestation"] == "none" and options["timeout"] == 300000
    assert options["excludeCredentials"] == []


def test_a_fresh_session_enrols_and_lists_a_passkey_without_its_key(enrolled):
    token, authenticator = enrolled
    listed = APIClient().get("/v1/passkeys", **auth(token)).json()["data"]
    assert len(listed) == 1 and set(listed[0]) == {"id", "name", "created_at", "last_used_at", "backed_up"}
    assert listed[0]["name"] == "My phone" and listed[0]["backed_up"] is True
    passkey = Passkey.objects.get()
    assert passkey.transports == ["internal", "hybrid"] and passkey.backup_eligible
    assert AuditEvent.objects.filter(event="passkey_added").exists()
    options = APIClient().post("/v1/passkeys/options", **auth(token)).json()["publicKey"]
    assert options["excludeCredentials"] == [{"id": b64url(authenticator.credential_id), "type": "public-key"}]


def test_enrolment_needs_a_recent_sign_in(sms_outbox):
    token = signed_in(sms_outbox)
    with freeze_time(timezone.now() + timedelta(seconds=601)):
        answer = APIClient().post("/v1/passkeys/options", **auth(token))
    assert answer.status_code == 403 and answer.json()["code"] == "reauth_required"


def test_a_passkey_signs_in_with_no_message(enrolled, sms_outbox):
    _token, authenticator = enrolled
    sent = len(sms_outbox)
    options = sign_in_options()
    assert options["publicKey"]["rpId"] == "localhost"
    assert options["publicKey"].get("allowCredentials", []) == []
    assert options["publicKey"]["userVerification"] == "required"
    answer = passkey_sign_in(authenticator, options)
    assert answer.status_code == 200, answer.json()
    body = answer.json()
    assert body["created"] is False and body["data"]["phone_number"] == PHONE
    assert {"access_token", "refresh_token", "session_id", "device_token", "expires_in"} <= set(body)
    assert len(sms_outbox) == sent
    assert APIClient().get("/v1/me", **auth(body["access_token"])).status_code == 200
    assert Passkey.objects.get().last_used_at is not None


@pytest.mark.parametrize(
    "spoil",
    [
        "tampered signature",
        "wrong origin",
        "wrong rp id",
        "not verified",
        "replayed ceremony",
        "ceremony of the other kind",
        "unknown credential",
        "removed passkey",
        "disabled account",
        "deleted account",
    ],
)
def test_every_failure_is_one_401(enrolled, spoil):
    token, authenticator = enrolled
    options, get_options = sign_in_options(), {}
    if spoil == "tampered signature":
        credential = authenticator.get(options["publicKey"])
        credential["response"]["signature"] = b64url(b"\x30\x06\x02\x01\x01\x02\x01\x01")
        body = {"ceremony_id": options["ceremony_id"], "credential": credential}
        answer = APIClient().post("/v1/passkeys/signin", body, format="json")
    else:
        if spoil == "wrong origin":
            get_options["origin"] = "https://evil.example"
        elif spoil == "wrong rp id":
            get_options["rp_id"] = "evil.example"
        elif spoil == "not verified":
            get_options["verified"] = False
        elif spoil == "replayed ceremony":
            assert passkey_sign_in(authenticator, options).status_code == 200
        elif spoil == "ceremony of the other kind":
            options["ceremony_id"] = APIClient().post("/v1/passkeys/options", **auth(token)).json()["ceremony_id"]
        elif spoil == "unknown credential":
            authenticator.credential_id = b"\x01" * 16
        elif spoil == "removed passkey":
            APIClient().delete(f"/v1/passkeys/{Passkey.objects.get().pk}", **auth(token))
        elif spoil == "disabled account":
            User.objects.filter(phone_number=PHONE).update(is_active=False)
        elif spoil == "deleted account":
            User.objects.get(phone_number=PHONE).delete()
        answer = passkey_sign_in(authenticator, options, **get_options)
    assert (answer.status_code, answer.json()["code"]) == (401, "passkey_invalid")
    assert answer.json()["error"] == "That passkey could not sign you in."


def test_an_expired_ceremony_is_refused(enrolled, settings):
    settings.WEBAUTHN_CEREMONY_TTL = 1
    _token, authenticator = enrolled
    options = sign_in_options()
    time.sleep(1.2)
    assert passkey_sign_in(authenticator, options).json()["code"] == "passkey_invalid"


def test_a_body_of_the_wrong_shape_is_invalid():
    answer = APIClient().post("/v1/passkeys/signin", {"ceremony_id": 5, "credential": "x"}, format="json")
    assert answer.status_code == 400 and answer.json()["code"] == "invalid"


def test_another_accounts_passkey_is_not_found_and_its_ceremony_refused(enrolled, sms_outbox):
    token, _authenticator = enrolled
    other = signed_in(sms_outbox, OTHER)
    pk = Passkey.objects.get().pk
    assert APIClient().patch(f"/v1/passkeys/{pk}", {"name": "x"}, format="json", **auth(other)).status_code == 404
    assert APIClient().delete(f"/v1/passkeys/{pk}", **auth(other)).status_code == 404
    theirs = APIClient().post("/v1/passkeys/options", **auth(token)).json()
    credential = SoftAuthenticator().create(theirs["publicKey"])
    body = {"ceremony_id": theirs["ceremony_id"], "credential": credential}
    refused = APIClient().post("/v1/passkeys", body, format="json", **auth(other))
    assert (refused.status_code, refused.json()["code"]) == (400, "passkey_invalid")


def test_an_enrolment_replayed_or_tampered_is_refused(sms_outbox):
    token = signed_in(sms_outbox)
    options = APIClient().post("/v1/passkeys/options", **auth(token)).json()
    authenticator = SoftAuthenticator()
    credential = authenticator.create(options["publicKey"], origin="https://evil.example")
    body = {"ceremony_id": options["ceremony_id"], "credential": credential}
    assert APIClient().post("/v1/passkeys", body, format="json", **auth(token)).json()["code"] == "passkey_invalid"
    body["credential"] = authenticator.create(options["publicKey"])
    assert APIClient().post("/v1/passkeys", body, format="json", **auth(token)).status_code == 400  # used once


def test_rename_and_remove(enrolled):
    token, _authenticator = enrolled
    pk = Passkey.objects.get().pk
    renamed = APIClient().patch(f"/v1/passkeys/{pk}", {"name": "Work laptop"}, format="json", **auth(token))
    assert renamed.json()["data"]["name"] == "Work laptop"
    assert APIClient().delete(f"/v1/passkeys/{pk}", **auth(token)).status_code == 204
    assert not Passkey.objects.exists() and AuditEvent.objects.filter(event="passkey_removed").exists()


def test_a_number_change_keeps_passkeys_and_a_deletion_removes_them(enrolled, sms_outbox, settings):
    token, authenticator = enrolled
    settings.OTP_RESEND_COOLDOWN = 0
    api = APIClient()
    api.post("/v1/me/phone", {"phone_number": OTHER}, format="json", **auth(token))
    moved = api.post(
        "/v1/me/phone", {"phone_number": OTHER, "otp": last_code(sms_outbox)}, format="json", **auth(token)
    )
    assert moved.status_code == 200
    answer = passkey_sign_in(authenticator)
    assert answer.json()["data"]["phone_number"] == OTHER
    assert APIClient().delete("/v1/me", **auth(token)).status_code == 204
    assert not Passkey.objects.exists()


def test_a_passkey_sign_in_is_one_transaction_of_five_statements(enrolled):
    _token, authenticator = enrolled
    options = sign_in_options()
    with CaptureQueriesContext(connection) as queries:
        assert passkey_sign_in(authenticator, options).status_code == 200
    sql = statements(queries)
    assert len(sql) <= 5, sql
    assert sum(1 for q in queries if q["sql"].upper().startswith(("BEGIN", "SAVEPOINT"))) <= 1


def test_native_apps_are_associated_and_their_origins_accepted(enrolled, settings):
    fingerprint = ":".join(["AB"] * 32)
    settings.ANDROID_APP_FINGERPRINTS = [f"com.example.app:{fingerprint}"]
    settings.APPLE_APP_IDS = ["TEAM123.com.example.app"]
    links = APIClient().get("/.well-known/assetlinks.json").json()
    assert links[0]["target"] == {
        "namespace": "android_app", "package_name": "com.example.app", "sha256_cert_fingerprints": [fingerprint],
    }  # fmt: skip
    assert "delegate_permission/common.get_login_creds" in links[0]["relation"]
    apple = APIClient().get("/.well-known/apple-app-site-association").json()
    assert apple == {"webcredentials": {"apps": ["TEAM123.com.example.app"]}}
    _token, authenticator = enrolled
    android = "android:apk-key-hash:" + b64url(bytes([0xAB] * 32))
    assert passkey_sign_in(authenticator, origin=android).status_code == 200


def test_well_known_files_are_404_unless_configured():
    assert APIClient().get("/.well-known/assetlinks.json").status_code == 404
    assert APIClient().get("/.well-known/apple-app-site-association").status_code == 404
