from datetime import timedelta

import pytest
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from accounts.models import User
from tests.helpers import auth
from tokens import signals
from tokens.grants import start_session
from tokens.models import Session, Token

pytestmark = pytest.mark.django_db


def start(user, device_name: str = ""):
    """A sign-in's session for ``user``: (session id, access token, refresh token)."""
    grant = start_session(user=user, device_name=device_name)
    return grant.session.pk, grant.fields["access_token"], grant.fields["refresh_token"]


def test_logout_ends_only_the_current_session(api, user):
    _first, used, used_refresh = start(user)
    _second, other, _other_refresh = start(user)
    assert api.post("/v1/logout", **auth(used)).json() == {"success": True}
    assert api.get("/v1/me", **auth(used)).status_code == 401
    assert api.post("/v1/token/refresh", {"refresh_token": used_refresh}, format="json").json()["code"] == (
        "refresh_invalid"
    )
    assert api.get("/v1/me", **auth(other)).status_code == 200


def test_logout_with_the_refresh_token_when_the_access_token_has_expired(api, user):
    session_id, access, refresh = start(user)
    Token.objects.filter(session_id=session_id, scope="authentication").update(expiry=timezone.now())
    assert api.get("/v1/me", **auth(access)).status_code == 401
    assert api.post("/v1/logout", {"refresh_token": refresh}, format="json").json() == {"success": True}
    assert not Session.objects.filter(pk=session_id).exists() and not Token.objects.filter(session_id=session_id)
    again = api.post("/v1/logout", {"refresh_token": refresh}, format="json")
    assert again.status_code == 401 and again.json()["code"] == "refresh_invalid"


@pytest.mark.parametrize("body", [{}, {"refresh_token": ""}, {"refresh_token": "x" * 26}])
def test_logout_without_credentials_is_refused(api, body):
    response = api.post("/v1/logout", body, format="json")
    assert response.status_code in (400, 401)
    assert response.json()["code"] in {"not_authenticated", "refresh_invalid", "invalid"}


def test_logout_all_ends_every_session(api, user):
    sessions = [start(user) for _ in range(3)]
    Token.objects.issue(user=user, scope="password_reset")
    someone = User.objects.create_user("+919876500009", "Ravi")
    _t, theirs = Token.objects.issue(user=someone)
    assert api.post("/v1/logout-all", **auth(sessions[0][1])).json() == {"success": True, "revoked": 3}
    assert all(api.get("/v1/me", **auth(access)).status_code == 401 for _id, access, _r in sessions)
    assert not Session.objects.filter(user=user).exists()
    assert Token.objects.filter(user=user, scope="password_reset").exists()
    assert api.get("/v1/me", **auth(theirs)).status_code == 200


def test_sessions_lists_live_sessions_newest_first_without_secrets(api, user):
    old, _access, _refresh = start(user, "Old phone")
    current, access, refresh = start(user, "Pixel 8")
    Session.objects.filter(pk=old).update(created_at=timezone.now() - timedelta(days=3))
    idle, _a, _r = start(user, "Idle tablet")
    Session.objects.filter(pk=idle).update(last_used_at=timezone.now() - timedelta(days=31))
    api.post("/v1/token/refresh", {"refresh_token": refresh}, format="json")  # the same session, new tokens
    body = api.get("/v1/sessions", **auth(access)).json()
    assert [s["id"] for s in body["data"]] == [current, old]
    assert body["data"][0]["current"] is True and body["data"][1]["current"] is False
    assert body["data"][0]["device_name"] == "Pixel 8"
    assert set(body["data"][0]) == {"id", "created_at", "expiry", "last_used_at", "device_name", "current"}
    session = Session.objects.get(pk=current)
    assert parse_datetime(body["data"][0]["expiry"]) == session.expiry
    hashes = [bytes(h).hex() for h in Token.objects.values_list("hash", flat=True)]
    assert access not in str(body) and refresh not in str(body) and not any(h in str(body) for h in hashes)


def test_delete_session_ends_it(api, user):
    _current, access, _refresh = start(user)
    other, other_access, other_refresh = start(user)
    assert api.delete(f"/v1/sessions/{other}", **auth(access)).json() == {"success": True}
    assert api.get("/v1/me", **auth(other_access)).status_code == 401
    assert api.post("/v1/token/refresh", {"refresh_token": other_refresh}, format="json").status_code == 401
    assert api.get("/v1/me", **auth(access)).status_code == 200


