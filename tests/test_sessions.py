import pytest

from accounts.models import User
from tests.helpers import auth
from tokens import signals
from tokens.models import Token

pytestmark = pytest.mark.django_db


def test_logout_revokes_only_the_token_used(api, user):
    _first, used = Token.objects.issue(user=user)
    _second, other = Token.objects.issue(user=user)
    assert api.post("/v1/logout", **auth(used)).json() == {"success": True}
    assert api.get("/v1/me", **auth(used)).status_code == 401
    assert api.get("/v1/me", **auth(other)).status_code == 200


def test_logout_all_revokes_every_authentication_token(api, user):
    plaintexts = [Token.objects.issue(user=user)[1] for _ in range(3)]
    Token.objects.issue(user=user, scope="password_reset")
    someone = User.objects.create_user("+919876500009", "Ravi")
    _t, theirs = Token.objects.issue(user=someone)
    assert api.post("/v1/logout-all", **auth(plaintexts[0])).json() == {"success": True, "revoked": 3}
    assert all(api.get("/v1/me", **auth(p)).status_code == 401 for p in plaintexts)
    assert Token.objects.filter(user=user, scope="password_reset").exists()
    assert api.get("/v1/me", **auth(theirs)).status_code == 200


def test_sessions_lists_live_tokens_newest_first_without_secrets(api, user):
    old, _ = Token.objects.issue(user=user, device_name="Old phone")
    current, plaintext = Token.objects.issue(user=user, device_name="Pixel 8")
    Token.objects.filter(pk=old.pk).update(created_at=old.created_at.replace(year=2025))
    expired, _ = Token.objects.issue(user=user)
    Token.objects.filter(pk=expired.pk).update(expiry=expired.created_at.replace(year=2025))
    body = api.get("/v1/sessions", **auth(plaintext)).json()
    assert [s["id"] for s in body["data"]] == [current.pk, old.pk]
    assert body["data"][0]["current"] is True and body["data"][1]["current"] is False
    assert body["data"][0]["device_name"] == "Pixel 8"
    assert set(body["data"][0]) == {"id", "created_at", "expiry", "last_used_at", "device_name", "current"}
    assert plaintext not in str(body) and bytes(current.hash).hex() not in str(body)


def test_delete_session_revokes_it(api, user):
    _current, plaintext = Token.objects.issue(user=user)
    other, other_plaintext = Token.objects.issue(user=user)
    assert api.delete(f"/v1/sessions/{other.pk}", **auth(plaintext)).json() == {"success": True}
    assert api.get("/v1/me", **auth(other_plaintext)).status_code == 401


def test_delete_someone_elses_session_is_404(api, user):
    _current, plaintext = Token.objects.issue(user=user)
    someone = User.objects.create_user("+919876500009", "Ravi")
    theirs, their_plaintext = Token.objects.issue(user=someone)
    for pk in [theirs.pk, 999999]:
        response = api.delete(f"/v1/sessions/{pk}", **auth(plaintext))
        assert response.status_code == 404 and response.json()["code"] == "not_found"
    assert api.get("/v1/me", **auth(their_plaintext)).status_code == 200


@pytest.mark.parametrize(
    "method, path",
    [("post", "/v1/logout"), ("post", "/v1/logout-all"), ("get", "/v1/sessions"), ("delete", "/v1/sessions/1")],
)
def test_session_routes_need_a_token(api, method, path):
    response = getattr(api, method)(path)
    assert response.status_code == 401 and response.json()["code"] == "not_authenticated"


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
    ],
    ids=["model", "queryset", "revoke", "user", "user-queryset"],
)
def test_every_way_a_token_ends_is_announced(user, revocations, end):
    token, _plaintext = Token.objects.issue(user=user)
    end(token)
    assert not Token.objects.filter(pk=token.pk).exists()
    assert revoked_hashes(revocations) == [bytes(token.hash)]


def test_purge_announces_what_it_deletes(user, revocations):
    from datetime import timedelta

    from django.utils import timezone

    from tokens.purge import purge_expired_tokens

    token, _ = Token.objects.issue(user=user)
    Token.objects.filter(pk=token.pk).update(expiry=timezone.now() - timedelta(seconds=1))
    assert purge_expired_tokens() == 1
    assert revoked_hashes(revocations) == [bytes(token.hash)]
