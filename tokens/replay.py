"""A spent refresh token's answer, kept so a retry within REFRESH_REUSE_INTERVAL gets it back byte
for byte, and readable only with that token: AES-GCM under a key derived (HKDF-SHA256) from the
token's plaintext, which this server never keeps, bound to the token's hash. The stored blob is the
nonce and the ciphertext."""

import os

import orjson
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

INFO = b"cheershare.refresh-replay"
NONCE_BYTES = 12


def _key(plaintext: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=INFO).derive(plaintext.encode("ascii"))


def seal(fields: dict, plaintext: str, digest: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(_key(plaintext)).encrypt(nonce, orjson.dumps(fields), digest)


def unseal(blob: bytes, plaintext: str, digest: bytes) -> dict:
    """The sealed fields (``cryptography.exceptions.InvalidTag`` if ``blob`` is not this token's)."""
    blob = bytes(blob)
    return orjson.loads(AESGCM(_key(plaintext)).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], digest))
