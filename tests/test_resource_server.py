"""examples/resource_server, another service, trusts our tokens: by JWT (our JWKS) and by introspection.

Both servers run as processes: ours (scripts/serve) with TOKEN_FORMAT=jwt, theirs (runserver)."""

import subprocess
import time

import jwt
import pytest

from tests.live import BIN, ROOT, Process, free_port, on_path, request, wait_until

pytestmark = pytest.mark.services
SECRET = "orders-service-introspection-secret"
TEST_NUMBER, TEST_CODE = "+919000000011", "424242"


PYTHONPATH = f"{ROOT / 'examples' / 'resource_server'}:{ROOT / 'clients' / 'python'}"  # the example, the library


class ResourceServer(Process):
    def __init__(self, env: dict):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        server = ROOT / "examples" / "resource_server"
        super().__init__(
            [str(BIN / "python"), str(server / "manage.py"), "runserver", "--noreload", f"127.0.0.1:{self.port}"],
            on_path(BIN, {**env, "DJANGO_SETTINGS_MODULE": "resource_server.settings", "PYTHONPATH": PYTHONPATH}),
        )
        wait_until(lambda: self._up(), what="the resource server")

    def _up(self) -> bool:
        try:
            return request(self.url + "/orders/mine")[0] == 401
        except OSError:
            return False


def signing_keys(env: dict, *args: str) -> str:
    """``manage.py signing_keys ...`` as an operator runs it, with the server's settings."""
    done = subprocess.run(
        [str(BIN / "python"), "manage.py", "signing_keys", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def sign_in(ours) -> dict:
    assert request(ours.url + "/v1/signup", {"name": "Asha", "phone_number": TEST_NUMBER})[0] == 200
    status, body, _ = request(ours.url + "/v1/signup", {"phone_number": TEST_NUMBER, "otp": TEST_CODE})
    assert status == 200, body
    return body


def call(theirs, path: str, token: str) -> tuple[int, dict]:
    return request(theirs.url + path, headers={"Authorization": f"Bearer {token}"})[:2]


def test_another_service_trusts_our_tokens_through_rotation_and_logout(start_server, live_processes, live_env):
    signing_keys(live_env, "rotate")  # before a production start (DEBUG=0)
    ours = start_server(
        TOKEN_FORMAT="jwt",
        TOKEN_TTL="6",
        INTROSPECTION_SECRETS=SECRET,
        JWT_KEY_RELOAD_SECONDS="1",
        OTP_TEST_NUMBERS=f"{TEST_NUMBER}:{TEST_CODE}",
        OTP_TEST_NUMBERS_IN_PRODUCTION="1",
        OTP_RESEND_COOLDOWN="0",
    )
    theirs = ResourceServer(
        {
            **live_env,
            "CHEERSHARE_URL": ours.url,
            "CHEERSHARE_INTROSPECTION_SECRET": SECRET,
            "CHEERSHARE_LEEWAY": "0",
            "CHEERSHARE_JWKS_COOLDOWN": "0",
        }
    )
    live_processes.append(theirs)

    first = sign_in(ours)
    token = first["access_token"]
    mine = {"user": str(first["data"]["id"]), "session": first["session_id"], "checked_by": "jwt"}
    assert call(theirs, "/orders/mine", token) == (200, mine)
    assert call(theirs, "/orders/mine/introspected", token)[0] == 200
    head, signature = token.rsplit(".", 1)
    broken = signature[:10] + ("B" if signature[10] != "B" else "C") + signature[11:]  # (not the last: padding bits)
    assert call(theirs, "/orders/mine", f"{head}.{broken}")[0] == 401

    old_kid = jwt.get_unverified_header(token)["kid"]
    signing_keys(live_env, "rotate")
    time.sleep(1.5)  # every process of ours reads the keys again within JWT_KEY_RELOAD_SECONDS
    second = sign_in(ours)
    new_kid = jwt.get_unverified_header(second["access_token"])["kid"]
    assert new_kid != old_kid
    assert call(theirs, "/orders/mine", second["access_token"])[0] == 200  # a key it had not seen: fetched
    assert call(theirs, "/orders/mine", token)[0] == 200  # the previous key stays published
    assert call(theirs, "/orders/mine/introspected", token)[0] == 200  # remembered a few seconds

    fresh = second["access_token"]  # never introspected
    status, _body, _ = request(ours.url + "/v1/logout-all", method="POST", headers={"Authorization": f"Bearer {fresh}"})
    assert status == 200
    assert call(theirs, "/orders/mine/introspected", fresh)[0] == 401  # at once
    assert request(ours.url + "/v1/me", headers={"Authorization": f"Bearer {fresh}"})[0] == 401  # at once, here
    assert call(theirs, "/orders/mine", fresh)[0] == 200  # a JWT stays good elsewhere until its exp...
    wait_until(lambda: call(theirs, "/orders/mine", fresh)[0] == 401, timeout=10, what="the JWT's exp")
    remembered = lambda: call(theirs, "/orders/mine/introspected", token)[0] == 401  # noqa: E731
    wait_until(remembered, timeout=10, what="the remembered answer to lapse")
    assert TEST_CODE not in ours.output().replace(f"{TEST_NUMBER}:{TEST_CODE}", "")
