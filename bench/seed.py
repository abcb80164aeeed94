"""Fill the benchmark database fast (plain SQL): users, our tokens, DRF and knox tokens."""

import secrets
import tempfile
from pathlib import Path

from django.db import connection
from knox.models import AuthToken, get_digest_token
from knox.settings import CONSTANTS
from rest_framework.authtoken.models import Token as DRFToken

from accounts.models import User
from tokens.grants import start_session


def users(count: int, start: int = 0) -> list[User]:
    User.objects.bulk_create(
        [User(phone_number=f"+91800{start + i:07d}", name="Bench", password="!") for i in range(count)],
        batch_size=5000,
    )
    return list(User.objects.filter(phone_number__startswith="+91800").order_by("id")[start : start + count])


def our_tokens(user: User, count: int, *, expired: bool = False, offset: int = 0) -> None:
    """``count`` rows with distinct hashes nobody holds the plaintext of (load for the index), outside
    any session (no sign-in: no session, no signed_in audit row)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """INSERT INTO tokens (hash, user_id, scope, expiry, created_at, device_name)
               SELECT sha256(convert_to(%s::text || i::text, 'UTF8')), %s, 'authentication',
                      now() + (CASE WHEN %s::boolean THEN interval '-1 hour' ELSE interval '2 days' END), now(), ''
               FROM generate_series(%s::int, %s::int) AS i""",
            [secrets.token_hex(8), user.pk, expired, offset + 1, offset + count],
        )
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
    return start_session(user=user, device_name="bench").fields["access_token"]


def refresh_tokens(user: User, count: int) -> str:
    """A file of ``count`` refresh tokens, each of its own session of ``user``, one per line."""
    lines = [start_session(user=user, device_name="bench").fields["refresh_token"] for _ in range(count)]
    path = Path(tempfile.mkstemp(suffix=".tokens")[1])
    path.write_text("\n".join(lines) + "\n")
    return str(path)
