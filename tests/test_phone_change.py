"""POST /v1/me/phone: moving an account to a new number, in two steps like sign-up."""

import logging
from datetime import timedelta

import pytest
from django.utils import timezone
from freezegun import freeze_time
from rest_framework.test import APIClient

from accounts.models import User
from tests.fakes import FakeSiteverify
from tests.helpers import PHONE, auth, last_code, request_code, sign_in, verify
from tokens.models import Session, Token

pytestmark = pytest.mark.django_db
NEW = "+919812345678"


def change(api, token, phone=NEW, **extra):
    return api.post("/v1/me/phone", {"phone_number": phone, **extra}, format="json", **auth(token))


@pytest.fixture
def signed_in(api, sms_outbox, settings):
    """Two sessions of one account: (the one that changes the number, another device)."""
    settings.OTP_RESEND_COOLDOWN = 0
    return sign_in(api, sms_outbox), sign_in(api, sms_outbox)


def test_change_moves_the_account_and_ends_every_other_session(api, sms_outbox, signed_in, caplog):
    caplog.set_level(logging.INFO, logger="accounts.audit")
    token, other_device = signed_in
    sent = change(api, token)
    assert sent.status_code == 200 and sent.json()["expires_in"] == 300
    assert sms_outbox[-1].to == NEW
    moved = change(api, token, otp=last_code(sms_outbox))
    assert moved.status_code == 200, moved.json()
    assert moved.json() == {"success": True, "data": {**moved.json()["data"], "phone_number": NEW}}
    assert "no-store" in moved["Cache-Control"]
    assert User.objects.get().phone_number == NEW
    assert api.get("/v1/me", **auth(token)).json()["data"]["phone_number"] == NEW
    assert api.get("/v1/me", **auth(other_device)).status_code == 401
    assert list(Session.objects.values_list("pk", flat=True)) == [Token.objects.get(scope="authentication").session_id]
    event = next(r for r in caplog.records if getattr(r, "event", "") == "phone_changed")
    assert (event.old_phone, event.new_phone) == ("+91******3210", "+91******5678")
    assert PHONE not in caplog.text and NEW not in caplog.text
    again = verify(api, "000000", PHONE)  # the old number is free: it signs up as a new account
    assert again.json()["code"] == "otp_expired"
    request_code(api, PHONE)
    assert verify(api, last_code(sms_outbox), PHONE).json()["created"] is True


@pytest.mark.parametrize("extra", [{}, {"otp": "123456"}])
def test_the_same_number_is_invalid(api, signed_in, extra):
    response = change(api, signed_in[0], phone=PHONE, **extra)
    assert response.status_code == 400 and response.json()["code"] == "invalid"
    assert "phone_number" in response.json()["fields"]


def test_a_taken_number_is_told_only_after_its_code(api, sms_outbox, signed_in):
    owner = User.objects.create_user(NEW, "Ravi")
    token = signed_in[0]
    assert change(api, token).status_code == 200  # the same answer as a free number
    code = last_code(sms_outbox)
    wrong = change(api, token, otp=f"{(int(code) + 1) % 10**6:06d}")
    assert wrong.status_code == 401 and wrong.json()["code"] == "otp_invalid"
    taken = change(api, token, otp=code)
    assert taken.status_code == 409 and taken.json()["code"] == "phone_taken"
    assert User.objects.get(pk=owner.pk).phone_number == NEW
    assert api.get("/v1/me", **auth(token)).json()["data"]["phone_number"] == PHONE
    assert Session.objects.filter(user__phone_number=PHONE).count() == 2  # nothing ended


def test_codes_never_cross_between_sign_in_and_change(api, sms_outbox, signed_in):
    token = signed_in[0]
    change(api, token)
    assert verify(api, last_code(sms_outbox), NEW).json()["code"] == "otp_expired"  # no sign-in code pending
    request_code(api, NEW)  # a sign-in code for the new number: the change code stays pending beside it
    assert change(api, token, otp=last_code(sms_outbox)).json()["code"] == "otp_invalid"


