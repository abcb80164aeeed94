import pytest
from django.core.cache import cache
from freezegun import freeze_time
from rest_framework.test import APIClient

from accounts.code_store import PendingCode, state_key
from accounts.models import User
from tests.helpers import PHONE, last_code, request_code, run_concurrently, statements, verify

pytestmark = pytest.mark.django_db


def test_code_request_answers_contract_shape(api, sms_outbox):
    response = request_code(api)
    assert response.status_code == 200
    body = response.json()
    assert body == {
        "success": True,
        "message": "OTP sent successfully",
        "expires_in": 300,
        "resend_in": 60,
        "channel": "sms",
        "verification_id": body["verification_id"],
    }
    assert len(body["verification_id"]) >= 16
    assert sms_outbox[-1].to == PHONE
    assert (
        sms_outbox[-1].body == f"Thank you for choosing Cheershare! Your one-time password is {last_code(sms_outbox)}."
    )


def test_national_number_is_read_in_default_region(api, sms_outbox):
    assert request_code(api, phone="98765 43210").status_code == 200
    assert sms_outbox[-1].to == "+919876543210"


def test_default_region_is_a_setting(api, sms_outbox, settings):
    settings.PHONE_DEFAULT_REGION = "US"
    assert request_code(api, phone="(201) 555-0123").status_code == 200
    assert sms_outbox[-1].to == "+12015550123"


NUMBERS = [
    "+919876543210",  # mobile
    "98765 43210",  # national, in PHONE_DEFAULT_REGION
    "+14155550123",  # fixed line or mobile
    "+442071838750",  # fixed line
    "+18002345678",  # toll free
    "+19005551234",  # premium rate
    "+881612345678",  # satellite (non-geographic)
    "+91987654321",  # too short
    "+999123456",  # no such country code
    "+1 415 555 0123 ext. 9",
    "+",
]


@pytest.mark.parametrize("raw", NUMBERS)
def test_sign_in_numbers_are_judged_as_phonenumbers_judges_them(raw):
    """One parse and one type lookup give what validity and type, asked separately, would give."""
    import phonenumbers
    from django.core.exceptions import ValidationError

    from accounts.app_settings import app_settings
    from accounts.phone import NUMBER_TYPES, sign_in_number

    allowed = {NUMBER_TYPES[name] for name in app_settings.PHONE_ALLOWED_TYPES}
    try:
        number = phonenumbers.parse(raw, app_settings.PHONE_DEFAULT_REGION)
        expected = (
            phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
            if phonenumbers.is_valid_number(number) and phonenumbers.number_type(number) in allowed
            else None
        )
    except phonenumbers.NumberParseException:
        expected = None
    try:
        got = sign_in_number(raw)
    except ValidationError:
        got = None
    assert got == expected


def test_a_number_sent_in_e164_is_parsed_once_per_request(api, sms_outbox, monkeypatch):
    """Its validation, type, region, limits and message record share one parse."""
    import phonenumbers

    from messaging.numbers import parsed

    parse, calls = phonenumbers.parse, []
    monkeypatch.setattr(phonenumbers, "parse", lambda *args, **kw: calls.append(args) or parse(*args, **kw))
    parsed.cache_clear()
    assert request_code(api, phone="+919876500123").status_code == 200
    assert calls == [("+919876500123",)]


def test_each_request_shape_binds_its_own_fields():
    """Input serializers copy their declared fields: two at once never share a bound field, and the
    declared ones stay unbound."""
    from accounts.serializers import CodeRequestInput

    first = CodeRequestInput(data={"name": "Asha", "phone_number": PHONE})
    second = CodeRequestInput(data={"name": "", "phone_number": "12"})
    assert first.is_valid() and not second.is_valid()
    assert set(second.errors) == {"name", "phone_number"} and first.errors == {}
    for name, field in first.fields.items():
        assert field.parent is first and second.fields[name].parent is second
        assert CodeRequestInput._declared_fields[name].parent is None


@pytest.mark.parametrize("phone", ["12", "+1", "hello", "+91987654321099999", "", "+9198765\x0043210", 919876543210])
def test_invalid_phone_is_a_field_error(api, sms_outbox, phone):
    response = request_code(api, phone=phone)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid" and "phone_number" in body["fields"]
    assert sms_outbox == []


@pytest.mark.parametrize("name", ["", "   ", "x" * 101, "bad\x07name", None, 5, ["Asha"]])
def test_invalid_name_is_a_field_error(api, sms_outbox, name):
    response = api.post("/v1/signup", {"name": name, "phone_number": PHONE}, format="json")
    assert response.status_code == 400
    assert "name" in response.json()["fields"]


