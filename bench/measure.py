"""The measurements of `make bench`, each returned as a row: metric, value, target, met."""

import socket
import tempfile
import time
from pathlib import Path

from bench import seed, wrk
from bench.peers import run as peers

SIGNUP_PHONES = "+917%09d"
ROUNDS = 3  # interleaved (floor, target) pairs per share; the median is reported


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def row(metric: str, value: float, fmt: str = "{:.2f}", target: str = "", met: bool | None = None) -> dict:
    return {"metric": metric, "value": fmt.format(value), "target": target, "met": met}


def ratio_row(metric: str, value: float, minimum: float | None) -> dict:
    return row(
        metric, value, target=f">= {minimum}" if minimum else "", met=None if minimum is None else value >= minimum
    )


def bearer(token: str, scheme: str = "Bearer") -> dict:
    return {"Authorization": f"{scheme} {token}"}


def run_all(server_class, seconds: float, sizes: dict) -> tuple[list[dict], list[dict]]:
    """The target table's rows and the side-by-side table's rows (see ``side``).

    Every share of the bare floor is the median of ROUNDS rounds, each a floor run and then its target:
    this machine's rates drift by a fifth within minutes, which a single floor run would put in the
    ratios, and one pair of runs still moved a share by a tenth."""
    users = seed.users(sizes["peers"])
    me_user, filler = users[0], users[1]
    seed.our_tokens(filler, sizes["small"] - 1)
    token = seed.bearer_for(me_user)
    strict = server_class(TOKEN_CACHE_SECONDS="0")
    cached = server_class(TOKEN_CACHE_SECONDS="300")
    bare = server_class(DJANGO_SETTINGS_MODULE="bench.bare_settings")
    rows, sides = [], []
    try:

        def rate(server, path, headers=None, lua=None):
            """A warm-up run, then the measured one (``lua`` may be a callable giving each its script)."""
            script = lua if callable(lua) else lambda: lua
            wrk.run(server.url + path, seconds=1, headers=headers, lua=script())
            return wrk.run(server.url + path, seconds=seconds, headers=headers, lua=script())

        def floor_now():
            return rate(bare, "/bench/open")

        def paired(server, path, headers=None, lua=None):
            """(result, share of the bare floor; 2xx answers only): the median of ROUNDS interleaved
            (floor, target) runs of half the run length each, and that round's target run."""
            script = lua if callable(lua) else lambda: lua
            wrk.run(bare.url + "/bench/open", seconds=1)
            wrk.run(server.url + path, seconds=1, headers=headers, lua=script())
            rounds = []
            for _ in range(ROUNDS):
                floor = wrk.run(bare.url + "/bench/open", seconds=seconds / 2)
                result = wrk.run(server.url + path, seconds=seconds / 2, headers=headers, lua=script())
                rounds.append((result.ok_rps / floor.rps, result))
            share, result = sorted(rounds, key=lambda pair: pair[0])[ROUNDS // 2]
            return result, share

        bare_floor = floor_now()
        floor = rate(strict, "/bench/open")
        healthz, healthz_share = paired(strict, "/healthz")
        protected, protected_share = paired(strict, "/v1/protected", bearer(token))
        me = rate(strict, "/v1/me", bearer(token))
        rows += [
            row("bare DRF view under Django's default middleware (bare floor)", bare_floor.rps, "{:.0f} req/s"),
            ratio_row("GET /healthz / bare floor (request ids, JSON log, metrics, headers on)", healthz_share, 0.95),
            ratio_row("open DRF view under our middleware / bare floor", floor.rps / bare_floor.rps, None),
            ratio_row("strict: GET /v1/protected / bare floor", protected_share, 0.6),
            row("open DRF view (floor), strict server", floor.rps, "{:.0f} req/s"),
            ratio_row(f"strict: GET /v1/me / floor ({sizes['small']:,} tokens)", me.rps / floor.rps, 0.85),
            ratio_row(
                f"strict: GET /v1/protected / floor ({sizes['small']:,} tokens)", protected.rps / floor.rps, 0.85
            ),
            row("p50 / p99 latency, floor", 0, f"{floor.p50_ms:.2f} / {floor.p99_ms:.2f} ms"),
            row("p50 / p99 latency, GET /v1/me", 0, f"{me.p50_ms:.2f} / {me.p99_ms:.2f} ms"),
            row("p50 / p99 latency, GET /v1/protected", 0, f"{protected.p50_ms:.2f} / {protected.p99_ms:.2f} ms"),
        ]
        cached_floor = rate(cached, "/bench/open")
        cached_me = rate(cached, "/v1/me", bearer(token))
        cached_protected, cached_share = paired(cached, "/v1/protected", bearer(token))
        rows += [
            ratio_row("cached: GET /v1/protected / bare floor", cached_share, 0.9),
            ratio_row("cached: GET /v1/me / floor", cached_me.rps / cached_floor.rps, 0.85),
            ratio_row("cached: GET /v1/protected / floor", cached_protected.rps / cached_floor.rps, 0.85),
            row("cached: p50 / p99 latency, GET /v1/me", 0, f"{cached_me.p50_ms:.2f} / {cached_me.p99_ms:.2f} ms"),
        ]
        auth_rows, ours_sql = queries_per_request(token)
        rows += auth_rows

        signup, signup_share = paired(strict, "/v1/signup", lua=wrk.signup_lua)
        rows.append(ratio_row("POST /v1/signup, code request / floor", signup.ok_rps / floor.rps, None))
        rows.append(ratio_row("POST /v1/signup, code request / bare floor", signup_share, 0.5))
        pairs = seed_codes(sizes["codes"])
        verify_runs = wrk.verify_lua(pairs, sizes["codes"], runs=ROUNDS + 1)  # the warm-up and each round
        verify, verify_share = paired(strict, "/v1/signup", lua=verify_runs)
        rows.append(
            ratio_row("POST /v1/signup, verify (user + token created) / floor", verify.ok_rps / floor.rps, None)
        )
        rows.append(ratio_row("POST /v1/signup, verify / bare floor", verify_share, 0.3))
        rows.append(row("verify requests that were not 200 (codes ran out or reused)", verify.errors, "{:.0f}"))
        code_sql, verify_sql = signin_queries()
        rows.append(
            row("SQL statements per verify (in one transaction)", verify_sql[0], "{:.0f}", "<= 3", verify_sql[0] <= 3)
        )
        sides.append(side("code request", "ours", signup, code_sql, signup_share))
        sides.append(side("verify (new user)", "ours", verify, verify_sql, verify_share))
        for name in peers.PEERS:
            peer_floor = floor_now()
            measured = peers.measure(name, seconds, free_port())
            for step, label in [("code", "code request"), ("verify", "verify (new user)")]:
                result = measured[step]
                sides.append(side(label, name, result, measured["sql"][step], result.ok_rps / peer_floor.rps))

        seed.our_tokens(filler, sizes["peers"] - sizes["small"], offset=sizes["small"])
        drf_key, knox_token = seed.drf_tokens(users), seed.knox_tokens(users)
        peers_sql = {
            "DRF TokenAuthentication": sql_per_request("/bench/drf-token", f"Token {drf_key}"),
            "django-rest-knox": sql_per_request("/bench/knox", f"Token {knox_token}"),
        }
        for name, server in [("strict", strict), ("cached", cached)]:
            base = rate(server, "/bench/open")
            ours, ours_share = paired(server, "/v1/protected", bearer(token))
            drf, drf_share = paired(server, "/bench/drf-token", bearer(drf_key, "Token"))
            knox, knox_share = paired(server, "/bench/knox", bearer(knox_token, "Token"))
            rows += [
                ratio_row(
                    f"{name}: ours / floor ({sizes['peers']:,} rows per token table)",
                    ours.rps / base.rps,
                    0.6 if name == "strict" else 0.85,
                ),
                ratio_row(f"{name}: DRF TokenAuthentication / floor", drf.rps / base.rps, None),
                ratio_row(f"{name}: django-rest-knox / floor", knox.rps / base.rps, None),
            ]
            step = f"authenticated request ({sizes['peers']:,} tokens)"
            sides.append(side(step, f"ours, {name}", ours, ours_sql[name], ours_share))
            if name == "strict":  # the peers have no cached mode: their figures do not depend on ours
                sides.append(
                    side(step, "DRF TokenAuthentication", drf, peers_sql["DRF TokenAuthentication"], drf_share)
                )
                sides.append(side(step, "django-rest-knox", knox, peers_sql["django-rest-knox"], knox_share))

        seed.our_tokens(filler, sizes["large"] - sizes["peers"], offset=sizes["peers"])
        floor_large = rate(strict, "/bench/open")
        me_large = rate(strict, "/v1/me", bearer(token))
        rows.append(
            ratio_row(
                f"GET /v1/me at {sizes['large']:,} tokens vs at {sizes['small']:,} (each over its floor)",
                (me_large.rps / floor_large.rps) / (me.rps / floor.rps),
                0.9,
            )
        )
    finally:
        strict.stop()
        cached.stop()
        bare.stop()
    rows += purge(sizes["purge_expired"], sizes["purge_live"], me_user, filler)
    rows.append(redis_bytes_per_code())
    return rows, sides


def side(step: str, implementation: str, result, sql: list[float], share: float) -> dict:
    """One row of the side-by-side table: rate, latency, SQL per request, share of the bare floor."""
    return {
        "step": step,
        "implementation": implementation,
        "rps": result.rps,
        "p50": result.p50_ms,
        "p99": result.p99_ms,
        "statements": sql[0],
        "writes": sql[1],
        "share": share,
        "errors": result.errors,
    }


def sql_per_request(path: str, authorization: str, *, requests: int = 1) -> list[float]:
    """[queries, writes] per authenticated GET of ``path``, in-process, after a warm-up; every query
    counts (a write is anything but a SELECT)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_AUTHORIZATION=authorization)
    for _ in range(5):
        assert client.get(path).status_code == 200
    with CaptureQueriesContext(connection) as queries:
        for _ in range(requests):
            assert client.get(path).status_code == 200
    writes = [q for q in queries if not q["sql"].lstrip().upper().startswith("SELECT")]
    return [len(queries) / requests, len(writes) / requests]


def signin_queries() -> tuple[list[int], list[int]]:
    """SQL statements and writes of one code request and one verify (a new user) of ours, in-process."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from cheershare.celery import app
    from messaging import backends as sms

    client, counts = Client(), []
    for phone in ("+919812300001", "+919812300002"):  # the first warms up
        client.post("/v1/signup", {"name": "Bench", "phone_number": phone}, content_type="application/json")
        code = sms.outbox[-1].code  # sent in-process (eager): the worker's SQL is not the request's
        app.conf.task_always_eager = False  # as on the servers: the task is only published (memory broker)
        try:
            with CaptureQueriesContext(connection) as code_queries:
                body = {"name": "Bench", "phone_number": phone.replace("98123", "98124")}
                client.post("/v1/signup", body, content_type="application/json")
        finally:
            app.conf.task_always_eager = True
        with CaptureQueriesContext(connection) as verify_queries:
            client.post("/v1/signup", {"phone_number": phone, "otp": code}, content_type="application/json")
        counts = [_statements(code_queries), _statements(verify_queries)]
    return counts[0], counts[1]


def _statements(queries) -> list[int]:
    """[statements, writes], leaving out transaction control (BEGIN, COMMIT, savepoints)."""
    sql = [q["sql"].lstrip().upper() for q in queries]
    sql = [s for s in sql if not s.startswith(("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE", "ROLLBACK"))]
    return [len(sql), sum(1 for s in sql if s.startswith(("INSERT", "UPDATE", "DELETE")))]


def queries_per_request(token: str) -> tuple[list[dict], dict[str, list[float]]]:
    """The target rows for /v1/me's SQL in each mode, and /v1/protected's [queries, writes] per request
    in each mode (for the side-by-side table)."""
    from django.test.utils import override_settings

    from tokens import revocation
    from tokens.memo import memo

    rows, protected = [], {}
    for mode, seconds in [("strict", 0), ("cached", 300)]:
        with override_settings(TOKEN_CACHE_SECONDS=seconds):
            if seconds:
                revocation.ensure_listener()
                while not memo.trusted:
                    time.sleep(0.01)
            queries, writes = sql_per_request("/v1/me", f"Bearer {token}", requests=100)
            protected[mode] = sql_per_request("/v1/protected", f"Bearer {token}", requests=100)
            target = "1" if mode == "strict" else "0"
            rows.append(
                row(
                    f"SQL queries per authenticated request ({mode})",
                    queries,
                    target=target,
                    met=queries <= int(target),
                )
            )
            rows.append(row(f"SQL writes per authenticated request ({mode})", writes, target="0", met=not writes))
    return rows, protected


def seed_codes(count: int) -> str:
    """Pending codes for ``count`` fresh numbers, requested through the service; returns a pairs file."""
    from accounts import otp
    from messaging import backends as sms

    sms.outbox.clear()
    lines = []
    for i in range(count):
        phone = SIGNUP_PHONES % (500_000_000 + i)
        otp.request_code(
            phone=phone, name="Bench", client_ip=f"10.{i // 65536}.{i // 256 % 256}.{i % 256}", language="en"
        )
        lines.append(f"{phone} {sms.outbox[-1].code}")
    path = Path(tempfile.mkstemp(suffix=".pairs")[1])
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def purge(expired: int, live: int, owner, filler) -> list[dict]:
    from django.db import connection

    from tokens.models import Token
    from tokens.purge import purge_expired_tokens

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE tokens")
    seed.our_tokens(filler, expired, expired=True)
    seed.our_tokens(owner, live)
    durations = []

    def timed(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            durations.append(time.perf_counter() - started)

    started = time.perf_counter()
    with connection.execute_wrapper(timed):
        deleted = purge_expired_tokens()
    total = time.perf_counter() - started
    kept = Token.objects.count()
    return [
        row(f"purge {expired:,} expired beside {live:,} live: total seconds", total, "{:.1f} s"),
        row("purge: longest single statement", max(durations), "{:.3f} s", target="<= 1 s", met=max(durations) <= 1),
        row(
            "purge: deleted / live kept",
            0,
            f"{deleted:,} / {kept:,}",
            target=f"{expired:,} / {live:,}",
            met=deleted == expired and kept == live,
        ),
    ]


def redis_bytes_per_code() -> dict:
    from django.core.cache import cache

    from accounts import otp

    phone = "+919999999999"
    before = set(cache.client.get_client().keys("*"))
    otp.request_code(phone=phone, name="Asha Rao", client_ip="192.0.2.1", language="en")
    client = cache.client.get_client()
    created = [key for key in set(client.keys("*")) - before if phone.encode() in key]
    total = sum(client.memory_usage(key) for key in created)
    return row(
        f"Redis bytes per pending code ({len(created)} keys)", total, "{:.0f} B", target="<= 400", met=total <= 400
    )
