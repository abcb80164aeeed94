"""POST /v1/token/refresh: rotation, reuse inside and after the interval, lifetimes, the cap."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from freezegun import freeze_time
from rest_framework.test import APIClient

from accounts.models import AuditEvent, User
from tests.helpers import PHONE, auth, last_code, request_code, run_concurrently, statements, verify
from tests.test_token_cache import cached, me, warm  # noqa: F401 (cached: a fixture)
from tokens.grants import start_session
from tokens.models import REFRESH, Session, Token, hash_token

pytestmark = pytest.mark.django_db
PAIR = {"token", "expiry", "access_token", "token_type", "expires_in", "refresh_token", "refresh_expiry", "session_id"}


def refresh(api, token: str, **headers):
    return api.post("/v1/token/refresh", {"refresh_token": token}, format="json", **headers)


def pair(body: dict) -> dict:
    return {key: body[key] for key in PAIR}


def signed_in(user) -> dict:
    return start_session(user=user, device_name="Pixel 8").fields


def test_verify_starts_a_session_with_a_refresh_token(api, sms_outbox):
    request_code(api)
    body = verify(api, last_code(sms_outbox), device_name="Pixel 8").json()
    assert PAIR <= set(body) and body["access_token"] == body["token"] and body["token_type"] == "Bearer"
    session = Session.objects.get()
    assert body["session_id"] == session.pk and session.device_name == "Pixel 8"
    assert body["expires_in"] == 172800 and parse_datetime(body["refresh_expiry"]) == session.expiry
    assert len(body["refresh_token"]) == 26 and body["refresh_token"] != body["token"]
    stored = {bytes(h) for h in Token.objects.values_list("hash", flat=True)}
    assert stored == {hash_token(body["token"]), hash_token(body["refresh_token"])}
    assert me(api, body["refresh_token"]).status_code == 401  # a refresh token is no bearer token


def test_refresh_rotates_the_pair_and_keeps_the_session(api, user):
    first = signed_in(user)
    response = refresh(api, first["refresh_token"])
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    body = response.json()
    assert body["success"] is True and body["data"]["phone_number"] == user.phone_number
    assert body["session_id"] == first["session_id"]
    assert body["access_token"] != first["access_token"] and body["refresh_token"] != first["refresh_token"]
    assert me(api, body["access_token"]).status_code == 200
    assert me(api, first["access_token"]).status_code == 200  # the old access token lives out its TTL
    live_refresh = Token.objects.filter(scope=REFRESH, spent_at__isnull=True)
    assert [bytes(t.hash) for t in live_refresh] == [hash_token(body["refresh_token"])]
    assert refresh(api, body["refresh_token"]).status_code == 200  # and the new one rotates in turn


def test_a_refresh_is_one_transaction_of_four_statements(api, user):
    first = signed_in(user)
    with CaptureQueriesContext(connection) as queries:
        assert refresh(api, first["refresh_token"]).status_code == 200
    assert [sql.split()[0] for sql in statements(queries)] == ["SELECT", "UPDATE", "INSERT", "UPDATE"]
    assert "FOR UPDATE" in statements(queries)[0] or connection.vendor == "sqlite"


def test_reuse_within_the_interval_answers_the_same_pair_byte_for_byte(api, user):
    first = signed_in(user)
    with freeze_time(timezone.now()) as clock:
        one = refresh(api, first["refresh_token"])
        clock.tick(9)
        two = refresh(api, first["refresh_token"])
    assert one.status_code == two.status_code == 200
    assert pair(one.json()) == pair(two.json())
    assert one.content == two.content
    assert Session.objects.filter(pk=first["session_id"]).exists()
    sealed = Token.objects.get(hash=hash_token(first["refresh_token"])).sealed
    assert one.json()["refresh_token"].encode() not in bytes(sealed)
    assert one.json()["access_token"].encode() not in bytes(sealed)


def test_reuse_after_the_interval_ends_the_whole_session(api, user, caplog):
    first = signed_in(user)
    other = signed_in(user)
    with freeze_time(timezone.now()) as clock:
        second = refresh(api, first["refresh_token"]).json()
        clock.tick(11)
        reused = refresh(api, first["refresh_token"])
    assert reused.status_code == 401 and reused.json()["code"] == "refresh_reused"
    for access in (first["access_token"], second["access_token"]):
        assert me(api, access).status_code == 401
    assert refresh(api, second["refresh_token"]).json()["code"] == "refresh_invalid"
    assert refresh(api, first["refresh_token"]).json()["code"] == "refresh_invalid"
    assert not Session.objects.filter(pk=first["session_id"]).exists()
    assert me(api, other["access_token"]).status_code == 200  # another device's session lives on
    assert AuditEvent.objects.filter(user=user, event="refresh_reused").count() == 1
    assert first["refresh_token"] not in caplog.text and second["refresh_token"] not in caplog.text


def test_reuse_is_refused_at_once_in_cached_mode(api, user, cached):  # noqa: F811
    first = signed_in(user)
    second = refresh(api, first["refresh_token"]).json()
    warm(api, second["access_token"])
    with freeze_time(timezone.now() + timedelta(seconds=11)):
        assert refresh(api, first["refresh_token"]).json()["code"] == "refresh_reused"
    assert me(api, second["access_token"]).status_code == 401


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_thirty_two_parallel_refreshes_get_one_pair(user):
    first = signed_in(user)

    def attempt():
        response = refresh(APIClient(), first["refresh_token"])
        return response.status_code, response.content

    results = run_concurrently(32, attempt)
    assert {status for status, _ in results} == {200}
    assert len({content for _, content in results}) == 1
    assert Token.objects.filter(scope=REFRESH, spent_at__isnull=True).count() == 1
    assert Token.objects.filter(scope="authentication").count() == 2


@pytest.mark.parametrize("garbage", ["", "short", "A" * 26, "a" * 26, "A" * 27, "\u0000" * 26])
def test_unknown_or_malformed_refresh_tokens_are_refresh_invalid(api, garbage):
    response = refresh(api, garbage)
    assert response.status_code in (400, 401)
    if response.status_code == 401:
        assert response.json()["code"] == "refresh_invalid"


@pytest.mark.parametrize("body", [{}, {"refresh_token": 5}, {"refresh_token": None}, []])
def test_a_refresh_without_a_token_is_400(api, body):
    response = api.post("/v1/token/refresh", body, format="json")
    assert response.status_code == 400 and response.json()["success"] is False


def test_an_access_token_cannot_refresh_and_authorization_is_ignored(api, user):
    first = signed_in(user)
    assert refresh(api, first["access_token"]).json()["code"] == "refresh_invalid"
    assert refresh(api, first["refresh_token"], **auth("garbage")).status_code == 200


def test_an_idle_session_ends(api, user):
    first = signed_in(user)
    with freeze_time(timezone.now() + timedelta(days=29, hours=23)):
        second = refresh(api, first["refresh_token"]).json()  # the idle clock restarts
    with freeze_time(timezone.now() + timedelta(days=59, hours=22)):
        third = refresh(api, second["refresh_token"])
        assert third.status_code == 200
    with freeze_time(timezone.now() + timedelta(days=89, hours=23)):
        late = refresh(api, third.json()["refresh_token"])
    assert late.status_code == 401 and late.json()["code"] == "refresh_invalid"


def test_use_of_an_access_token_keeps_the_session_alive(api, user, settings):
    settings.SESSION_IDLE_TIMEOUT = 3 * 86400
    first = signed_in(user)  # its access token lives 48 h, the idle timeout is 72 h
    with freeze_time(timezone.now() + timedelta(hours=47)):
        assert me(api, first["access_token"]).status_code == 200
    with freeze_time(timezone.now() + timedelta(hours=100)):
        assert refresh(api, first["refresh_token"]).status_code == 200


def test_a_session_ends_at_its_max_age_however_used(api, user, settings):
    settings.SESSION_MAX_AGE = 10 * 86400
    settings.SESSION_IDLE_TIMEOUT = 5 * 86400
    token = signed_in(user)["refresh_token"]
    for day in range(4, 10, 4):
        with freeze_time(timezone.now() + timedelta(days=day)):
            body = refresh(api, token).json()
            token = body["refresh_token"]
    assert parse_datetime(body["refresh_expiry"]) == Session.objects.get().ends_at
    assert parse_datetime(body["expiry"]) <= Session.objects.get().ends_at  # no access token outlives it
    with freeze_time(timezone.now() + timedelta(days=10, seconds=1)):
        assert refresh(api, token).json()["code"] == "refresh_invalid"
        assert me(api, body["access_token"]).status_code == 401


def test_max_age_zero_means_no_end(api, user, settings):
    settings.SESSION_MAX_AGE = 0
    assert start_session(user=user).session.ends_at is None


def test_a_disabled_user_cannot_refresh(api, user):
    first = signed_in(user)
    User.objects.filter(pk=user.pk).update(is_active=False)  # not through save(): the session still exists
    assert refresh(api, first["refresh_token"]).json()["code"] == "refresh_invalid"


def test_refreshes_from_one_address_are_capped(api, user, settings):
    settings.REFRESH_MAX_PER_IP_PER_HOUR = 3
    tokens = [signed_in(user)["refresh_token"] for _ in range(4)]
    assert [refresh(api, t, REMOTE_ADDR="203.0.113.9").status_code for t in tokens[:3]] == [200] * 3
    refused = refresh(api, tokens[3], REMOTE_ADDR="203.0.113.9")
    assert refused.status_code == 429 and refused.json()["code"] == "throttled"
    assert refused.json()["retry_after"] == int(refused["Retry-After"]) > 0
    assert Token.objects.get(hash=hash_token(tokens[3])).spent_at is None  # refused before spending
    assert refresh(api, tokens[3], REMOTE_ADDR="203.0.113.10").status_code == 200


def test_a_refresh_never_makes_a_session_fresh(api, sms_outbox):
    request_code(api)
    signed = verify(api, last_code(sms_outbox)).json()
    with freeze_time(timezone.now() + timedelta(seconds=601)):
        fresh = refresh(api, signed["refresh_token"]).json()
        for call in (
            lambda: api.delete("/v1/me", **auth(fresh["access_token"])),
            lambda: api.post("/v1/me/phone", {"phone_number": "+919876505678"}, format="json", **auth(fresh["token"])),
        ):
            response = call()
            assert response.status_code == 403 and response.json()["code"] == "reauth_required"
    assert User.objects.filter(phone_number=PHONE).exists()


def test_deleting_the_account_after_a_refresh_ends_everything(api, sms_outbox):
    request_code(api)
    signed = verify(api, last_code(sms_outbox)).json()
    fresh = refresh(api, signed["refresh_token"]).json()
    assert api.delete("/v1/me", **auth(fresh["access_token"])).status_code == 204
    assert not Session.objects.exists() and not Token.objects.exists()
    assert refresh(api, fresh["refresh_token"]).json()["code"] == "refresh_invalid"


def test_a_number_change_after_a_refresh_keeps_this_session_and_ends_the_others(api, sms_outbox, settings):
    settings.OTP_RESEND_COOLDOWN = 0
    request_code(api)
    other = verify(api, last_code(sms_outbox)).json()
    request_code(api)
    signed = verify(api, last_code(sms_outbox)).json()
    fresh = refresh(api, signed["refresh_token"]).json()
    new = "+919876505678"
    api.post("/v1/me/phone", {"phone_number": new}, format="json", **auth(fresh["token"]))
    moved = api.post(
        "/v1/me/phone", {"phone_number": new, "otp": last_code(sms_outbox)}, format="json", **auth(fresh["token"])
    )
    assert moved.status_code == 200, moved.json()
    assert refresh(api, other["refresh_token"]).json()["code"] == "refresh_invalid"
    again = refresh(api, fresh["refresh_token"]).json()
    assert again["data"]["phone_number"] == new and again["session_id"] == signed["session_id"]
