import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from accounts.models import User
from tests.helpers import PHONE
from tokens.grants import start_session
from tokens.models import Session, Token

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


def test_admin_forms_still_need_their_csrf_token():
    """Sessions, login and messages run only under /admin/ (the API is stateless): CSRF still holds there."""
    User.objects.create_superuser("+919000000001", "Admin", password="a-long-admin-password")
    browser = Client(enforce_csrf_checks=True)
    form = browser.get("/admin/login/")
    credentials = {"username": "+919000000001", "password": "a-long-admin-password"}
    assert browser.post("/admin/login/", credentials).status_code == 403
    token = form.context["csrf_token"]
    assert browser.post("/admin/login/", {**credentials, "csrfmiddlewaretoken": token}).status_code == 302
    assert browser.get("/admin/").status_code == 200


def test_the_api_keeps_no_session_and_sets_no_cookie(api, staff):
    response = api.get("/healthz", HTTP_COOKIE=f"sessionid={staff.cookies['sessionid'].value}")
    assert response.status_code == 200 and not response.cookies
    assert "Cookie" not in response.get("Vary", "")
    assert not hasattr(response.wsgi_request, "session")


def test_user_list_shows_live_session_count_and_searches(staff, user_with_tokens):
    user, _tokens = user_with_tokens
    ended = start_session(user=user).session
    Session.objects.filter(pk=ended.pk).update(ends_at=timezone.now())
    page = staff.get("/admin/accounts/user/?q=Asha").content.decode()
    assert PHONE in page and "Asha" in page
    assert '<td class="field-live_sessions">2</td>' in page
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
    start_session(user=user)
    Token.objects.issue(user=user, scope="password_reset")
    staff.post("/admin/accounts/user/", {"action": "end_sessions", "_selected_action": [user.pk]})
    assert not Token.objects.filter(user=user).exists() and not Session.objects.filter(user=user).exists()


def test_end_selected_sessions_action_and_bulk_delete_end_them(staff, user_with_tokens, api):
    user, [(first, first_plain), (second, second_plain)] = user_with_tokens
    page = staff.get("/admin/tokens/session/?state=live").content.decode()
    assert "device 0" in page and "device 1" in page
    staff.post("/admin/tokens/session/", {"action": "end_selected", "_selected_action": [first.session_id]})
    assert api.get("/v1/me", HTTP_AUTHORIZATION=f"Bearer {first_plain}").status_code == 401
    assert api.get("/v1/me", HTTP_AUTHORIZATION=f"Bearer {second_plain}").status_code == 200
    staff.post(
        "/admin/tokens/session/",
        {"action": "delete_selected", "_selected_action": [second.session_id], "post": "yes"},
    )
    assert api.get("/v1/me", HTTP_AUTHORIZATION=f"Bearer {second_plain}").status_code == 401
    assert not Session.objects.filter(user=user).exists()
    assert staff.get("/admin/tokens/session/add/").status_code == 403


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


def test_user_page_tells_their_story_and_ends_a_session(staff, user_with_tokens):
    from messaging.models import Message

    user, tokens = user_with_tokens
    Message.objects.create(phone_number=PHONE, region="IN", task_id="t1", status="delivered", error_code=None)
    page = staff.get(f"/admin/accounts/user/{user.pk}/change/").content.decode()
    assert "device 0" in page and "device 1" in page
    assert "recent-messages" in page and "delivered" in page
    assert page.count("<td>signed in</td>") == 2  # the audit events, in words
    form = {
        "phone_number": PHONE,
        "name": "Asha",
        "is_active": "on",
        "sessions-TOTAL_FORMS": "2",
        "sessions-INITIAL_FORMS": "2",
        "sessions-0-id": str(tokens[1][0].session_id),
        "sessions-0-user": str(user.pk),
        "sessions-0-DELETE": "on",
        "sessions-1-id": str(tokens[0][0].session_id),
        "sessions-1-user": str(user.pk),
        "passkeys-TOTAL_FORMS": "0",
        "passkeys-INITIAL_FORMS": "0",
    }
    response = staff.post(f"/admin/accounts/user/{user.pk}/change/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert list(Session.objects.filter(user=user).values_list("device_name", flat=True)) == ["device 0"]
    assert list(Token.objects.filter(user=user).values_list("device_name", flat=True)) == ["device 0"]
    page = staff.get(f"/admin/accounts/user/{user.pk}/change/").content.decode()
    assert "<td>session ended</td>" in page and "ended by an admin on device 1" in page


def test_country_page_shows_delivery_and_conversion(staff):
    from messaging.models import Message

    rows = [("IN", "delivered", True)] * 3 + [("IN", "failed", False)] + [("GB", "delivered", False)]
    for i, (region, status, verified) in enumerate(rows):
        Message.objects.create(
            phone_number=PHONE,
            region=region,
            task_id=f"t{i}",
            status=status,
            verified_at=timezone.now() if verified else None,
        )
    page = staff.get("/admin/messaging/message/by-country/").content.decode()
    assert "Delivery by country" in page and "Last 24 hours" in page and "Last 7 days" in page
    india = page.index("<td>IN</td>")
    assert india < page.index("<td>GB</td>")  # sorted by volume
    assert "75.0 %" in page[india:]  # delivered 3 of 4, conversion 3 of 4
    assert page.count('<svg width="240"') == 4  # one bar per region and period, drawn server-side
    assert "Delivery by country" in staff.get("/admin/messaging/message/").content.decode()


def test_admin_lifts_a_suppression_and_reopens_a_region(staff):
    from datetime import timedelta

    from messaging.models import RegionBlock, Suppression

    later = timezone.now() + timedelta(hours=1)
    suppression = Suppression.objects.create(phone_number=PHONE, error_code=21610, until=later)
    block = RegionBlock.objects.create(region="GB", conversion=0.1, sample=60, until=later)
    assert PHONE in staff.get("/admin/messaging/suppression/").content.decode()
    staff.post("/admin/messaging/suppression/", {"action": "lift", "_selected_action": [suppression.pk]})
    assert not Suppression.objects.exists()
    pumped = RegionBlock.objects.create(
        region="IN", prefix="+9198123", conversion=0.02, sample=50, until=later, reason="conversion 0.02 over 50"
    )
    page = staff.get("/admin/messaging/regionblock/").content.decode()
    assert "+9198123" in page and "conversion 0.02 over 50" in page and "the whole region" in page
    staff.post("/admin/messaging/regionblock/", {"action": "reopen", "_selected_action": [block.pk, pumped.pk]})
    block.refresh_from_db()
    assert block.until <= timezone.now()
    assert RegionBlock.objects.filter(until__gt=timezone.now()).count() == 0


def test_the_admin_lifts_a_users_sign_in_lock(staff, settings, sms_outbox):
    from rest_framework.test import APIClient

    from accounts import otp
    from accounts.models import AuditEvent
    from tests.helpers import last_code, request_code, verify

    user = User.objects.create_user(PHONE, "Asha")
    api = APIClient()
    request_code(api)
    otp.lock(PHONE, seconds=3600, by="command")
    assert verify(api, last_code(sms_outbox)).json()["code"] == "verify_locked"
    staff.post("/admin/accounts/user/", {"action": "unlock_numbers", "_selected_action": [user.pk]})
    assert verify(api, last_code(sms_outbox)).status_code == 200
    assert AuditEvent.objects.get(event="number_unlocked").detail == "by +91******0001"
