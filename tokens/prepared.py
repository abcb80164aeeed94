"""A compiled query run straight through libpq (``psycopg.pq``), past the cursor layers of psycopg
and Django, with psycopg's own adapters dumping the parameters and loading the row: the token lookup
costs about 40 µs of CPU less this way (bench/NOTES.md). As psycopg does, a connection runs the query
unprepared (one round trip) until it has run it ``prepare_threshold`` times, then as a named prepared
statement, so a connection used for one request (``CONN_MAX_AGE=0``) never pays for preparing it.

Only where those layers would add nothing: PostgreSQL with server-side binding, in
autocommit outside any transaction, with no execute wrapper and no query logging (the tests and the
benchmark count queries through those, and then the cursor runs the same SQL). A statement that
fails to prepare or to run hands the query back to the cursor path, which raises as Django does,
and that connection keeps to the cursor path from then on; an exception from libpq itself goes
through Django's error wrapping.
"""

import re
import weakref

from psycopg import pq
from psycopg.adapt import PyFormat, Transformer

NOT_RUN = object()  # fetchone's answer when the cursor path must run the query
PREPARED, FAILED = "prepared", "failed"
_PLACEHOLDER = re.compile(r"%(%|s)")


def numbered(sql: str) -> str:
    """Django's ``%s`` placeholders as PostgreSQL's ``$1, $2, ...`` (``%%`` is a literal ``%``)."""
    count = 0

    def replace(match: re.Match) -> str:
        nonlocal count
        if match.group(1) == "%":
            return "%"
        count += 1
        return f"${count}"

    return _PLACEHOLDER.sub(replace, sql)


class PreparedQuery:
    def __init__(self, name: str, sql: str):
        self.name, self.sql = name.encode(), numbered(sql).encode()
        # per psycopg connection: how many times it ran the query unprepared, then PREPARED, or FAILED
        # once the statement failed there (no value may hold the connection: it would stay alive)
        self._state: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def fetchone(self, connection, params: list):
        """The first row of the query (None if it has none), or NOT_RUN where the cursor must run it."""
        if connection.execute_wrappers or connection.queries_logged or connection.in_atomic_block:
            return NOT_RUN
        connection.close_if_health_check_failed()  # what Django's cursor() does before a cursor
        connection.ensure_connection()
        connection.validate_thread_sharing()
        raw = connection.connection
        if not connection.get_autocommit() or raw.pgconn.transaction_status != pq.TransactionStatus.IDLE:
            return NOT_RUN
        state = self._state.get(raw, 0)
        if state == FAILED:
            return NOT_RUN
        with connection.wrap_database_errors:
            transformer = Transformer(raw)
            values = transformer.dump_sequence(params, [PyFormat.AUTO] * len(params))
            threshold = raw.prepare_threshold  # None: this connection prepares nothing
            if state != PREPARED and threshold is not None and state >= threshold:
                prepared = raw.pgconn.prepare(self.name, self.sql, transformer.types)
                state = self._state[raw] = PREPARED if prepared.status == pq.ExecStatus.COMMAND_OK else FAILED
            if state == FAILED:
                return NOT_RUN
            if state == PREPARED:
                result = raw.pgconn.exec_prepared(self.name, values, transformer.formats, pq.Format.BINARY)
            else:
                types, formats = transformer.types, transformer.formats
                result = raw.pgconn.exec_params(self.sql, values, types, formats, pq.Format.BINARY)
                if threshold is not None:
                    self._state[raw] = state + 1
            if result.status != pq.ExecStatus.TUPLES_OK:  # DEALLOCATE ALL dropped it, say
                self._state[raw] = FAILED
                return NOT_RUN
            transformer.set_pgresult(result, format=pq.Format.BINARY)
            return transformer.load_row(0, tuple) if result.ntuples else None
