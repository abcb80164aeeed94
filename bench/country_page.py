#!/usr/bin/env python
"""`make bench-country`: the admin's "Delivery by country" page over many message records.

Seeds ``--messages`` records (default 1,000,000) spread over 8 days and 40 regions, with plain SQL,
then times the page (both periods, rendered through Django as a signed-in admin) and its two
aggregate queries. Writes bench/RESULTS-country-page.md.
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.run import ROOT, django, drop_database, forget_keys, recreate_database  # noqa: E402  (sets the bench environment)

REGIONS = ["IN", "BR", "US", "ID", "NG", "PK", "BD", "MX", "PH", "VN", "EG", "ET", "DE", "GB", "FR", "TR", "IR", "TH",
           "ZA", "IT", "KE", "MM", "KR", "CO", "ES", "AR", "UG", "DZ", "SD", "UA", "IQ", "AF", "PL", "CA", "MA", "SA",
           "UZ", "PE", "MY", "AO"]  # fmt: skip


def seed(count: int) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """INSERT INTO messages (phone_number, region, channel, task_id, sid, status, error_code, attempts,
                                     created_at, updated_at, verified_at)
               SELECT '+91' || lpad(i::text, 10, '0'),
                      (%s::text[])[1 + (i::bigint * 7919) %% array_length(%s::text[], 1)],
                      'sms', 'bench-' || i, 'SM' || lpad(i::text, 32, '0'),
                      (ARRAY['delivered','delivered','delivered','sent','undelivered','failed'])[1 + i %% 6],
                      NULL, 1, now() - (i %% 11520) * interval '1 minute', now(),
                      CASE WHEN i %% 3 = 0 THEN NULL ELSE now() END
               FROM generate_series(1, %s) AS i""",
            [REGIONS, REGIONS, count],
        )
        cursor.execute("VACUUM (ANALYZE) messages")


def timed(work, repeats: int) -> tuple[float, float]:
    """Median and worst of ``repeats`` runs of ``work()``, in milliseconds."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), max(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--output", default=str(ROOT / "bench" / "RESULTS-country-page.md"))
    args = parser.parse_args()
    recreate_database()
    django.setup()
    from datetime import timedelta

    from django.core.management import call_command
    from django.db import connections
    from django.test import Client
    from django.utils import timezone

    from accounts.models import User
    from messaging import conversion

    try:
        call_command("migrate", verbosity=0)
        start = time.perf_counter()
        seed(args.messages)
        seeded_s = time.perf_counter() - start
        client = Client()
        client.force_login(User.objects.create_superuser("+919000000001", "Bench", password="bench-password-123"))

        def page():
            response = client.get("/admin/messaging/message/by-country/")
            assert response.status_code == 200 and b"Delivery by country" in response.content

        now = timezone.now()
        rows = [
            ("page (both periods, rendered)", *timed(page, args.repeats)),
            ("query: last 24 h", *timed(lambda: conversion.by_region(now - timedelta(hours=24)), args.repeats)),
            ("query: last 7 days", *timed(lambda: conversion.by_region(now - timedelta(days=7)), args.repeats)),
        ]
    finally:
        connections.close_all()
        drop_database()
        forget_keys()
    lines = [
        "# Delivery by country: the admin page over many message records",
        "",
        f"{args.messages:,} message records over 8 days and {len(REGIONS)} regions (seeded in {seeded_s:.1f} s), "
        f"PostgreSQL, {args.repeats} runs each.",
        "",
        "| what | median ms | worst ms |",
        "|---|---:|---:|",
        *[f"| {name} | {median:.0f} | {worst:.0f} |" for name, median, worst in rows],
        "",
    ]
    text = "\n".join(lines)
    print(text)
    Path(args.output).write_text(text)


if __name__ == "__main__":
    main()
