"""clients/python (cheershare-client): verified tokens remembered until their exp and never past
it, a bounded cache, the key set fetched again only for an unknown kid and at most once per
cooldown; against a key set this test serves on loopback, and against our own tokens."""

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from tests.live import ROOT

sys.path.insert(0, str(ROOT / "clients" / "python"))

from cheershare_client import TokenInvalid, Unreachable, Verifier  # noqa: E402
from cheershare_client.cache import BoundedCache  # noqa: E402
from cheershare_client.keys import KeySet  # noqa: E402


class KeyServer:
    """/.well-known/jwks.json of the keys it holds (``publish`` adds one); counts the fetches."""

    def __init__(self):
        self.keys, self.fetches = {}, 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                server.fetches += 1
                body = json.dumps({"keys": [jwk for _key, jwk in server.keys.values()]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def publish(self, kid: str) -> None:
        key = ed25519.Ed25519PrivateKey.generate()
        jwk = json.loads(jwt.algorithms.OKPAlgorithm.to_jwk(key.public_key()))
        self.keys[kid] = (key, {**jwk, "kid": kid, "alg": "EdDSA", "use": "sig"})

    def token(self, kid: str, *, lifetime: int = 900, **claims) -> str:
        now = int(time.time())
        payload = {"iss": "cheershare", "aud": "cheershare", "sub": "1", "sid": 1, "scope": "authentication",
                   "iat": now, "exp": now + lifetime, "jti": f"j{time.perf_counter_ns()}", **claims}  # fmt: skip
        return jwt.encode(payload, self.keys[kid][0], algorithm="EdDSA", headers={"kid": kid, "typ": "at+jwt"})


@pytest.fixture
def keys():
    server = KeyServer()
    server.publish("k1")
    yield server
    server.http.shutdown()


def test_a_verified_token_is_remembered_until_its_exp_and_not_past_it(keys):
    verifier = Verifier(keys.url, leeway=0)
    token = keys.token("k1", lifetime=2)
    claims = verifier.verify(token)
    assert claims["sub"] == "1" and keys.fetches == 1
    verifier.keys = KeySet("http://127.0.0.1:9/.well-known/jwks.json")  # no key can be had any more
    assert verifier.verify(token) == claims  # from the cache: its signature is not checked again
    time.sleep(2.1)
    with pytest.raises(Unreachable):  # past its exp the cache forgets it: a check is needed, and fails
        verifier.verify(token)


def test_an_unknown_kid_fetches_the_key_set_again_at_most_once_per_cooldown(keys):
    verifier = Verifier(keys.url, jwks_cooldown=0.5)
    verifier.verify(keys.token("k1"))
    keys.publish("k2")  # a rotation
    time.sleep(0.6)
    assert verifier.verify(keys.token("k2"))["sub"] == "1" and keys.fetches == 2
    for _ in range(5):  # tokens naming a key that is not there: no fetch per request
        with pytest.raises(TokenInvalid):
            verifier.verify(jwt.encode({"sub": "x"}, "s", headers={"kid": "nope", "typ": "at+jwt"}))
    assert keys.fetches == 2


def test_forged_and_foreign_tokens_are_refused(keys):
    verifier = Verifier(keys.url)
    good = keys.token("k1")
    head, body, signature = good.split(".")
    with pytest.raises(TokenInvalid):
        verifier.verify(f"{head}.{body}.{signature[::-1]}")
    with pytest.raises(TokenInvalid):
        verifier.verify(keys.token("k1", aud="another-service"))
    with pytest.raises(TokenInvalid):
        verifier.verify(jwt.encode({"sub": "1"}, "secret", algorithm="HS256", headers={"kid": "k1", "typ": "at+jwt"}))


def test_the_cache_is_bounded():
    cache = BoundedCache(3)
    for n in range(5):
        cache.put(bytes([n]), n, until=time.time() + 60)
    assert len(cache) == 3 and cache.get(b"\x00") is None and cache.get(b"\x04") == 4


@pytest.mark.django_db
def test_it_trusts_our_own_signed_tokens(live_server, settings, user):
    from tokens.app_settings import app_settings
    from tokens.grants import start_session
    from tokens.keys import SigningKey

    settings.TOKEN_FORMAT = "jwt"
    SigningKey.objects.rotate()
    token = start_session(user=user).fields["access_token"]
    verifier = Verifier(live_server.url, issuer=app_settings.jwt_issuer, audience=app_settings.JWT_AUDIENCE)
    claims = verifier.verify(token)
    assert claims["sub"] == str(user.pk) and claims["scope"] == "authentication"
