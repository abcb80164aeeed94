"""Passkey ceremonies, with py_webauthn doing the WebAuthn work: enrol from a session whose sign-in is
recent, and sign in with no message sent. A ceremony (its kind, its challenge and, for enrolment, the
account) is kept in the cache under a random id for WEBAUTHN_CEREMONY_TTL and used once. A sign-in
asks tokens for a session exactly as a code verify does, and nothing in any answer says which
numbers have passkeys (discoverable credentials: the options name none)."""

import secrets
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import parse_authentication_credential_json, parse_registration_credential_json
from webauthn.helpers.cose import COSEAlgorithmIdentifier
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.options_to_json_dict import options_to_json_dict
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    CredentialDeviceType,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from accounts import counters, limits, signals
from accounts.account import require_fresh_sign_in
from accounts.app_settings import app_settings
from accounts.counters import Limit, admit
from accounts.devices import KnownDevice
from accounts.exceptions import PasskeyInvalid, PasskeyRefused, RateLimited
from accounts.passkeys import Passkey
from accounts.signin import SignIn
from tokens.grants import start_session

REGISTER, SIGN_IN = "register", "signin"
ALGORITHMS = [
    COSEAlgorithmIdentifier.EDDSA,
    COSEAlgorithmIdentifier.ECDSA_SHA_256,
    COSEAlgorithmIdentifier.RSASSA_PKCS1_v1_5_SHA_256,
]
TIMEOUT_MS = 300_000
LAST_USED_INTERVAL = timedelta(minutes=1)
FAILURES = (WebAuthnException, ValueError, TypeError, KeyError, AttributeError)


def enrolment_options(*, user, token, client_ip: str) -> tuple[str, dict]:
    """A ceremony id and the creation options for ``user``'s new passkey (its sign-in must be recent)."""
    require_fresh_sign_in(token)
    _admit(client_ip)
    options = generate_registration_options(
        rp_id=app_settings.rp_id,
        rp_name=app_settings.WEBAUTHN_RP_NAME,
        user_name=user.phone_number,
        user_id=_handle_of(user),
        user_display_name=user.name or user.phone_number,
        timeout=TIMEOUT_MS,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED, user_verification=UserVerificationRequirement.REQUIRED
        ),
        exclude_credentials=[PublicKeyCredentialDescriptor(id=bytes(key)) for key in _credential_ids(user)],
        supported_pub_key_algs=ALGORITHMS,
    )
    return _remember(REGISTER, options.challenge, user.pk), options_to_json_dict(options)


def enrol(*, user, token, ceremony_id: str, credential: dict, name: str = "") -> Passkey:
    """Verify the authenticator's answer to ``ceremony_id`` and keep the passkey; PasskeyRefused if
    anything is wrong (a bad, foreign, used or expired ceremony; an answer that does not verify)."""
    require_fresh_sign_in(token)
    challenge = _take(ceremony_id, REGISTER, user.pk, refusal=PasskeyRefused)
    try:
        parsed = parse_registration_credential_json(credential)
        verified = verify_registration_response(
            credential=parsed,
            expected_challenge=challenge,
            expected_rp_id=app_settings.rp_id,
            expected_origin=app_settings.webauthn_origins,
            require_user_verification=True,
            supported_pub_key_algs=ALGORITHMS,
        )
    except FAILURES:
        raise PasskeyRefused() from None
    try:
        with transaction.atomic():
            passkey = Passkey.objects.create(
                user=user,
                credential_id=verified.credential_id,
                public_key=verified.credential_public_key,
                sign_count=verified.sign_count,
                transports=[transport.value for transport in parsed.response.transports or []],
                backup_eligible=verified.credential_device_type == CredentialDeviceType.MULTI_DEVICE,
                backed_up=verified.credential_backed_up,
                name=name,
            )
            signals.passkey_added.send(sender=enrol, user_id=user.pk, passkey=passkey)
    except IntegrityError:  # that credential is enrolled already
        raise PasskeyRefused() from None
    return passkey


def sign_in_options(*, client_ip: str) -> tuple[str, dict]:
    """A ceremony id and request options naming no credential (the authenticator offers its own)."""
    _admit(client_ip)
    options = generate_authentication_options(
        rp_id=app_settings.rp_id, timeout=TIMEOUT_MS, user_verification=UserVerificationRequirement.REQUIRED
    )
    return _remember(SIGN_IN, options.challenge, None), options_to_json_dict(options)