@pytest.mark.services
def test_only_a_keyed_hash_of_the_code_is_cached(api, sms_outbox):
    verification_id = request_code(api).json()["verification_id"]
    code = last_code(sms_outbox)
    client = cache.client.get_client()
    keys = client.keys("*")
    raw = b"".join(keys) + b"".join(client.dump(key) or b"" for key in keys)
    assert keys and code.encode() not in raw
    subject = f"{PHONE}#{verification_id}"  # the number, and the request that asked
    pending = PendingCode.unpack(client.get(cache.make_key(state_key(subject))))  # raw bytes, read by a script
    assert len(pending.digest) == 16 and pending.name == "Asha" and pending.length == 6


def test_right_code_creates_user_and_issues_token(api, sms_outbox):
    request_code(api, name="  Asha  ")
    response = verify(api, last_code(sms_outbox))
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True and body["created"] is True
    assert body["message"] == "User registered successfully"
    user = User.objects.get(phone_number=PHONE)
    assert body["data"] == {
        "id": user.pk,
        "name": "Asha",
        "phone_number": PHONE,
        "created_at": user.created_at.isoformat().replace("+00:00", "Z"),
    }
    assert len(body["token"]) == 26 and body["expiry"].endswith("Z")  # one time format
    assert not user.has_usable_password()


def test_existing_user_logs_in_and_keeps_name(api, sms_outbox):
    User.objects.create_user(PHONE, "Original")
    request_code(api, name="Someone Else")
    body = verify(api, last_code(sms_outbox)).json()
    assert body["created"] is False and body["message"] == "User logged in successfully"
    assert body["data"]["name"] == "Original"


def test_wrong_code_counts_attempts_then_destroys_code(api, sms_outbox, settings):
    settings.OTP_MAX_ATTEMPTS = 3
    request_code(api)
    code = last_code(sms_outbox)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    answers = [verify(api, wrong).json() for _ in range(3)]
    assert [a["code"] for a in answers] == ["otp_invalid"] * 3
    assert [a["attempts_left"] for a in answers] == [2, 1, 0]
    assert answers[0]["error"] == "That code is not right, 2 tries left."
    assert answers[2]["error"] == "That code is not right, and no tries are left for it: ask for a new one."
    after = verify(api, code)
    assert after.status_code == 401 and after.json()["code"] == "otp_expired"


def test_right_code_is_single_use(api, sms_outbox):
    request_code(api)
    code = last_code(sms_outbox)
    assert verify(api, code).status_code == 200
    again = verify(api, code)
    assert again.status_code == 401 and again.json()["code"] == "otp_expired"


def test_code_never_requested_is_expired(api):
    response = verify(api, "123456")
    assert response.status_code == 401 and response.json()["code"] == "otp_expired"


def test_code_expires_after_ttl(api, sms_outbox):
    with freeze_time() as clock:
        request_code(api)
        clock.tick(301)
        response = verify(api, last_code(sms_outbox))
    assert response.json()["code"] == "otp_expired"


def test_new_request_replaces_previous_code(api, sms_outbox, settings):
    settings.OTP_RESEND_COOLDOWN = 0
    request_code(api)
    first = last_code(sms_outbox)
    request_code(api)
    second = last_code(sms_outbox)
    if first != second:
        assert verify(api, first).json()["code"] == "otp_invalid"
    assert verify(api, second).status_code == 200


@pytest.mark.parametrize("otp", ["12345", "1234567", "12a456", "", 123456, None, "١٢٣٤٥٦"])
def test_malformed_otp_is_a_field_error(api, otp):
    response = api.post("/v1/signup", {"phone_number": PHONE, "otp": otp}, format="json")
    assert response.status_code == 400 and "otp" in response.json()["fields"]


def test_legacy_alias_serves_both_steps(api, sms_outbox):
    assert api.post("/signup", {"name": "Asha", "phone_number": PHONE}, format="json").status_code == 200
    assert api.post("/signup", {"phone_number": PHONE, "otp": last_code(sms_outbox)}, format="json").status_code == 200


def test_device_name_from_body_or_user_agent(api, sms_outbox, settings):
    settings.OTP_RESEND_COOLDOWN = 0
    request_code(api)
    verify(api, last_code(sms_outbox), device_name="  Pixel 8  ")
    request_code(api)
    api.post(
        "/v1/signup",
        {"phone_number": PHONE, "otp": last_code(sms_outbox)},
        format="json",
        HTTP_USER_AGENT="Agent/" + "x" * 200,
    )
    request_code(api)
    android = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile"
    api.post(
        "/v1/signup", {"phone_number": PHONE, "otp": last_code(sms_outbox)}, format="json", HTTP_USER_AGENT=android
    )
    names = sorted(User.objects.get().sessions.values_list("device_name", flat=True))
    assert names == ["Agent/" + "x" * 94, "Chrome on Android", "Pixel 8"]  # ua-parser's reading, or the agent


def test_disabled_account_gets_the_ordinary_answer_and_no_message(api, sms_outbox):
    User.objects.create_user(PHONE, "Asha", is_active=False)
    response = request_code(api)
    assert response.status_code == 200 and response.json()["message"] == "OTP sent successfully"
    assert sms_outbox == []
    assert verify(api, "123456").json()["code"] == "otp_invalid"  # as for any number: nothing tells it apart


