"""Slow and odd requests against the production server, alone and behind nginx (third probe, items
2 and 7): trickled bodies hold no worker (alone, the body gate ends them with 408; behind nginx,
nginx holds them and the server runs without its gate, BODY_GATE=0), chunked bodies are read, and
the admin logs in through nginx on a port other than 80."""

import http.client
import json
import os
import re
import subprocess
import threading
import time

import pytest

from accounts.models import User
from tests.live import ROOT, Nginx, request, trickle_body

pytestmark = pytest.mark.live
BODY_READ_TIMEOUT = 3


@pytest.fixture(params=["alone", "behind nginx"])
def served(request, start_server):
    """(url, port, gated) of the server, reached directly (with its body gate) or through
    deploy/nginx.conf (without it, as compose runs it)."""
    alone = request.param == "alone"
    gate = "1" if alone else "0"
    server = start_server(BODY_READ_TIMEOUT=str(BODY_READ_TIMEOUT), TRUSTED_PROXY_COUNT="1", BODY_GATE=gate)
    if alone:
        yield server.url, server.port, True
        return
    nginx = Nginx(server.port)
    try:
        yield nginx.url, nginx.port, False
    finally:
        nginx.stop()


def test_trickled_bodies_hold_no_worker(served):
    url, port, gated = served
    until = time.monotonic() + 3 * BODY_READ_TIMEOUT
    ends = []
    tricklers = [threading.Thread(target=lambda: ends.extend(trickle_body(port, until, gap=1))) for _ in range(30)]
    for thread in tricklers:
        thread.start()
    time.sleep(1)
    slowest, n = 0.0, 0
    while time.monotonic() < until - 1:
        for path, body in (("/healthz", None), ("/v1/signup", {"name": "A", "phone_number": f"+91984000{n:04d}"})):
            started = time.monotonic()
            assert request(url + path, body, timeout=5)[0] == 200
            slowest = max(slowest, time.monotonic() - started)
        n += 1
        time.sleep(0.3)
    for thread in tricklers:
        thread.join()
    assert slowest < 1
    if not gated:  # nginx holds each one (a byte a second is within client_body_timeout) and passes none on
        assert ends == []
        return
    ended_by_server = [(line, seconds) for line, seconds in ends if seconds < 2 * BODY_READ_TIMEOUT]
    assert len(ended_by_server) >= 30  # every trickler was ended at least once before the run did
    assert {line for line, _ in ended_by_server} == {"HTTP/1.1 408 Request Timeout"}
    assert max(seconds for _, seconds in ended_by_server) < BODY_READ_TIMEOUT + 2


def test_a_chunked_body_is_read_not_taken_as_empty(served):
    _url, port, _gated = served
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    chunks = iter([b'{"name": "Asha", ', b'"phone_number": "+919876543210"}'])
    connection.request(
        "POST", "/v1/signup", body=chunks, headers={"Content-Type": "application/json"}, encode_chunked=True
    )
    answer = connection.getresponse()
    assert answer.status == 200, answer.read()
    assert b"OTP sent successfully" in answer.read()


def test_without_the_gate_a_chunked_body_is_still_read(start_server):
    """BODY_GATE=0 is for a server behind a proxy that buffers bodies, but a chunked body that reaches
    it directly is still read (serving.ChunkedBodies), not taken as empty."""
    server = start_server(BODY_GATE="0")
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    chunks = iter([b'{"name": "Asha", ', b'"phone_number": "+919876543211"}'])
    connection.request(
        "POST", "/v1/signup", body=chunks, headers={"Content-Type": "application/json"}, encode_chunked=True
    )
    answer = connection.getresponse()
    assert answer.status == 200, answer.read()


def test_the_admin_logs_in_through_nginx_on_another_port(start_server, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]  # the server's
    User.objects.create_superuser("+919000000001", "Admin", password="a-long-admin-password")
    server = start_server(TRUSTED_PROXY_COUNT="1", DEBUG="1")
    nginx = Nginx(server.port)
    try:
        assert nginx.port != 80
        connection = http.client.HTTPConnection("127.0.0.1", nginx.port, timeout=5)
        connection.request("GET", "/admin/login/")
        page = connection.getresponse()
        cookie = page.headers["Set-Cookie"].split(";")[0]
        form_token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.read()).group(1).decode()
        form = f"csrfmiddlewaretoken={form_token}&username=%2B919000000001&password=a-long-admin-password"
        headers = {
            "Cookie": cookie,
            "Origin": nginx.url,  # what a browser sends: the port included
            "Content-Type": "application/x-www-form-urlencoded",
        }
        connection.request("POST", "/admin/login/?next=/admin/", body=form, headers=headers)
        answer = connection.getresponse()
        body = answer.read()
        errors = re.findall(rb'errornote">([^<]*)', body)
        assert answer.status == 302 and answer.headers["Location"] == "/admin/", errors
    finally:
        nginx.stop()


def test_an_oversized_chunked_body_is_413(served):
    _url, port, _gated = served
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    chunks = iter([b"x" * 700_000, b"y" * 700_000])  # 1.4 MB, no Content-Length to refuse it by
    connection.request(
        "POST", "/v1/signup", body=chunks, headers={"Content-Type": "application/json"}, encode_chunked=True
    )
    answer = connection.getresponse()
    assert answer.status == 413 and json.loads(answer.read())["code"] == "payload_too_large"


def test_the_body_gate_setting_is_1_or_0():
    environment = {**os.environ, "BODY_GATE": "sometimes"}
    started = subprocess.run([str(ROOT / "scripts/serve")], env=environment, capture_output=True, text=True, timeout=30)
    assert started.returncode == 2 and "BODY_GATE must be 1 or 0" in started.stderr
