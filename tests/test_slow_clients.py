"""Slow and odd requests against the production server, alone and behind nginx (third probe, items
2 and 7): trickled bodies hold no worker and end with 408, chunked bodies are read, and the admin
logs in through nginx on a port other than 80."""

import http.client
import json
import re
import threading
import time

import pytest

from accounts.models import User
from tests.live import Nginx, request, trickle_body

pytestmark = pytest.mark.live
BODY_READ_TIMEOUT = 3


@pytest.fixture(params=["alone", "behind nginx"])
def served(request, start_server):
    """(url, port) of the server, reached directly or through deploy/nginx.conf."""
    server = start_server(BODY_READ_TIMEOUT=str(BODY_READ_TIMEOUT), TRUSTED_PROXY_COUNT="1")
    if request.param == "alone":
        yield server.url, server.port
        return
    nginx = Nginx(server.port)
    try:
        yield nginx.url, nginx.port
    finally:
        nginx.stop()


def test_trickled_bodies_hold_no_worker_and_end_with_408(served):
    url, port = served
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
    ended_by_server = [(line, seconds) for line, seconds in ends if seconds < 2 * BODY_READ_TIMEOUT]
    assert len(ended_by_server) >= 30  # every trickler was ended at least once before the run did
    assert {line for line, _ in ended_by_server} == {"HTTP/1.1 408 Request Timeout"}
    assert max(seconds for _, seconds in ended_by_server) < BODY_READ_TIMEOUT + 2


def test_a_chunked_body_is_read_not_taken_as_empty(served):
    url, port = served
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    chunks = iter([b'{"name": "Asha", ', b'"phone_number": "+919876543210"}'])
    connection.request(
        "POST", "/v1/signup", body=chunks, headers={"Content-Type": "application/json"}, encode_chunked=True
    )
    answer = connection.getresponse()
    assert answer.status == 200, answer.read()
    assert b"OTP sent successfully" in answer.read()


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
    _url, port = served
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    chunks = iter([b"x" * 700_000, b"y" * 700_000])  # 1.4 MB, no Content-Length to refuse it by
    connection.request(
        "POST", "/v1/signup", body=chunks, headers={"Content-Type": "application/json"}, encode_chunked=True
    )
    answer = connection.getresponse()
    assert answer.status == 413 and json.loads(answer.read())["code"] == "payload_too_large"
