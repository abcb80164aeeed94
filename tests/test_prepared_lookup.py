"""The token lookup as a prepared statement through libpq (tokens/prepared.py): the same answers as
the cursor path, and the cursor path wherever the libpq one would skip something Django does."""

import gc
import weakref
from datetime import timedelta

import pytest
from django.db import OperationalError, connection, connections, transaction
from django.utils import timezone

from tests.helpers import fields
from tokens.models import Token
from tokens.prepared import numbered

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]
NAME = "cheershare_token_lookup"


def prepared_here() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_prepared_statements WHERE name = %s", [NAME])
        return cursor.fetchone() is not None


def warmed(plaintext: str):
    """``plaintext`` looked up as often as the connection runs a query before preparing it, and once more."""
    connection.ensure_connection()
    for _ in range(connection.connection.prepare_threshold):
        Token.objects.resolve(plaintext)
    return Token.objects.resolve(plaintext)


def through_cursor(plaintext: str, scope: str = "authentication"):
    """The lookup on the cursor path: any execute wrapper keeps the libpq path off."""
    with connection.execute_wrapper(lambda execute, sql, params, many, context: execute(sql, params, many, context)):
        return Token.objects.resolve(plaintext, scope=scope)


def test_placeholders_are_numbered_and_literal_percents_kept():
    sql = "SELECT %s, '100%%' WHERE a = %s OR b LIKE '%%x'"
    assert numbered(sql) == "SELECT $1, '100%' WHERE a = $2 OR b LIKE '%x'"


def test_both_paths_give_the_same_answers(user, django_user_model):
    connection.close()  # a fresh connection: nothing prepared on it yet
    live = Token.objects.issue(user=user, device_name="Pixel 8")[1]
    expired_token, expired = Token.objects.issue(user=user)
    Token.objects.filter(pk=expired_token.pk).update(expiry=timezone.now() - timedelta(seconds=1))
    other_scope = Token.objects.issue(user=user, scope="phone-change")[1]
    stranger = django_user_model.objects.create_user(phone_number="+919876500000", name="Off", is_active=False)
    inactive = Token.objects.issue(user=stranger)[1]
    cases = [(live, "authentication"), (expired, "authentication"), (other_scope, "authentication"),
             (other_scope, "phone-change"), (inactive, "authentication"), ("A" * 26, "authentication")]  # fmt: skip
    for _ in range(2):  # twelve lookups: the first prepare_threshold (5) unprepared, the rest prepared
        for plaintext, scope in cases:
            direct = Token.objects.resolve(plaintext, scope=scope)
            assert fields(direct) == fields(through_cursor(plaintext, scope)), (plaintext, scope)
            if direct is not None:
                assert fields(direct.user) == fields(through_cursor(plaintext, scope).user)
    assert prepared_here()
    found = Token.objects.resolve(live)
    assert found.device_name == "Pixel 8" and found.expiry.tzinfo is not None and found.user.pk == user.pk


def test_a_transaction_reads_its_own_token_through_the_cursor(user):
    connection.close()
    with transaction.atomic():
        plaintext = Token.objects.issue(user=user)[1]  # not committed: only this transaction sees it
        assert Token.objects.resolve(plaintext) is not None
        assert Token.objects.resolve(plaintext) is not None
        assert not prepared_here()
    assert warmed(plaintext) is not None and prepared_here()


def test_a_dropped_statement_hands_the_lookup_to_the_cursor(user):
    plaintext = Token.objects.issue(user=user)[1]
    assert warmed(plaintext) is not None and prepared_here()
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")
    assert Token.objects.resolve(plaintext).user.pk == user.pk
    assert Token.objects.resolve(plaintext) is not None
    assert not prepared_here()  # that connection keeps to the cursor path


def test_a_lost_connection_is_a_django_error_and_the_next_one_works(user):
    plaintext = Token.objects.issue(user=user)[1]
    assert Token.objects.resolve(plaintext) is not None
    pid = connection.connection.info.backend_pid
    default = connections["default"]
    killer = type(default)(default.settings_dict)  # a second connection
    try:
        with killer.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    finally:
        killer.close()
    with pytest.raises(OperationalError):
        Token.objects.resolve(plaintext)
    default.close()
    assert warmed(plaintext) is not None and prepared_here()


def test_a_closed_connection_is_not_kept_alive_by_the_lookup(user):
    plaintext = Token.objects.issue(user=user)[1]
    assert warmed(plaintext) is not None and prepared_here()
    closed = weakref.ref(connection.connection)
    connection.close()
    gc.collect()
    assert closed() is None


def test_a_connection_prepares_the_lookup_only_once_it_has_run_it_prepare_threshold_times(user):
    """As psycopg does: a connection used for one request (CONN_MAX_AGE=0) makes one round trip, not two."""
    plaintext = Token.objects.issue(user=user)[1]
    connection.close()
    connection.ensure_connection()
    threshold = connection.connection.prepare_threshold
    assert threshold > 0
    for _ in range(threshold):
        assert Token.objects.resolve(plaintext) is not None
        assert not prepared_here()
    assert Token.objects.resolve(plaintext) is not None and prepared_here()
