"""A software WebAuthn authenticator for tests: a platform authenticator with one ES256 passkey
(discoverable, user-verifying, synced), answering creation and request options as a browser's
``PublicKeyCredential.toJSON()`` would. CBOR by cbor2 (py_webauthn's own dependency)."""

import base64
import hashlib
import json
import os

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

UP, UV, BE, BS, AT = 0x01, 0x04, 0x08, 0x10, 0x40


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SoftAuthenticator:
    """``counting=False``: its signature counter stays 0, as synced passkeys' do (any order of use
    verifies: the benchmark's parallel sign-ins)."""

    def __init__(self, origin: str = "http://localhost:8000", *, counting: bool = True):
        self.origin, self.counting = origin, counting
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.credential_id = os.urandom(16)
        self.sign_count = 0
        self.user_handle = b""
        self.rp_id = ""

    def create(self, options: dict, *, origin: str | None = None, verified: bool = True) -> dict:
        """The RegistrationResponseJSON for creation ``options`` (``publicKey``), attestation "none"."""
        self.rp_id, self.user_handle = options["rp"]["id"], unb64url(options["user"]["id"])
        client_data = self._client_data("webauthn.create", options["challenge"], origin)
        attested = bytes(16) + len(self.credential_id).to_bytes(2, "big") + self.credential_id + self.cose_key()
        data = self._authenticator_data(self.rp_id, verified, AT) + attested
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": data})
        return {
            "id": b64url(self.credential_id),
            "rawId": b64url(self.credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64url(client_data),
                "attestationObject": b64url(attestation),
                "transports": ["internal", "hybrid"],
            },
            "clientExtensionResults": {},
            "authenticatorAttachment": "platform",
        }

    def cose_key(self) -> bytes:
        """The passkey's public key as COSE (EC2, ES256)."""
        numbers = self.key.public_key().public_numbers()
        x, y = numbers.x.to_bytes(32, "big"), numbers.y.to_bytes(32, "big")
        return cbor2.dumps({1: 2, 3: -7, -1: 1, -2: x, -3: y})

    def get(self, options: dict, *, origin: str | None = None, rp_id: str | None = None, verified: bool = True) -> dict:
        """The AuthenticationResponseJSON for request ``options``, signed with this passkey."""
        client_data = self._client_data("webauthn.get", options["challenge"], origin)
        self.sign_count += 1 if self.counting else 0
        data = self._authenticator_data(rp_id or options.get("rpId") or self.rp_id, verified, 0)
        signature = self.key.sign(data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256()))
        return {
            "id": b64url(self.credential_id),
            "rawId": b64url(self.credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64url(client_data),
                "authenticatorData": b64url(data),
                "signature": b64url(signature),
                "userHandle": b64url(self.user_handle),
            },
            "clientExtensionResults": {},
            "authenticatorAttachment": "platform",
        }

    def _client_data(self, kind: str, challenge: str, origin: str | None) -> bytes:
        return json.dumps({"type": kind, "challenge": challenge, "origin": origin or self.origin}).encode()

    def _authenticator_data(self, rp_id: str, verified: bool, extra_flags: int) -> bytes:
        flags = UP | BE | BS | extra_flags | (UV if verified else 0)
        return hashlib.sha256(rp_id.encode()).digest() + bytes([flags]) + self.sign_count.to_bytes(4, "big")
