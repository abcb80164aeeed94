"""The fourth probe's findings (issue 42), each reproduced: webhooks that held sign-in codes (a
trickling receiver, a huge answer, one queue for both), introspection (a 500, a stale number,
guessable secrets), NAT64 and 6to4 forms of inside addresses, and words for people."""

import ipaddress
import re
import resource
import socket
import threading
import time

import pytest
from django.contrib.auth import get_user_model
from django.core.checks import run_checks
from django.utils import timezone
from freezegun import freeze_time
from rest_framework.test import APIClient

from events import tasks
from events.address import refused_address
from events.models import Attempt, Delivery, Endpoint, Event, new_secret
from events.outbox import endpoints_changed
from tests.helpers import PHONE, last_code, request_code, verify
from tests.live import request, wait_until
from tokens import jwts
from tokens.grants import start_session

pytestmark = pytest.mark.django_db
SECRET = "introspection-secret-of-the-orders-service"


class RawReceiver:
    """A loopback receiver that answers 200 badly: ``trickle`` sends its headers and then its body
    one byte every ``every`` seconds, ``trickle-headers`` its status line and headers so;
    ``huge`` sends a body of ``size`` bytes as fast as it can."""

    def __init__(self, mode: str, *, every: float = 0.5, size: int = 300 * 1024 * 1024):
        self.mode, self.every, self.size, self.served = mode, every, size, 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}/hooks"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(client,), daemon=True).start()

    def _answer(self, client: socket.socket) -> None:
        self.served += 1
        try:
            client.recv(65536)
            head = f"HTTP/1.1 200 OK\r\nContent-Length: {self.size}\r\n\r\n".encode()
            if self.mode == "trickle-headers":
                for byte in head:
                    client.sendall(bytes([byte]))
                    time.sleep(self.every)
                return
            client.sendall(head)
            if self.mode == "trickle":
                for _ in range(self.size):
                    client.sendall(b"x")
                    time.sleep(self.every)
            else:
                chunk, sent = b"0" * 1024 * 1024, 0
                while sent < self.size:
                    client.sendall(chunk)
                    sent += len(chunk)
        except OSError:
            pass
        finally:
            client.close()

    def stop(self) -> None:
        self.listener.close()


@pytest.fixture
def endpoint_at(settings):
    made = []

    def make(receiver: RawReceiver) -> None:
        settings.WEBHOOK_URL, settings.WEBHOOK_SECRET, settings.WEBHOOK_ALLOW_PRIVATE = receiver.url, new_secret(), True
        endpoints_changed()
        made.append(receiver)

    yield make
    for receiver in made:
        receiver.stop()
    endpoints_changed()


def _deliver_one() -> Delivery:
    get_user_model().objects.create_user("+919876500001", "Ravi")
    with freeze_time(timezone.now() + timezone.timedelta(seconds=tasks.SWEEP_AFTER + 1)):
        tasks.dispatch(list(Event.objects.values_list("pk", flat=True)))
    return Delivery.objects.get()


@pytest.mark.parametrize("mode", ["trickle", "trickle-headers"])
def test_a_trickling_receiver_holds_a_delivery_no_longer_than_its_deadline(endpoint_at, settings, mode):
    """Trickled headers fail the attempt at the deadline; a 200 whose body trickles delivered (the
    receiver said so) and is cut at the deadline too."""
    settings.WEBHOOK_TIMEOUT = 2
    endpoint_at(RawReceiver(mode, every=0.5, size=100))
    started = time.monotonic()
    delivery = _deliver_one()
    assert time.monotonic() - started < 3
    delivery.refresh_from_db()
    assert delivery.attempts == 1
    if mode == "trickle":
        assert delivery.state == "delivered"
    else:
        assert delivery.attempt_log.get().error == "no answer within 2 s"


def test_a_huge_answer_is_read_no_further_than_64_kib(endpoint_at):
    receiver = RawReceiver("huge")
    endpoint_at(receiver)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    delivery = _deliver_one()
    assert time.monotonic() - started < 2
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown_kib < 20 * 1024
    delivery.refresh_from_db()
    assert delivery.state == "delivered" and delivery.attempts == 1


