#!/usr/bin/env python
"""`make bench-cpu`: where the machine's CPU goes per code request, ours beside django-phone-verify's.

Each server runs as `make bench` runs it (bench/run.py's environment, the SMS task queued on RabbitMQ
for ours; the peer from .venv-peers, sending through its silent backend in the request) and is driven
by wrk for ``--seconds``. CPU seconds are read from /proc before and after, per process group: the
server (its process group: master and workers), RabbitMQ, PostgreSQL, Redis, the kernel's own
threads (writeback: the disk flushes of commits and persistent messages) and wrk; then divided by
the requests served. On 2 cores the sum bounds the rate: 2 s of CPU a second, shared by all of them.
Writes bench/RESULTS-cpu.md.
"""

import argparse
import os
import resource
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.run import Server, delete_queue, drop_database, forget_keys, recreate_database  # noqa: E402  (sets the bench env)

TICKS = os.sysconf("SC_CLK_TCK")
GROUPS = {"beam.smp": "RabbitMQ", "postgres": "PostgreSQL", "redis-server": "Redis"}


def cpu_by_group(server_group: int) -> dict[str, float]:
    """CPU seconds so far of every process, added up by group (exited children: wrk, by rusage)."""
    found: dict[str, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        seconds = (int(fields[11]) + int(fields[12])) / TICKS
        if int(fields[2]) == server_group:
            group = "server (all its workers)"
        elif name.startswith("kworker") or name.startswith("kdamond") or name.startswith("jbd2"):
            group = "kernel threads (disk writeback)"
        else:
            group = GROUPS.get(name)
        if group:
            found[group] = found.get(group, 0.0) + seconds
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    found["wrk"] = usage.ru_utime + usage.ru_stime
    return found


def measured(url: str, scripts, server_group: int, seconds: float) -> tuple[float, dict[str, float]]:
    """Rate and CPU milliseconds per request by group, over one wrk run after a warm-up; ``scripts()``
    gives each run its wrk script (fresh numbers: a number asked again meets its cooldown)."""
    from bench import wrk

    wrk.run(url, seconds=1, lua=scripts())
    before = cpu_by_group(server_group)
    result = wrk.run(url, seconds=seconds, lua=scripts())
    after = cpu_by_group(server_group)
    served = result.requests - result.errors
    if served <= 0 or result.errors:
        raise RuntimeError(f"{url}: {result.errors} answers were not 2xx")
    return result.rps, {group: (after[group] - before.get(group, 0.0)) * 1000 / served for group in after}


def ours(seconds: float) -> tuple[float, dict[str, float]]:
    from bench import wrk

    server = Server(TOKEN_CACHE_SECONDS="0")
    try:
        return measured(server.url + "/v1/signup", wrk.signup_lua, os.getpgid(server.proc.pid), seconds)
    finally:
        server.stop()


def phone_verify(seconds: float) -> tuple[float, dict[str, float]]:
    from bench.peers import run as peers
    from tests.live import free_port

    peer = peers.PEERS["django-phone-verify"]
    database = f"cheershare_cpu_peer_{os.getpid()}"
    subprocess.run(["createdb", "-U", "postgres", "-h", "127.0.0.1", database], check=True)
    server = None
    try:
        server = peers.PeerServer(peer["settings"], database, free_port())
        path, body = peer["code"]
        offsets = iter([500_000_000, 700_000_000])
        scripts = lambda: peers.CODE_LUA % {"offset": next(offsets), "body": body}  # noqa: E731
        return measured(server.url + path, scripts, os.getpgid(server.proc.pid), seconds)
    finally:
        if server:
            server.stop()
        subprocess.run(["dropdb", "--if-exists", "-U", "postgres", "-h", "127.0.0.1", database], check=False)


def render(results: dict, seconds: float) -> str:
    groups = sorted({group for _, split in results.values() for group in split})
    lines = [
        "# CPU per code request, by process",
        "",
        f"wrk -t2 -c8 for {seconds:.0f} s per server on {os.cpu_count()} cores, after a 1 s warm-up; CPU "
        "milliseconds per request served, read from /proc (`bench/cpu_per_request.py`). On 2 cores the "
        "machine has 2,000 ms of CPU a second: the total bounds the rate.",
        "",
        "| code request | req/s | " + " | ".join(groups) + " | total |",
        "|---|---|" + "---|" * len(groups) + "---|",
    ]
    for name, (rps, split) in results.items():
        cells = " | ".join(f"{split.get(group, 0.0):.2f}" for group in groups)
        lines.append(f"| {name} | {rps:.0f} | {cells} | {sum(split.values()):.2f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--output", default=str(ROOT / "bench" / "RESULTS-cpu.md"))
    args = parser.parse_args()
    recreate_database()
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    try:
        results = {"ours (RabbitMQ, publisher confirms)": ours(args.seconds)}
        results["django-phone-verify (sent in the request)"] = phone_verify(args.seconds)
    finally:
        from django.db import connections

        connections.close_all()
        drop_database()
        delete_queue()
        forget_keys()
    text = render(results, args.seconds)
    print(text)
    Path(args.output).write_text(text)


if __name__ == "__main__":
    main()
