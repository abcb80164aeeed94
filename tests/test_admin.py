import pytest
from django.core.management import CommandError, call_command

from accounts.models import User
from tests.helpers import PHONE
from tokens.models import Token

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client):
    client.force_login(User.objects.create_superuser("+919000000001", "Admin", password="a-long-admin-password"))
    return client


@pytest.fixture
def user_with_tokens():
    user = User.objects.create_user(PHONE, "Asha")
    tokens = [Token.objects.issue(user=user, device_name=f"device {i}") for i in range(2)]
    return user, tokens


def test_staff_log_in_with_phone_and_password(client):
    User.objects.create_superuser("+919000000001", "Admin", password="a-long-admin-password")
    response = client.post(
        "/admin/login/?next=/admin/", {"username": "+919000000001", "password": "a-long-admin-password"}
    )
    assert response.status_code == 302 and response["Location"] == "/admin/"


def test_user_list_shows_live_token_count_and_searches(staff, user_with_tokens):
    page = staff.get("/admin/accounts/user/?q=Asha").content.decode()
    assert PHONE in page and "Asha" in page
    assert '<td class="field-live_tokens">2</td>' in page
    assert PHONE not in staff.get("/admin/accounts/user/?q=nobody").content.decode()


def test_token_admin_shows_prefix_never_plaintext(staff, user_with_tokens):
    _user, [(token, plaintext), _] = user_with_tokens
    listing = staff.get("/admin/tokens/token/").content.decode()
    detail = staff.get(f"/admin/tokens/token/{token.pk}/change/").content.decode()
    assert token.hash_prefix in listing
    for page in [listing, detail]:
        assert plaintext not in page and bytes(token.hash).hex() not in page
    assert staff.get("/admin/tokens/token/?state=live").status_code == 200
    assert staff.get("/admin/tokens/token/?state=expired&scope=authentication").status_code == 200


def test_tokens_cannot_be_added_or_edited(staff, user_with_tokens):
    _user, [(token, _), _] = user_with_tokens
    assert staff.get("/admin/tokens/token/add/").status_code == 403
    staff.post(f"/admin/tokens/token/{token.pk}/change/", {"scope": "x", "user": 1})
    assert Token.objects.get(pk=token.pk).scope == "authentication"


def test_revoke_selected_tokens_action(staff, user_with_tokens, api):
    _user, [(first, first_plain), (second, second_plain)] = user_with_tokens
    staff.post("/admin/tokens/token/", {"action": "revoke_selected", "_selected_action": [first.pk]})
    assert api.get("/v1/me", HTTP_AUTHORIZATION=f"Bearer {first_plain}").status_code == 401
    assert api.get("/v1/me", HTTP_AUTHORIZATION=f"Bearer {second_plain}").status_code == 200


def test_revoke_all_tokens_of_selected_users(staff, user_with_tokens):
    user, [(first, _), _] = user_with_tokens
    staff.post("/admin/tokens/token/", {"action": "revoke_users_tokens", "_selected_action": [first.pk]})
    assert not Token.objects.filter(user=user).exists()
    Token.objects.issue(user=user)
    staff.post("/admin/accounts/user/", {"action": "revoke_tokens", "_selected_action": [user.pk]})
    assert not Token.objects.filter(user=user).exists()


def test_createsuperuser_noinput_from_environment(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_PHONE_NUMBER", "+919000000002")
    monkeypatch.setenv("DJANGO_SUPERUSER_NAME", "Root")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "another-long-password")
    call_command("createsuperuser", interactive=False, verbosity=0)
    admin = User.objects.get(phone_number="+919000000002")
    assert admin.is_superuser and admin.is_staff and admin.name == "Root"
    assert admin.check_password("another-long-password")


def test_createsuperuser_rejects_a_number_not_in_e164(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_PHONE_NUMBER", "98765 43210")
    monkeypatch.setenv("DJANGO_SUPERUSER_NAME", "Root")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "another-long-password")
    with pytest.raises(CommandError, match="E.164"):
        call_command("createsuperuser", interactive=False, verbosity=0)
    assert not User.objects.exists()


def admin_login(client, username, password, address="198.51.100.10"):
    return client.post("/admin/login/?next=/admin/", {"username": username, "password": password}, REMOTE_ADDR=address)


def test_admin_login_locks_an_account_after_repeated_wrong_passwords(client, settings):
    """django-axes: ADMIN_LOGIN_MAX_FAILURES wrong passwords lock the account, even for the right one."""
    User.objects.create_superuser("+919000000001", "Admin", password="a-long-admin-password")
    for i in range(settings.AXES_FAILURE_LIMIT):
        answer = admin_login(client, "+919000000001", f"guess-{i}", address=f"198.51.100.{i}")
        assert answer.status_code == (200 if i < settings.AXES_FAILURE_LIMIT - 1 else 429)
    locked = admin_login(client, "+919000000001", "a-long-admin-password", address="198.51.100.99")
    assert locked.status_code == 429
    call_command("axes_reset_username", "+919000000001")
    assert admin_login(client, "+919000000001", "a-long-admin-password").status_code == 302


def test_admin_login_locks_an_address_trying_many_accounts(client, settings):
    User.objects.create_superuser("+919000000001", "Admin", password="a-long-admin-password")
    for i in range(settings.AXES_FAILURE_LIMIT):
        admin_login(client, f"+91900000010{i}", "guess")
    assert admin_login(client, "+919000000001", "a-long-admin-password").status_code == 429
    assert admin_login(client, "+919000000001", "a-long-admin-password", address="203.0.113.5").status_code == 302


def test_a_successful_admin_login_resets_its_failures(client, settings):
    User.objects.create_superuser("+919000000001", "Admin", password="a-long-admin-password")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        admin_login(client, "+919000000001", "guess")
    assert admin_login(client, "+919000000001", "a-long-admin-password").status_code == 302
    client.logout()
    assert admin_login(client, "+919000000001", "guess").status_code == 200
    assert admin_login(client, "+919000000001", "a-long-admin-password").status_code == 302