@pytest.mark.django_db(transaction=True)
def test_a_claim_counts_its_attempt_and_outlives_it(endpoint_at, settings):
    """While an attempt runs, it is counted already (a worker dying now leaves it counted) and the
    delivery is not due again before the exchange's deadline has long passed."""
    settings.WEBHOOK_TIMEOUT = 2
    endpoint_at(RawReceiver("trickle-headers", every=0.5, size=100))
    get_user_model().objects.create_user("+919876500001", "Ravi")  # its first attempt runs in the commit
    Attempt.objects.all().delete()
    Delivery.objects.update(state="pending", attempts=0, next_attempt_at=timezone.now())
    worker = threading.Thread(target=tasks.deliver, args=(Delivery.objects.get().pk,))
    worker.start()
    wait_until(lambda: Delivery.objects.filter(attempts=1).exists(), timeout=3, what="the claim")
    running = Delivery.objects.get()
    assert running.attempt_log.count() == 0  # still running
    assert running.next_attempt_at > timezone.now() + timezone.timedelta(seconds=settings.WEBHOOK_TIMEOUT)
    worker.join()
    assert Delivery.objects.get().attempts == 1 and Delivery.objects.get().attempt_log.count() == 1


def test_webhooks_and_codes_go_to_queues_of_their_own(settings):
    from cheershare.celery import app

    events_queue = settings.CELERY_EVENTS_QUEUE
    assert events_queue != settings.CELERY_TASK_DEFAULT_QUEUE
    for name in ("events.tasks.deliver", "events.tasks.dispatch", "events.tasks.sweep"):
        assert app.amqp.router.route({}, name)["queue"].name == events_queue
    assert app.amqp.router.route({}, "accounts.tasks.send_code_sms")["queue"].name == settings.CELERY_TASK_DEFAULT_QUEUE


@pytest.mark.live
def test_a_code_reaches_twilio_within_five_seconds_while_a_receiver_trickles(
    start_server, start_worker, live_env, fake_twilio
):
    """Workers as the README's scaling section runs them, one per queue: the webhooks' worker is held
    by a trickling receiver, and a code request's SMS goes out at once."""
    receiver = RawReceiver("trickle", every=3, size=1000)
    try:
        queue = live_env["CELERY_TASK_DEFAULT_QUEUE"]
        env = {"WEBHOOK_URL": receiver.url, "WEBHOOK_SECRET": new_secret(), "WEBHOOK_ALLOW_PRIVATE": "1"}
        start_worker(queues=queue, **env)
        start_worker(queues=f"{queue}.events", **env)
        server = start_server(**env)
        assert request(server.url + "/v1/signup", {"phone_number": "+919876500011"})[0] == 200
        (message,) = fake_twilio.wait_for_messages(1)
        code = re.search(r"\b(\d{6})\b", message["Body"]).group(1)
        signed_up = request(server.url + "/v1/signup", {"phone_number": "+919876500011", "otp": code})
        assert signed_up[0] == 200  # user.created and session.created: the receiver trickles its answers
        wait_until(lambda: receiver.served >= 1, timeout=10, what="the receiver held")
        asked = time.monotonic()
        assert request(server.url + "/v1/signup", {"phone_number": "+919876500012"})[0] == 200
        fake_twilio.wait_for_messages(2, timeout=5)
        assert time.monotonic() - asked < 5
    finally:
        receiver.stop()


@pytest.mark.parametrize(
    "address",
    [
        "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
        "64:ff9b::a9fe:a9fe",  # NAT64 of the metadata address
        "64:ff9b:1::a00:1",  # local-use NAT64
        "2002:7f00:1::",  # 6to4 of 127.0.0.1
        "2002:a9fe:a9fe::1",  # 6to4 of the metadata address
        "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo
        "::ffff:10.0.0.1",  # IPv4-mapped
        "::127.0.0.1",  # IPv4-compatible
        "192.0.0.8",  # IETF protocol assignments (RFC 6890)
        "100.64.0.1",  # shared address space
        "198.18.0.1",  # benchmarking
        "192.0.2.1",
        "fc00::1",
        "fe80::1",
        "ff02::1",
        "169.254.169.254",
        "0.0.0.0",
        "240.0.0.1",
    ],
)
def test_every_form_of_an_inside_address_is_refused(address):
    assert refused_address(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["8.8.8.8", "2606:4700:4700::1111", "64:ff9b::808:808", "2002:808:808::1"])
