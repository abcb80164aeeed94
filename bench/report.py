"""bench/RESULTS.md: the machine, the table, and what each missed target would need."""

import datetime
import os
import platform
from pathlib import Path

NOTES = Path(__file__).with_name("NOTES.md")


def machine() -> str:
    with open("/proc/meminfo") as meminfo:
        kib = int(meminfo.readline().split()[1])
    return (
        f"{os.cpu_count()} cores, {kib / 1024 / 1024:.1f} GiB memory, {platform.platform()}, "
        f"Python {platform.python_version()}, {datetime.date.today().isoformat()}"
    )


def render(rows: list[dict], sizes: dict, seconds: float) -> str:
    lines = [
        "# Benchmark results",
        "",
        f"Machine: {machine()}.",
        f"gunicorn 2 sync workers (gunicorn.conf.py), PostgreSQL 15, Redis 7, wrk -t2 -c8, {seconds:g} s per run,",
        "all on the same machine; the servers queue the SMS task on a Redis broker (no worker runs), with metrics,",
        "the JSON access log and request ids on. Ratios are taken within this one run; absolute rates are noisy.",
        "",
        "| metric | value | target | met |",
        "|---|---|---|---|",
    ]
    for r in rows:
        met = "" if r["met"] is None else ("yes" if r["met"] else "**no**")
        lines.append(f"| {r['metric']} | {r['value']} | {r['target']} | {met} |")
    return "\n".join(lines) + "\n\n" + NOTES.read_text()
