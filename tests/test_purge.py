from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from accounts.models import User
from tokens.models import Token, hash_token

pytestmark = pytest.mark.django_db


def insert_tokens(user: User, count: int, *, expired: bool, offset: int = 0) -> None:
    """Bulk rows; hashes are distinct and not secrets. On PostgreSQL straight in SQL (fast enough for
    100,000), elsewhere through bulk_create."""
    if connection.vendor != "postgresql":
        expiry = timezone.now() + (timedelta(hours=-1) if expired else timedelta(days=1))
        Token.objects.bulk_create(
            Token(hash=hash_token(str(i)), user=user, expiry=expiry) for i in range(offset + 1, offset + count + 1)
        )
        return
    with connection.cursor() as cursor:
        cursor.execute(
            """INSERT INTO tokens (hash, user_id, scope, expiry, created_at, device_name)
               SELECT sha256(convert_to(i::text, 'UTF8')), %s, 'authentication',
                      now() + (CASE WHEN %s::boolean THEN interval '-1 hour' ELSE interval '1 day' END), now(), ''
               FROM generate_series(%s::int, %s::int) AS i""",
            [user.pk, expired, offset + 1, offset + count],
        )


@pytest.mark.services
def test_purge_of_100000_expired_tokens_keeps_every_live_one(user, capsys):
    insert_tokens(user, 100_000, expired=True)
    insert_tokens(user, 1_000, expired=False, offset=100_000)
    live_ids = set(Token.objects.live().values_list("id", flat=True))
    call_command("purge_expired_tokens")
    assert capsys.readouterr().out.splitlines() == ["deleted 100000 expired tokens", "deleted 0 ended sessions"]
    assert set(Token.objects.values_list("id", flat=True)) == live_ids and len(live_ids) == 1_000


def test_dry_run_counts_and_deletes_nothing(user, capsys):
    insert_tokens(user, 25, expired=True)
    call_command("purge_expired_tokens", "--dry-run")
    assert capsys.readouterr().out.splitlines() == ["would delete 25 expired tokens", "would delete 0 ended sessions"]
    assert Token.objects.count() == 25


def test_small_batches_delete_everything_expired(user, capsys, django_assert_max_num_queries):
    insert_tokens(user, 25, expired=True)
    _token, plaintext = Token.objects.issue(user=user)
    call_command("purge_expired_tokens", "--batch-size", "10")
    assert capsys.readouterr().out.splitlines() == ["deleted 25 expired tokens", "deleted 0 ended sessions"]
    assert Token.objects.resolve(plaintext) is not None and Token.objects.count() == 1


@pytest.mark.parametrize("value", ["0", "-5", "ten"])
def test_bad_batch_size_is_refused(value):
    with pytest.raises(CommandError):
        call_command("purge_expired_tokens", "--batch-size", value)


def test_beat_task_purges(user):
    from tokens.tasks import purge_expired_tokens

    insert_tokens(user, 3, expired=True)
    assert purge_expired_tokens.apply().get() == 3
