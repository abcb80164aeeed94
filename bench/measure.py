"""The measurements of `make bench`, each returned as a row: metric, value, target, met."""

import statistics
import tempfile
import time
from pathlib import Path

from bench import seed, wrk
from bench.peers import run as peers
from tests.helpers import statement_counts
from tests.live import free_port

SIGNUP_PHONES = "+917%09d"
ROUNDS = 3  # rounds of the floors, then the targets, per share; the median is reported
LOOKUP_VIEW = "a bare DRF view, one SELECT by the token's hash on Django's default database settings"
CODE_FLOOR = "a DRF serializer, one Redis script, one Celery publish"  # bench/floor.py
VERIFY_FLOOR = "a DRF serializer, one Redis script, one transaction of four inserts"


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

    Every share is the median of ROUNDS rounds, each round running the floors and then the targets
    (see ``interleaved``): this machine's rates drift by a fifth within minutes, which a single floor
    run would put in the ratios, and one pair of runs still moved a share by a tenth."""
    users = seed.users(sizes["peers"])
    me_user, filler = users[0], users[1]
    seed.our_tokens(filler, sizes["small"] - 1)
    token = seed.bearer_for(me_user)
    strict = server_class(TOKEN_CACHE_SECONDS="0")
    cached = server_class(TOKEN_CACHE_SECONDS="300")
    bare = server_class(DJANGO_SETTINGS_MODULE="bench.bare_settings")
    rows, sides = [], []
    try:

        def measured(targets: dict, own=None, least=None) -> dict:
            """``interleaved`` against the bare floor and, if given, ``own`` (our open view's server) and
            ``least`` (a view of bench/floor.py: the one-query view or a sign-in floor)."""
            floors = {"bare": (bare, "/bench/open")}
            if own is not None:
                floors["own"] = (own, "/bench/open")
            if least is not None:
                floors["least"] = least
            return interleaved(targets, floors, seconds / 2)

        auth = bearer(token)
        first = measured(
            {
                "healthz": (strict, "/healthz"),
                "protected": (strict, "/v1/protected", auth),
                "me": (strict, "/v1/me", auth),
            },
            own=strict,
            least=(bare, "/bench/lookup", auth),
        )
        floor, me = first["own"]["result"], first["me"]["result"]
        protected = first["protected"]["result"]
        rows += [
            row("bare DRF view under Django's default middleware (bare floor)", first["bare"]["rps"], "{:.0f} req/s"),
            ratio_row(
                "GET /healthz / bare floor (request ids, JSON log, metrics, headers on)",
                first["healthz"]["bare"],
                0.95,
            ),
            ratio_row("open DRF view under our middleware / bare floor", first["own"]["bare"], None),
            ratio_row("strict: GET /v1/protected / bare floor", first["protected"]["bare"], 0.6),
            ratio_row(f"one-query view ({LOOKUP_VIEW}) / bare floor", first["least"]["bare"], None),
            ratio_row("strict: GET /v1/protected / one-query view", first["protected"]["least"], None),
            row("open DRF view (floor), strict server", floor.rps, "{:.0f} req/s"),
            ratio_row(f"strict: GET /v1/me / floor ({sizes['small']:,} tokens)", first["me"]["own"], 0.85),
            ratio_row(
                f"strict: GET /v1/protected / floor ({sizes['small']:,} tokens)", first["protected"]["own"], 0.85
            ),
            row("p50 / p99 latency, floor", 0, f"{floor.p50_ms:.2f} / {floor.p99_ms:.2f} ms"),
            row("p50 / p99 latency, GET /v1/me", 0, f"{me.p50_ms:.2f} / {me.p99_ms:.2f} ms"),
            row("p50 / p99 latency, GET /v1/protected", 0, f"{protected.p50_ms:.2f} / {protected.p99_ms:.2f} ms"),
        ]
        warm = measured({"protected": (cached, "/v1/protected", auth), "me": (cached, "/v1/me", auth)}, own=cached)
        cached_me = warm["me"]["result"]
        rows += [
            ratio_row("cached: GET /v1/protected / bare floor", warm["protected"]["bare"], 0.9),
            ratio_row("cached: GET /v1/me / floor", warm["me"]["own"], 0.85),
            ratio_row("cached: GET /v1/protected / floor", warm["protected"]["own"], 0.85),
            row("cached: p50 / p99 latency, GET /v1/me", 0, f"{cached_me.p50_ms:.2f} / {cached_me.p99_ms:.2f} ms"),
        ]
        auth_rows, ours_sql = queries_per_request(token)
        rows += auth_rows

        least = (bare, "/bench/code-request", None, wrk.signup_lua)
        code = measured({"code": (strict, "/v1/signup", None, wrk.signup_lua)}, least=least)
        signup = code["code"]
        rows += [
            ratio_row("POST /v1/signup, code request / bare floor", signup["bare"], 0.5),
            ratio_row(f"code-request floor ({CODE_FLOOR}) / bare floor", code["least"]["bare"], None),
            ratio_row("POST /v1/signup, code request / code-request floor", signup["least"], None),
        ]
        pairs = seed_codes(sizes["codes"])
        verify_runs = wrk.verify_lua(pairs, sizes["codes"], runs=ROUNDS + 1)  # the warm-up and each round
        # the floor reads the same codes with its own slices: sharing ours would leave our runs used codes
        least = (bare, "/bench/verify", None, wrk.verify_lua(pairs, sizes["codes"], runs=ROUNDS + 1))
        refresh_runs = wrk.refresh_lua(seed.refresh_tokens(me_user, sizes["codes"]), sizes["codes"], runs=ROUNDS + 1)
        passkey_runs = wrk.passkey_lua(seed_passkey_sign_ins(sizes["codes"]), sizes["codes"], runs=ROUNDS + 1)
        checked = measured(
            {
                "verify": (strict, "/v1/signup", None, verify_runs),
                "refresh": (strict, "/v1/token/refresh", None, refresh_runs),
                "passkey": (strict, "/v1/passkeys/signin", None, passkey_runs),
            },
            least=least,
        )
        verify, refreshed, passkey = checked["verify"], checked["refresh"], checked["passkey"]
        rows += [
            ratio_row("POST /v1/signup, verify (user + session + tokens created) / bare floor", verify["bare"], 0.3),
            ratio_row(f"verify floor ({VERIFY_FLOOR}) / bare floor", checked["least"]["bare"], None),
            ratio_row("POST /v1/signup, verify / verify floor", verify["least"], None),
            ratio_row("POST /v1/token/refresh (rotation) / bare floor", refreshed["bare"], None),
            ratio_row(
                "POST /v1/token/refresh / verify (2xx, same rounds)",
                refreshed["result"].ok_rps / verify["result"].ok_rps,
                1.0,
            ),
            ratio_row("POST /v1/token/refresh / verify floor", refreshed["least"], None),
            ratio_row("POST /v1/passkeys/signin (session + tokens, no message) / bare floor", passkey["bare"], None),
            ratio_row(
                "POST /v1/passkeys/signin / verify (2xx, same rounds)",
                passkey["result"].ok_rps / verify["result"].ok_rps,
                1.0,
            ),
        ]
        rows += [
            row("verify requests that were not 200 (codes ran out or reused)", verify["result"].errors, "{:.0f}"),
            row("refresh requests that were not 200 (tokens ran out)", refreshed["result"].errors, "{:.0f}"),
            row("passkey sign-ins that were not 200 (ceremonies ran out)", passkey["result"].errors, "{:.0f}"),
        ]
        code_sql, verify_sql, refresh_sql = signin_queries()
        passkey_sql = passkey_queries()
        rows += [
            row(
                "SQL statements per passkey sign-in (in one transaction)",
                passkey_sql[0],
                "{:.0f}",
                "<= 5",
                passkey_sql[0] <= 5,
            ),
            row("SQL statements per verify (in one transaction)", verify_sql[0], "{:.0f}", "<= 4", verify_sql[0] <= 4),
            row(
                "SQL statements per refresh (in one transaction)", refresh_sql[0], "{:.0f}", "<= 4", refresh_sql[0] <= 4
            ),
        ]
        sides.append(side("code request", "ours", signup["result"], code_sql, signup["bare"]))
        sides.append(side("verify (new user)", "ours", verify["result"], verify_sql, verify["bare"]))
        sides.append(side("refresh (rotation)", "ours", refreshed["result"], refresh_sql, refreshed["bare"]))
        sides.append(side("passkey sign-in", "ours", passkey["result"], passkey_sql, passkey["bare"]))
        for name in peers.PEERS:
            wrk.run(bare.url + "/bench/open", seconds=1)
            peer_floor = wrk.run(bare.url + "/bench/open", seconds=seconds)
            peer = peers.measure(name, seconds, free_port())
            for step, label in [("code", "code request"), ("verify", "verify (new user)")]:
                result = peer[step]
                sides.append(side(label, name, result, peer["sql"][step], result.ok_rps / peer_floor.rps))

        seed.our_tokens(filler, sizes["peers"] - sizes["small"], offset=sizes["small"])
        drf_key, knox_token = seed.drf_tokens(users), seed.knox_tokens(users)
        peers_sql = {
            "DRF TokenAuthentication": sql_per_request("/bench/drf-token", f"Token {drf_key}"),
            "django-rest-knox": sql_per_request("/bench/knox", f"Token {knox_token}"),
        }
        step = f"authenticated request ({sizes['peers']:,} tokens)"
        for name, server in [("strict", strict), ("cached", cached)]:
            auths = measured(
                {
                    "ours": (server, "/v1/protected", auth),
                    "DRF TokenAuthentication": (server, "/bench/drf-token", bearer(drf_key, "Token")),
                    "django-rest-knox": (server, "/bench/knox", bearer(knox_token, "Token")),
                },
                own=server,
            )
            rows += [
                ratio_row(
                    f"{name}: ours / floor ({sizes['peers']:,} rows per token table)",
                    auths["ours"]["own"],
                    0.6 if name == "strict" else 0.85,
                ),
                ratio_row(f"{name}: DRF TokenAuthentication / floor", auths["DRF TokenAuthentication"]["own"], None),
                ratio_row(f"{name}: django-rest-knox / floor", auths["django-rest-knox"]["own"], None),
            ]
            ours = auths["ours"]
            sides.append(side(step, f"ours, {name}", ours["result"], ours_sql[name], ours["bare"]))
            if name == "strict":  # the peers have no cached mode: their figures do not depend on ours
                for peer_name, sql in peers_sql.items():
                    sides.append(side(step, peer_name, auths[peer_name]["result"], sql, auths[peer_name]["bare"]))

        seed.our_tokens(filler, sizes["large"] - sizes["peers"], offset=sizes["peers"])
        large = measured({"me": (strict, "/v1/me", auth)}, own=strict)
        rows.append(
            ratio_row(
                f"GET /v1/me at {sizes['large']:,} tokens vs at {sizes['small']:,} (each over its floor)",
                large["me"]["own"] / first["me"]["own"],
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


def interleaved(targets: dict, floors: dict, seconds: float) -> dict:
    """Shares of each floor, as medians of ROUNDS rounds; each round runs every floor, then every target.

    ``targets`` and ``floors`` map a name to (server, path[, headers[, lua]]), ``lua`` a script or a
    callable giving each run its own. Returns, per target and per floor, {"result": its run in its
    median round, "rps": its median rate, and per floor before it, that floor's name: the median
    share of it (2xx answers only)}; the median round is the one of the median share of the first floor."""

    def run(spec, length):
        server, path, headers, lua = (*spec, None, None)[:4]
        script = lua() if callable(lua) else lua
        return wrk.run(server.url + path, seconds=length, headers=headers, lua=script)

    for spec in [*floors.values(), *targets.values()]:
        run(spec, 1)  # warm-up
    runs = [{name: run(spec, seconds) for name, spec in [*floors.items(), *targets.items()]} for _ in range(ROUNDS)]
    failed = {name: r[name].errors for r in runs for name in floors if r[name].errors}
    if failed:
        raise RuntimeError(f"a floor answered with errors, so it measures nothing: {failed}")
    names = list(floors)
    out = {}
    for name in [*floors, *targets]:
        below = names[: names.index(name)] if name in floors else names
        shares = {f: [r[name].ok_rps / r[f].rps for r in runs] for f in below}
        key = shares[names[0]] if below else [r[name].rps for r in runs]
        median_round = sorted(range(ROUNDS), key=key.__getitem__)[ROUNDS // 2]
        out[name] = {"result": runs[median_round][name], "rps": statistics.median(r[name].rps for r in runs)}
        out[name].update({f: statistics.median(values) for f, values in shares.items()})
    return out


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


def signin_queries() -> tuple[list[int], list[int], list[int]]:
    """SQL statements and writes of one code request, one verify (a new user) and one refresh of ours,
    in-process."""
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
            answer = client.post("/v1/signup", {"phone_number": phone, "otp": code}, content_type="application/json")
        with CaptureQueriesContext(connection) as refresh_queries:
            body = {"refresh_token": answer.json()["refresh_token"]}
            assert client.post("/v1/token/refresh", body, content_type="application/json").status_code == 200
        counts = [statement_counts(q) for q in (code_queries, verify_queries, refresh_queries)]
    return counts[0], counts[1], counts[2]


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
        # asked from wrk's own address: a code is checked from the client network it was asked from
        otp.request_code(phone=phone, name="Bench", client_ip="127.0.0.1", language="en")
        lines.append(f"{phone} {sms.outbox[-1].code}")
    path = Path(tempfile.mkstemp(suffix=".pairs")[1])
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def passkey_user():
    """An account with one synced passkey (its counter stays 0), and its software authenticator."""
    from accounts.models import Passkey, User
    from tests.authenticator import SoftAuthenticator

    authenticator = SoftAuthenticator(counting=False)
    user, _created = User.objects.get_or_create(phone_number="+919812399999", defaults={"name": "Passkey"})
    authenticator.user_handle = bytes(16) + user.pk.to_bytes(16, "big")
    User.objects.filter(pk=user.pk).update(passkey_handle=authenticator.user_handle)
    Passkey.objects.filter(user=user).delete()
    Passkey.objects.create(
        user=user, credential_id=authenticator.credential_id, public_key=authenticator.cose_key(), name="bench"
    )
    return authenticator


def seed_passkey_sign_ins(count: int) -> str:
    """``count`` passkey sign-in bodies, each answering its own ceremony (begun here, on the servers'
    cache, from as many source networks as the per-source cap needs); returns a file of one a line."""
    import json

    from accounts import passkey_ceremonies

    authenticator, lines = passkey_user(), []
    for i in range(count):
        ceremony_id, options = passkey_ceremonies.sign_in_options(client_ip=f"10.{i // 500 % 250}.{i % 250}.1")
        body = {"ceremony_id": ceremony_id, "credential": authenticator.get(options), "device_name": "bench"}
        lines.append(json.dumps(body, separators=(",", ":")))
    path = Path(tempfile.mkstemp(suffix=".passkeys")[1])
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def passkey_queries() -> list[int]:
    """SQL statements and writes of one passkey sign-in of ours, in-process."""
    import json

    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client, counts = Client(), []
    for body in Path(seed_passkey_sign_ins(2)).read_text().splitlines():  # the first warms up
        with CaptureQueriesContext(connection) as queries:
            answer = client.post("/v1/passkeys/signin", json.loads(body), content_type="application/json")
        assert answer.status_code == 200, answer.content
        counts = statement_counts(queries)
    return counts


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
