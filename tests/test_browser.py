"""The admin pages in a real browser: Playwright for Python driving Debian's chromium."""

import shutil

import pytest
from django.utils import timezone

from accounts.models import User
from accounts.serializers import device_name_of
from messaging.models import Message
from tests.helpers import PHONE
from tokens.grants import start_session

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
ANDROID_CHROME = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("Debian's chromium is missing: run scripts/ensure-browser (make test does)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def story():
    """An admin, and a user with two sessions and messages in two regions (made before the browser
    starts: Playwright's loop would make the ORM refuse to run in this thread)."""
    User.objects.create_superuser("+919000000001", "Admin", password="a-long-admin-password")
    user = User.objects.create_user(PHONE, "Asha")
    for device in ["Pixel 8", "iPhone 15", device_name_of("", ANDROID_CHROME)]:
        start_session(user=user, device_name=device)
    now = timezone.now()
    rows = [("IN", PHONE, "delivered", now)] * 4 + [("BR", "+5511987654321", "undelivered", None)] * 2
    rows += [("GB", "+447911123456", "sent", None)]  # no delivery report yet
    Message.objects.bulk_create(
        Message(phone_number=phone, region=region, task_id=f"t{i}", status=status, verified_at=verified)
        for i, (region, phone, status, verified) in enumerate(rows)
    )
    return user


def test_admin_country_page_and_user_story_in_chromium(live_server, story, browser, tmp_path):
    """The admin keeps working under its Content-Security-Policy: no violation is reported, and the
    country page's own style (allowed by its nonce) applies."""
    page = browser.new_page()
    violations = []
    page.on("console", lambda message: "Content Security Policy" in message.text and violations.append(message.text))
    page.goto(live_server.url + "/admin/login/?next=/admin/")
    page.fill("input[name=username]", "+919000000001")
    page.fill("input[name=password]", "a-long-admin-password")
    page.click("input[type=submit]")
    page.wait_for_url(live_server.url + "/admin/")

    page.goto(live_server.url + "/admin/messaging/message/")
    page.click("text=Delivery by country")
    page.wait_for_url("**/by-country/")
    assert page.locator("h1").inner_text() == "Delivery by country"
    first_table = page.locator(".by-country table").first
    rows = first_table.locator("tbody tr")
    assert rows.count() == 3
    assert rows.nth(0).locator("td").nth(0).inner_text() == "IN"  # busiest first
    assert [rows.nth(0).locator("td").nth(i).inner_text() for i in (1, 2, 4, 6)] == ["4", "4", "4", "100.0 %"]
    assert rows.nth(1).locator("td").nth(3).inner_text() == "2"  # BR: both undelivered
    assert rows.nth(2).locator("td").nth(5).inner_text() == "no reports yet"  # GB: not 0.0 %
    bars = rows.nth(0).locator("svg rect")
    assert bars.count() == 3 and rows.nth(0).locator("svg").is_visible()
    number_cell = rows.nth(0).locator("td.num").first
    assert number_cell.evaluate("cell => getComputedStyle(cell).textAlign") == "right"  # the nonce'd <style>
    page.screenshot(path=str(tmp_path / "by-country.png"))

    page.goto(f"{live_server.url}/admin/accounts/user/{story.pk}/change/")
    text = page.locator("#content-main").inner_text()
    assert "Pixel 8" in text and "iPhone 15" in text
    first = page.locator("fieldset").first.inner_text()
    assert PHONE in page.locator("#id_phone_number").input_value() and "Active" in first and "Joined" in first
    live = page.locator("table.live-sessions")
    assert "Chrome on Android" in live.inner_text()  # read from the User-Agent: no name was given
    ends = live.locator("time").nth(2)
    assert ends.inner_text().startswith(("29 days", "4 weeks", "1 month")) or "from now" in ends.inner_text()
    assert ends.get_attribute("title").endswith("UTC")  # the exact time on hover
    staff = page.locator("fieldset.collapse", has_text="Permissions")
    assert staff.count() == 1 and not page.locator("#id_user_permissions_from").is_visible()  # folded away
    assert "delivered" in page.locator("table.recent-messages").inner_text()
    assert page.locator("table.audit-events").inner_text().count("signed in") == 3
    page.screenshot(path=str(tmp_path / "user.png"), full_page=True)

    row = page.locator("#sessions-group tr", has_text="iPhone 15")
    row.locator("input[type=checkbox][name$='-DELETE']").check()
    page.click("input[name=_continue]")
    page.wait_for_selector(".messagelist")
    sessions = page.locator("#sessions-group").inner_text()
    assert "Pixel 8" in sessions and "iPhone 15" not in sessions  # ended, through the revocation path
    assert "ended by an admin on iPhone 15" in page.locator("table.ended-sessions").inner_text()
    assert "session ended" in page.locator("table.audit-events").inner_text()
    page.screenshot(path=str(tmp_path / "user-after.png"), full_page=True)
    assert violations == []


def test_a_passkey_after_an_sms_sign_in_then_no_message_in_chromium(
    live_server, browser, settings, sms_outbox, tmp_path
):
    """The example page (examples/web/passkeys.html, served by this project) in Chromium with a CDP
    virtual authenticator (internal transport, resident keys, user verification): sign in with a
    code, add a passkey, sign out, sign in with the passkey, and no second message is sent."""
    origin = live_server.url.replace("127.0.0.1", "localhost")
    settings.SERVE_EXAMPLES = True
    settings.WEBAUTHN_ORIGINS = [origin]
    page = browser.new_page()
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    options = {
        "protocol": "ctap2",
        "transport": "internal",
        "hasResidentKey": True,
        "hasUserVerification": True,
        "isUserVerified": True,
    }
    authenticator = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": options})["authenticatorId"]
    page.goto(origin + "/examples/passkeys.html")
    page.click("#send")
    page.wait_for_selector("text=Code sent by sms.")
    page.fill("#code", sms_outbox[-1].code)
    page.click("#verify")
    page.wait_for_selector("text=Signed in as +919876543210")
    page.click("#add-passkey")
    page.wait_for_selector("text=Passkey added")
    credentials = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]
    assert len(credentials) == 1 and credentials[0]["isResidentCredential"]
    page.click("#sign-out")
    page.wait_for_selector("text=Signed out.")
    page.click("#passkey-signin")
    page.wait_for_selector("text=Signed in with a passkey")
    assert page.locator("#who").inner_text() == "Signed in as +919876543210"
    assert len(sms_outbox) == 1  # the one code, for the first sign-in only
    page.screenshot(path=str(tmp_path / "passkeys.png"))


