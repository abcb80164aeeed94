"""Fill the benchmark database fast (plain SQL): users, our tokens, DRF and knox tokens."""

import secrets

from django.db import connection
from knox.models import AuthToken, get_digest_token
from knox.settings import CONSTANTS
from rest_framework.authtoken.models import Token as DRFToken

from accounts.models import User
from tokens.models import Token


def users(count: int, start: int = 0) -> list[User]:
    User.objects.bulk_create(
        [User(phone_number=f"+91800{start + i:07d}", name="Bench", password="!") for i in range(count)],
        batch_size=5000,
    )
    return list(User.objects.filter(phone_number__startswith="+91800").order_by("id")[start : start + count])


def our_tokens(user: User, count: int, *, expired: bool = False, offset: int = 0) -> None:
    """``count`` rows with distinct hashes nobody holds the plaintext of (load for the index). They are
    not sign-ins: the trigger that writes a token's signed_in audit row is off while they go in."""
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE tokens DISABLE TRIGGER tokens_signed_in")
        try:
            cursor.execute(
                """INSERT INTO tokens (hash, user_id, scope, expiry, created_at, device_name)
                   SELECT sha256(convert_to(%s::text || i::text, 'UTF8')), %s, 'authentication',
                          now() + (CASE WHEN %s::boolean THEN interval '-1 hour' ELSE interval '2 days' END), now(), ''
                   FROM generate_series(%s::int, %s::int) AS i""",
                [secrets.token_hex(8), user.pk, expired, offset + 1, offset + count],
            )
        finally:
            cursor.execute("ALTER TABLE tokens ENABLE TRIGGER tokens_signed_in")
        cursor.execute("VACUUM (ANALYZE) tokens")  # settle the table before measuring, not during
        cursor.execute("CHECKPOINT")


def drf_tokens(owners: list[User]) -> str:
    DRFToken.objects.bulk_create([DRFToken(key=DRFToken.generate_key(), user=u) for u in owners], batch_size=5000)
    return DRFToken.objects.get(user=owners[0]).key


def knox_tokens(owners: list[User]) -> str:
    rows, plaintexts = [], []
    for user in owners:
        digest, token = get_digest_token()
        rows.append(AuthToken(digest=digest, token_key=token[: CONSTANTS.TOKEN_KEY_LENGTH], user=user, expiry=None))
        plaintexts.append(token)
    AuthToken.objects.bulk_create(rows, batch_size=5000)
    return plaintexts[0]


def bearer_for(user: User) -> str:
    return Token.objects.issue(user=user, device_name="bench")[1]
