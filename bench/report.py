"""bench/RESULTS.md: the machine, the table, and what each missed target would need."""

import datetime
import os
import platform
from pathlib import Path

from bench import server_command

NOTES = Path(__file__).with_name("NOTES.md")


def machine() -> str:
    with open("/proc/meminfo") as meminfo:
        kib = int(meminfo.readline().split()[1])
    return (
        f"{os.cpu_count()} cores, {kib / 1024 / 1024:.1f} GiB memory, {platform.platform()}, "
        f"Python {platform.python_version()}, {datetime.date.today().isoformat()}"
    )


def render(rows: list[dict], sides: list[dict], seconds: float) -> str:
    lines = [
        "# Benchmark results",
        "",
        f"Machine: {machine()}.",
        f"{server_command.describe()}, PostgreSQL 15, Redis 7, wrk -t2 -c8, {seconds / 2:g} s per run",
        f"({seconds:g} s for the sign-in peers, each against one floor run),",
        "all on the same machine; the servers queue the SMS task on RabbitMQ, as docker-compose.yml runs it (no",
        "worker runs), with metrics, the JSON access log and request ids on. Ratios are taken within this one run;",
        "every share is the median of three rounds, each running the floors (the bare view, and our open view on",
        "the same server) and then the targets; absolute rates are noisy.",
        "",
        "| metric | value | target | met |",
        "|---|---|---|---|",
    ]
    for r in rows:
        met = "" if r["met"] is None else ("yes" if r["met"] else "**no**")
        lines.append(f"| {r['metric']} | {r['value']} | {r['target']} | {met} |")
    lines += [
        "",
        "## Side by side: ours and the peers, same server command, same PostgreSQL, same wrk",
        "",
        "SQL: statements (writes) per request, counted in-process; share: of the bare floor (median of three",
        "interleaved rounds; the sign-in peers, in their own environments: against a floor run just before).",
        "",
        "| step | implementation | req/s | p50 | p99 | SQL | share of bare floor |",
        "|---|---|---|---|---|---|---|",
    ]
    for s in sides:
        errors = f" ({s['errors']} not 2xx)" if s["errors"] else ""
        lines.append(
            f"| {s['step']} | {s['implementation']} | {s['rps']:.0f}{errors} | {s['p50']:.1f} ms | {s['p99']:.1f} ms "
            f"| {s['statements']:g} ({s['writes']:g}) | {s['share']:.2f} |"
        )
    if server_command.chosen() != "granian":  # the reading (NOTES.md) quotes the default run's figures
        return "\n".join(lines) + "\n\nEach row is explained in bench/NOTES.md (read with bench/RESULTS.md).\n"
    return "\n".join(lines) + "\n\n" + NOTES.read_text()