def test_public_addresses_pass(address):
    assert not refused_address(ipaddress.ip_address(address))


@pytest.fixture
def introspection(settings):
    from tokens.keys import SigningKey

    settings.INTROSPECTION_SECRETS = [SECRET]
    settings.TOKEN_FORMAT = "jwt"
    SigningKey.objects.rotate()
    return settings


def introspect(token, secret=SECRET, address="192.0.2.50"):
    return APIClient().post(
        "/v1/token/introspect", {"token": token}, format="json", HTTP_AUTHORIZATION=f"Bearer {secret}",
        REMOTE_ADDR=address,
    )  # fmt: skip


def test_a_signed_token_without_a_phone_number_claim_is_no_500(introspection, user, settings):
    """A validly signed token of ours that lacks a claim the answer used to copy."""
    import jwt

    from tokens.app_settings import app_settings
    from tokens.keys import keyring

    session = start_session(user=user).session
    now = int(time.time())
    claims = {"iss": app_settings.jwt_issuer, "aud": app_settings.JWT_AUDIENCE, "sub": str(user.pk), "jti": "j1"}
    claims.update(sid=session.pk, scope="authentication", iat=now, exp=now + 600)
    kid, algorithm, private_key = keyring.signing_key()
    token = jwt.encode(claims, private_key, algorithm=algorithm, headers={"kid": kid, "typ": jwts.TYPE})
    answer = introspect(token)
    assert answer.status_code == 200
    assert answer.json()["active"] is True and answer.json()["phone_number"] == user.phone_number


def test_introspection_names_the_number_the_account_has_now(introspection, api, sms_outbox, settings):
    request_code(api)
    signed_in = verify(api, last_code(sms_outbox)).json()
    settings.OTP_RESEND_COOLDOWN = 0
    headers = {"HTTP_AUTHORIZATION": f"Bearer {signed_in['access_token']}"}
    api.post("/v1/me/phone", {"phone_number": "+919876505678"}, format="json", **headers)
    moved = api.post(
        "/v1/me/phone", {"phone_number": "+919876505678", "otp": last_code(sms_outbox)}, format="json", **headers
    )
    assert moved.status_code == 200
    assert introspect(signed_in["access_token"]).json()["phone_number"] == "+919876505678"


def test_wrong_introspection_secrets_are_limited_per_address(introspection, settings):
    settings.INTROSPECTION_MAX_FAILURES = 3
    answers = [introspect("x", secret="w" * 40).status_code for _ in range(3)]
    assert answers == [401, 401, 401]
    refused = introspect("x")
    assert refused.status_code == 429 and refused.json()["code"] == "throttled"
    assert 1 <= refused.json()["retry_after"] <= 3600
    assert introspect("x", address="192.0.2.51").status_code == 200


def test_start_up_refuses_short_introspection_secrets(settings):
    settings.INTROSPECTION_SECRETS = ["short-secret"]
    assert "tokens.E006" in [message.id for message in run_checks()]


def test_the_admin_sends_a_content_security_policy(client):
    staff = get_user_model().objects.create_superuser("+919876500099", "Staff", password="pw-for-the-test")
    client.force_login(staff)
    answer = client.get("/admin/")
    policy = answer["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy


def test_the_api_sends_no_policy_it_does_not_need(api):
    assert "Content-Security-Policy" not in api.get("/healthz")


def test_verify_answers_from_any_address_after_the_probe(api, sms_outbox):
    request_code(api, REMOTE_ADDR="198.51.100.7")
    assert verify(APIClient(), last_code(sms_outbox), PHONE, REMOTE_ADDR="2001:db8::7").status_code == 200


def test_endpoint_secret_is_opened_in_one_place():
    endpoint = Endpoint(url="https://example.com/hooks")
    endpoint.secret = new_secret()
    assert endpoint.secret.startswith("whsec_")
