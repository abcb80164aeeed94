#!/usr/bin/env python
"""`make bench-scale` (not in CI): the token table at 10,000,000 rows.

The authenticated rate (strict mode, GET /v1/me, each over its own open-view floor in the same
server) with 1,000 tokens in the table and then with ``--tokens`` (default 10,000,000); then the
purge of that many expired tokens beside 100,000 live ones, timing every statement it makes.
Writes bench/RESULTS-scale.md.
"""

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.run import DATABASE, Server, delete_queue, drop_database, forget_keys, recreate_database  # noqa: E402  (sets the bench env)

SMALL = 1_000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tokens", type=int, default=10_000_000)
    parser.add_argument("--live", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--output", default=str(ROOT / "bench" / "RESULTS-scale.md"))
    args = parser.parse_args()
    recreate_database()
    import django

    django.setup()
    from django.core.management import call_command

    from bench import measure, seed, wrk

    call_command("migrate", verbosity=0)
    rows = []
    try:
        me_user, filler = seed.users(2)
        token = seed.bearer_for(me_user)
        seed.our_tokens(filler, SMALL - 1)

        def shares() -> tuple[float, float, float]:
            server = Server(TOKEN_CACHE_SECONDS="0")
            try:
                for path in ("/bench/open", "/v1/me"):
                    wrk.run(server.url + path, seconds=1, headers=measure.bearer(token))  # warm-up
                floor = wrk.run(server.url + "/bench/open", seconds=args.seconds)
                me = wrk.run(server.url + "/v1/me", seconds=args.seconds, headers=measure.bearer(token))
            finally:
                server.stop()
            return me.rps / floor.rps, me.rps, me.p99_ms

        small = shares()
        started = time.perf_counter()
        seed.our_tokens(filler, args.tokens - SMALL, offset=SMALL)
        seeded = time.perf_counter() - started
        large = shares()
        size = measure_table_size()
        rows += [
            measure.row(
                f"GET /v1/me at {SMALL:,} tokens: share of the floor, rate, p99",
                0,
                f"{small[0]:.2f}, {small[1]:.0f} req/s, {small[2]:.1f} ms",
            ),  # fmt: skip
            measure.row(
                f"GET /v1/me at {args.tokens:,} tokens: share of the floor, rate, p99",
                0,
                f"{large[0]:.2f}, {large[1]:.0f} req/s, {large[2]:.1f} ms",
            ),  # fmt: skip
            measure.ratio_row(
                f"{args.tokens:,} tokens against {SMALL:,} (each over its floor)", large[0] / small[0], 0.9
            ),
            measure.row("seeding the tokens (one INSERT … SELECT, then VACUUM ANALYZE)", seeded, "{:.0f} s"),
            measure.row("tokens table with its indexes", 0, size),
        ]
        rows += measure.purge(args.tokens, args.live, me_user, filler)
    finally:
        from django.db import connections

        connections.close_all()
        drop_database()
        delete_queue()
        forget_keys()
    lines = [
        "# The token table at scale",
        "",
        f"granian (scripts/serve, 2 workers, every feature on), PostgreSQL on the same 2 cores, wrk 8 connections for "
        f"{args.seconds:.0f} s. Disk free before the run: {shutil.disk_usage('/').free / 2**30:.0f} GiB.",
        "",
        "| figure | value | target | met |",
        "|---|---|---|---|",
    ]
    for item in rows:
        met = "" if item["met"] is None else ("yes" if item["met"] else "no")
        lines.append(f"| {item['metric']} | {item['value']} | {item['target']} | {met} |")
    text = "\n".join(lines) + "\n"
    print(text)
    Path(args.output).write_text(text)


def measure_table_size() -> str:
    out = subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", DATABASE, "-At", "-c",
         "SELECT pg_size_pretty(pg_total_relation_size('tokens'))"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return out.stdout.strip()


if __name__ == "__main__":
    main()