def test_delete_someone_elses_session_is_404(api, user):
    _current, access, _refresh = start(user)
    someone = User.objects.create_user("+919876500009", "Ravi")
    theirs, their_access, _their_refresh = start(someone)
    for pk in [theirs, 999999]:
        response = api.delete(f"/v1/sessions/{pk}", **auth(access))
        assert response.status_code == 404 and response.json()["code"] == "not_found"
    assert api.get("/v1/me", **auth(their_access)).status_code == 200


def test_a_disabled_user_has_no_sessions_left(api, user):
    _session, access, refresh = start(user)
    user.is_active = False
    user.save()
    assert not Session.objects.filter(user=user).exists()
    user.is_active = True
    user.save()
    assert api.get("/v1/me", **auth(access)).status_code == 401
    assert api.post("/v1/token/refresh", {"refresh_token": refresh}, format="json").json()["code"] == "refresh_invalid"


@pytest.mark.parametrize(
    "method, path",
    [("post", "/v1/logout"), ("post", "/v1/logout-all"), ("get", "/v1/sessions"), ("delete", "/v1/sessions/1")],
)
def test_session_routes_need_a_token(api, method, path):
    response = getattr(api, method)(path)
    assert response.status_code == 401 and response.json()["code"] == "not_authenticated"


def disable(user) -> None:
    user.is_active = False
    user.save()


def revoked_hashes(receiver_calls):
    return sorted(h for call in receiver_calls for h in call)


@pytest.fixture
def revocations():
    """Every hash announced as revoked (the audit log and the token cache listen to the same signal)."""
    heard = []

    def listen(sender, hashes, **kwargs):
        heard.append(hashes)

    signals.tokens_revoked.connect(listen)
    yield heard
    signals.tokens_revoked.disconnect(listen)


@pytest.mark.parametrize(
    "end",
    [
        lambda token: token.delete(),
        lambda token: Token.objects.filter(pk=token.pk).delete(),
        lambda token: Token.objects.filter(pk=token.pk).revoke(),
        lambda token: token.user.delete(),
        lambda token: User.objects.filter(pk=token.user_id).delete(),
        lambda token: token.session.delete(),
        lambda token: Session.objects.filter(pk=token.session_id).end(),
        lambda token: disable(token.user),
    ],
    ids=["model", "queryset", "revoke", "user", "user-queryset", "session", "session-end", "user-disabled"],
)
def test_every_way_a_token_ends_is_announced(user, revocations, end):
    token, _plaintext = Token.objects.issue(user=user)
    end(token)
    assert not Token.objects.filter(pk=token.pk).exists()
    assert revoked_hashes(revocations) == [bytes(token.hash)]


def test_purge_announces_what_it_deletes(user, revocations):
    from tokens.purge import purge_expired_tokens

    token, _ = Token.objects.issue(user=user, scope="password_reset")
    Token.objects.filter(pk=token.pk).update(expiry=timezone.now() - timedelta(seconds=1))
    assert purge_expired_tokens() == 1
    assert revoked_hashes(revocations) == [bytes(token.hash)]


def test_purge_ends_ended_sessions_with_their_tokens_and_keeps_live_ones(user, revocations):
    from tokens.purge import purge_ended_sessions

    idle, _a, _r = start(user)
    over, _a, _r = start(user)
    live, access, refresh = start(user)
    Session.objects.filter(pk=idle).update(last_used_at=timezone.now() - timedelta(days=30, seconds=1))
    Session.objects.filter(pk=over).update(ends_at=timezone.now())
    hashes = sorted(bytes(h) for h in Token.objects.filter(session__in=[idle, over]).values_list("hash", flat=True))
    assert purge_ended_sessions(dry_run=True) == 2 and not revocations
    assert purge_ended_sessions(batch_size=1) == 2
    assert revoked_hashes(revocations) == hashes and len(hashes) == 4
    assert list(Session.objects.values_list("pk", flat=True)) == [live]
    assert Token.objects.filter(session_id=live).count() == 2