def sign_in_with_passkey(*, ceremony_id: str, credential: dict, device_name: str, device_token: str = "") -> SignIn:
    """A new session for the passkey's account, exactly as a verify gives (no message sent), in one
    transaction of at most five statements (the passkey read with its user, its count and last use
    written when they changed, the session, its tokens, the device's token); PasskeyInvalid for
    anything wrong, whatever it is."""
    challenge = _take(ceremony_id, SIGN_IN, None, refusal=PasskeyInvalid)
    try:
        parsed = parse_authentication_credential_json(credential)
    except FAILURES:
        raise PasskeyInvalid() from None
    with transaction.atomic():
        passkey = Passkey.objects.select_related("user").filter(credential_id=parsed.raw_id).first()
        if passkey is None or not passkey.user.is_active:
            raise PasskeyInvalid()
        user = passkey.user
        if parsed.response.user_handle is not None and parsed.response.user_handle != bytes(user.passkey_handle):
            raise PasskeyInvalid()
        try:
            verified = verify_authentication_response(
                credential=parsed,
                expected_challenge=challenge,
                expected_rp_id=app_settings.rp_id,
                expected_origin=app_settings.webauthn_origins,
                credential_public_key=bytes(passkey.public_key),
                credential_current_sign_count=passkey.sign_count,
                require_user_verification=True,
            )
        except FAILURES:
            raise PasskeyInvalid() from None
        _note_use(passkey, verified.new_sign_count, verified.credential_backed_up)
        grant = start_session(user=user, device_name=device_name)
        device = KnownDevice.objects.issue(user=user, replacing=device_token)
    return SignIn(user=user, created=False, grant=grant, device_token=device)


def _note_use(passkey: Passkey, sign_count: int, backed_up: bool) -> None:
    """Keep the authenticator's count and backup state whenever they change; its last use at most
    once per LAST_USED_INTERVAL (a synced passkey's count stays 0: no row written per sign-in)."""
    now = timezone.now()
    changed = sign_count != passkey.sign_count or backed_up != passkey.backed_up
    if changed or passkey.last_used_at is None or now - passkey.last_used_at >= LAST_USED_INTERVAL:
        Passkey.objects.filter(pk=passkey.pk).update(sign_count=sign_count, backed_up=backed_up, last_used_at=now)


def _handle_of(user) -> bytes:
    """The account's WebAuthn user handle, made at its first passkey: 32 random bytes."""
    if user.passkey_handle is None:
        handle = secrets.token_bytes(32)
        get_user_model().objects.filter(pk=user.pk, passkey_handle__isnull=True).update(passkey_handle=handle)
        user.passkey_handle = get_user_model().objects.values_list("passkey_handle", flat=True).get(pk=user.pk)
    return bytes(user.passkey_handle)


def _credential_ids(user) -> list:
    return list(Passkey.objects.filter(user=user).values_list("credential_id", flat=True))


def _admit(client_ip: str) -> None:
    limit = Limit(f"wa:ip:{limits.source_key(client_ip)}", app_settings.WEBAUTHN_MAX_PER_IP_PER_HOUR, 3600)
    refusal = admit([limit])
    if refusal is not None:
        raise RateLimited(refusal.wait)


def _remember(kind: str, challenge: bytes, user_id: int | None) -> str:
    ceremony_id = secrets.token_urlsafe(24)
    cache.set(_key(ceremony_id), (kind, challenge, user_id), app_settings.WEBAUTHN_CEREMONY_TTL)
    return ceremony_id


def _take(ceremony_id: str, kind: str, user_id: int | None, *, refusal: type[Exception]) -> bytes:
    """The challenge of ceremony ``ceremony_id`` if it is of ``kind`` (and ``user_id``'s), used up now;
    of many callers with one id, one gets it."""
    key = _key(ceremony_id)
    client = counters.redis_client()
    if client is not None:  # one round trip: GETDEL
        raw = client.getdel(cache.make_key(key))
        found = None if raw is None else cache.client.decode(raw)
    else:
        with counters.local_lock:
            found = cache.get(key)
            cache.delete(key)
    if found is None or found[0] != kind or found[2] != user_id:
        raise refusal()
    return found[1]


def _key(ceremony_id: str) -> str:
    return f"webauthn:{ceremony_id}"