@pytest.mark.django_db(transaction=True)
def test_sixteen_concurrent_right_codes_give_exactly_one_success(sms_outbox, settings):
    settings.OTP_MAX_ATTEMPTS = 16
    settings.OTP_MAX_FAILURES_PER_NUMBER = 100  # a separate limit; see test_failure_budget.py
    request_code(APIClient())
    code = last_code(sms_outbox)

    def attempt():
        response = verify(APIClient(), code)
        return response.status_code, response.json().get("code")

    statuses = run_concurrently(16, attempt)
    assert statuses.count((200, None)) == 1
    assert statuses.count((401, "otp_expired")) == 15
    assert User.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_first_sign_ins_create_one_user():
    results = run_concurrently(8, lambda: User.objects.record_sign_in(phone_number=PHONE, name="Asha"))
    assert User.objects.count() == 1
    assert sum(created for _user, created in results) == 1
    assert {user.pk for user, _created in results} == {User.objects.get().pk}


def test_a_returning_user_is_read_back_whole_and_keeps_their_name(db):
    first, created = User.objects.record_sign_in(phone_number=PHONE, name="Asha")
    again, created_again = User.objects.record_sign_in(phone_number=PHONE, name="Someone else")
    assert (created, created_again) == (True, False)
    stored = User.objects.get()
    assert (again.pk, again.name, again.created_at, again.is_active) == (stored.pk, "Asha", first.created_at, True)
    assert again.last_login == stored.last_login and again.last_login > first.last_login
    assert not stored.has_usable_password()


def test_every_sign_in_sets_last_login(api, sms_outbox, settings):
    from accounts.models import User

    settings.OTP_RESEND_COOLDOWN = 0
    request_code(api)
    verify(api, last_code(sms_outbox))
    first = User.objects.get().last_login
    request_code(api)
    verify(api, last_code(sms_outbox))
    assert first is not None and User.objects.get().last_login > first


def test_a_verify_writes_in_five_statements_and_the_session_brings_its_audit_row(api, sms_outbox):
    """The user (one upsert), the session (its signed_in audit row comes with the INSERT: the trigger of
    accounts migration 0004), its two tokens (one INSERT), the device's token and the message's
    verified mark, in one transaction."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from accounts.models import AuditEvent
    from messaging.models import Message
    from tokens.models import Session

    request_code(api)
    with CaptureQueriesContext(connection) as queries:
        assert verify(api, last_code(sms_outbox), device_name="Pixel 8").status_code == 200
    assert [sql.split()[0] for sql in statements(queries)] == ["INSERT", "INSERT", "INSERT", "INSERT", "UPDATE"]
    session, user = Session.objects.get(), User.objects.get()
    audit = AuditEvent.objects.get()
    assert (audit.user_id, audit.event, audit.detail, audit.created_at) == (
        user.pk,
        "signed_in",
        "Pixel 8",
        session.created_at,
    )
    assert session.tokens.count() == 2
    assert Message.objects.get().verified_at is not None


def test_no_way_of_starting_a_session_skips_its_audit_row(user):
    from accounts.models import AuditEvent
    from tokens.models import Session, Token, hash_token

    session = Session.objects.create(user=user, device_name="admin shell", last_used_at="2030-01-01T00:00Z")
    Token.objects.create(user=user, session=session, hash=hash_token("A" * 26), expiry="2030-01-01T00:00Z")
    assert list(AuditEvent.objects.values_list("user_id", "event", "detail")) == [(user.pk, "signed_in", "admin shell")]


@pytest.mark.parametrize(
    "number, says_region", [("12345", True), ("98765 4321", True), ("+91 12345", False), ("+999123", False)]
)
def test_a_refused_number_says_which_region_it_was_read_in(api, sms_outbox, number, says_region):
    response = request_code(api, number)
    [message] = response.json()["fields"]["phone_number"]
    assert response.status_code == 400
    assert ("read as a number of region IN" in message) is says_region


def test_a_verify_that_fails_on_the_database_gives_the_code_back(api, sms_outbox):
    """Nothing lost, item 3: PostgreSQL fails inside the sign-in's transaction (503); the same code
    works once it is back, with the tries it had."""
    from django.db import OperationalError, connection

    def database_down(execute, sql, params, many, context):
        if sql.lstrip().upper().startswith(("INSERT", "UPDATE")):
            raise OperationalError("server closed the connection unexpectedly")
        return execute(sql, params, many, context)

    request_code(api)
    code = last_code(sms_outbox)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    assert verify(api, wrong).json()["attempts_left"] == 4
    with connection.execute_wrapper(database_down):
        failed = verify(api, code)
    assert failed.status_code == 503 and failed.json()["code"] == "service_unavailable"
    assert verify(api, wrong).json()["attempts_left"] == 3  # the failed sign-in spent no try
    assert verify(api, code).status_code == 200
    assert verify(api, code).json()["code"] == "otp_expired"  # and it is single-use again