def off_the_loop(work):
    """Run ``work`` (ORM calls) in a thread of its own: Playwright's loop runs in the test's."""
    import threading

    results = []
    thread = threading.Thread(target=lambda: results.append(work()))
    thread.start()
    thread.join()
    return results[0]


def test_the_js_client_keeps_two_tabs_signed_in_with_one_refresh(live_server, browser, settings, sms_outbox, tmp_path):
    """examples/web/index.html and the built client (clients/js): a sign-in by code survives a reload;
    two tabs that refresh at the same moment both stay signed in with one rotation (one refresh token
    spent, none reused); a sign-out in one tab signs the other out."""
    from django.db import connections

    from accounts.models import AuditEvent
    from tokens.models import REFRESH, Token

    settings.SERVE_EXAMPLES = True
    settings.REFRESH_REUSE_INTERVAL = 0  # no grace: a token spent twice would end the session
    origin = live_server.url.replace("127.0.0.1", "localhost")
    context = browser.new_context()
    first = context.new_page()
    first.goto(origin + "/examples/index.html")
    first.wait_for_selector("body[data-ready=yes]")
    first.click("#send")
    first.wait_for_selector("text=Code sent by sms.")
    first.fill("#code", sms_outbox[-1].code)
    first.click("#verify")
    first.wait_for_selector("text=Signed in as +919876543210")
    first.reload()
    first.wait_for_selector("text=Still signed in.")
    second = context.new_page()
    second.goto(origin + "/examples/index.html")
    second.wait_for_selector("text=Still signed in.")

    at = first.evaluate("Date.now() + 500")
    arm = (
        "at => { setTimeout(() => window.cheershare.refresh().then(s => (window.refreshed = s.accessToken)),"
        " at - Date.now()); }"
    )
    for page in (first, second):  # each tab refreshes at the same moment, neither waiting for the other
        page.evaluate(arm, at)
    tokens = [page.wait_for_function("window.refreshed").json_value() for page in (first, second)]
    assert tokens[0] == tokens[1]
    assert first.evaluate("window.cheershare.me().then(a => a.success)") is True
    assert second.evaluate("window.cheershare.me().then(a => a.success)") is True

    def spent_and_reused():
        try:
            spent = Token.objects.filter(scope=REFRESH, spent_at__isnull=False).count()
            return spent, AuditEvent.objects.filter(event="refresh_reused").count()
        finally:
            connections.close_all()

    assert off_the_loop(spent_and_reused) == (1, 0)
    second.screenshot(path=str(tmp_path / "second-tab.png"))

    first.click("#sign-out")
    second.wait_for_selector("text=Signed out.")
    assert second.locator("#signed-out").is_visible()