def test_a_change_code_is_bound_to_its_account(api, sms_outbox, signed_in):
    change(api, signed_in[0])
    code = last_code(sms_outbox)
    stranger = sign_in(APIClient(), sms_outbox, phone="+919876500002")
    assert change(api, stranger, otp=code).json()["code"] == "otp_expired"
    assert change(api, signed_in[0], otp=code).status_code == 200


def test_send_limits_apply_per_number_across_sign_in_and_change(api, sms_outbox, signed_in, settings):
    settings.OTP_RESEND_COOLDOWN = 60
    request_code(api, NEW)
    refused = change(api, signed_in[0])
    assert refused.status_code == 429 and refused.json()["code"] == "otp_cooldown"
    assert refused.json()["retry_after"] == int(refused["Retry-After"]) > 0


def test_needs_a_token(api):
    response = api.post("/v1/me/phone", {"phone_number": NEW}, format="json")
    assert response.status_code == 401 and response.json()["code"] == "not_authenticated"


def test_a_concurrent_taker_gets_phone_taken(api, sms_outbox, signed_in):
    """Another account signs up with the number between the check and the write: the unique index decides."""
    token = signed_in[0]
    change(api, token)
    code = last_code(sms_outbox)
    from django.db.models.signals import pre_save

    def take_first(sender, instance, update_fields=None, **kwargs):
        if update_fields == ["phone_number"] or update_fields == frozenset({"phone_number"}):
            pre_save.disconnect(take_first, sender=User)
            User.objects.create_user(NEW, "Ravi")

    pre_save.connect(take_first, sender=User)
    try:
        response = change(api, token, otp=code)
    finally:
        pre_save.disconnect(take_first, sender=User)
    assert response.status_code == 409 and response.json()["code"] == "phone_taken"
    assert User.objects.get(phone_number=PHONE).name == "Asha"


@pytest.mark.parametrize("extra", [{}, {"otp": "123456"}])
def test_both_steps_need_a_fresh_sign_in(api, sms_outbox, signed_in, extra):
    """A stolen token older than REAUTH_MAX_AGE cannot move the account (third probe, item 3)."""
    token = signed_in[0]
    sent_before = len(sms_outbox)
    with freeze_time(timezone.now() + timedelta(seconds=601)):
        response = change(api, token, **extra)
    assert response.status_code == 403 and response.json()["code"] == "reauth_required"
    assert len(sms_outbox) == sent_before
    assert User.objects.get().phone_number == PHONE


def test_a_code_sent_while_fresh_cannot_be_used_once_stale(api, sms_outbox, signed_in):
    token = signed_in[0]
    assert change(api, token).status_code == 200
    with freeze_time(timezone.now() + timedelta(seconds=601)):
        response = change(api, token, otp=last_code(sms_outbox))
    assert response.status_code == 403 and response.json()["code"] == "reauth_required"
    assert User.objects.get().phone_number == PHONE


def test_the_captcha_gate_applies_to_the_change(api, sms_outbox, signed_in, settings):
    siteverify = FakeSiteverify("captcha-secret")
    settings.CAPTCHA_SECRET, settings.CAPTCHA_VERIFY_URL = "captcha-secret", siteverify.url
    try:
        sent_before = len(sms_outbox)
        for token in (None, "forged"):
            extra = {} if token is None else {"captcha_token": token}
            refused = change(api, signed_in[0], **extra)
            assert refused.status_code == 400 and refused.json()["code"] == "captcha_invalid"
        assert len(sms_outbox) == sent_before
        siteverify.valid.add("solved")
        assert change(api, signed_in[0], captcha_token="solved").status_code == 200
        assert sms_outbox[-1].to == NEW
    finally:
        siteverify.stop()


def test_an_account_asks_for_a_few_change_codes_a_day(api, sms_outbox, signed_in, settings):
    settings.PHONE_CHANGE_MAX_PER_DAY = 5
    token = signed_in[0]
    for n in range(5):
        assert change(api, token, phone=f"+91981234{n:04d}").status_code == 200
    refused = change(api, token, phone="+919812349999")
    assert refused.status_code == 429 and refused.json()["code"] == "throttled"
    assert refused.json()["retry_after"] == int(refused["Retry-After"]) > 0
    assert sms_outbox[-1].to == "+919812340004"
    assert request_code(api, "+919812349999").status_code == 200  # sign-in codes are not this account's
