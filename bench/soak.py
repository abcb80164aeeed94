#!/usr/bin/env python
"""`make soak`: a bounded mixed load, and whether the workers stay flat.

The drills' stack (granian with 2 workers, a Celery worker, a throwaway PostgreSQL, the cache
on its own Redis, a loopback Twilio) takes ``--requests`` (default 200,000) requests from wrk in
rounds: mostly authenticated /v1/me, with /healthz, code requests for new numbers, malformed JSON,
unknown routes and wrong tokens mixed in. After a warm-up round and after every round it reads each
server worker's memory (RSS) and open file descriptors, the Celery worker's memory, and the
database connections. Passes when each worker's memory at the end is within 10 % of the start, and
descriptors and connections are where they started. Writes bench/RESULTS-soak.md.
"""

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import wrk  # noqa: E402
from bench.drill_stack import Stack  # noqa: E402
from tests.helpers import log_lines  # noqa: E402
from tests.live import children  # noqa: E402

MIXED_LUA = """
local counter = 0
local id = 0
local threads = {}
local good = { ["Authorization"] = "Bearer %(token)s" }
local wrong = { ["Authorization"] = "Bearer AAAAAAAAAAAAAAAAAAAAAAAAAA" }
local json = { ["Content-Type"] = "application/json" }
function setup(thread) thread:set("id", #threads); table.insert(threads, thread) end
function init(args) id = wrk.thread:get("id") end
function request()
  counter = counter + 1
  local pick = counter %% 50
  if pick == 0 then
    local phone = string.format("+9186%%08d", (%(round)d * 4 + id) * 1000000 + counter / 50)
    return wrk.format("POST", "/v1/signup", json, '{"name": "Soak", "phone_number": "' .. phone .. '"}')
  elseif pick <= 2 then
    return wrk.format("POST", "/v1/signup", json, '{"name": ')
  elseif pick <= 4 then
    return wrk.format("GET", "/v1/nowhere/" .. counter)
  elseif pick <= 6 then
    return wrk.format("GET", "/v1/me", wrong)
  elseif pick <= 14 then
    return wrk.format("GET", "/healthz")
  end
  return wrk.format("GET", "/v1/me", good)
end
"""


def kib(pid: int, field: str = "VmRSS") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise LookupError(field)


def sample(stack: Stack, database: str) -> dict:
    workers = children(stack.web.proc.pid)
    return {
        "workers": {pid: {"rss": kib(pid), "fds": len(list(Path(f"/proc/{pid}/fd").iterdir()))} for pid in workers},
        "celery_rss": kib(stack.worker.proc.pid),
        "db_connections": int(
            stack.pg.query(
                f"SELECT count(*) FROM pg_stat_activity WHERE datname = '{database}' AND pid <> pg_backend_pid()"
            )
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200_000)
    parser.add_argument("--round-seconds", type=int, default=20)
    parser.add_argument("--output", default=str(ROOT / "bench" / "RESULTS-soak.md"))
    args = parser.parse_args()
    stack = Stack()
    rounds, total = [], 0
    try:
        token = stack.sign_in("+918600000000")
        database = stack.pg.url.rsplit("/", 1)[1]

        def one_round(number: int, seconds: int):
            lua = MIXED_LUA % {"token": token, "round": number}
            return wrk.run(stack.web.url + "/", seconds=seconds, connections=8, threads=2, lua=lua)

        one_round(0, 5)  # warm-up: every code path imported and every connection opened
        start = sample(stack, database)
        while total < args.requests:
            result = one_round(len(rounds) + 1, args.round_seconds)
            total += result.requests
            rounds.append((result, sample(stack, database)))
            print(f"round {len(rounds)}: {result.requests} requests, {result.rps:.0f}/s, total {total}", flush=True)
    finally:
        logs = stack.logs()
        stack.close()
    end = rounds[-1][1]
    report, passed = summary(args, start, end, rounds, total)
    errors = sum(line.get("status") == 500 for line in log_lines(logs)) + logs.count("Traceback")
    report.append(f"Log lines with a 500 or a traceback: {errors}")
    text = "\n".join(report) + "\n"
    print(text)
    Path(args.output).write_text(text)
    if not passed or errors:
        sys.exit(1)


def summary(args, start: dict, end: dict, rounds: list, total: int) -> tuple[list[str], bool]:
    lines = [
        "# Soak: a bounded mixed load",
        "",
        f"{total:,} requests in {len(rounds)} rounds of {args.round_seconds} s (wrk, 8 connections) against granian",
        "(2 workers), after a 5 s warm-up: 70 % authenticated /v1/me, 16 % /healthz, 2 % code requests for",
        "new numbers (queued to a real Celery worker, sent to a loopback Twilio), 4 % malformed JSON (400),",
        "4 % unknown routes (404), 4 % wrong tokens (401).",
        "",
        "| round | requests | req/s | p99 | server workers' RSS (MiB) | Celery worker RSS (MiB) | DB connections |",
        "|---|---|---|---|---|---|---|",
    ]
    for number, (result, state) in enumerate(rounds, 1):
        rss = " / ".join(f"{w['rss'] / 1024:.1f}" for w in state["workers"].values())
        lines.append(
            f"| {number} | {result.requests:,} | {result.rps:.0f} | {result.p99_ms:.1f} ms | {rss} | "
            f"{state['celery_rss'] / 1024:.1f} | {state['db_connections']} |"
        )
    checks = [
        ("the server workers are the ones that started (none died)", set(start["workers"]) == set(end["workers"]))
    ]
    for pid, before in start["workers"].items():
        after = end["workers"].get(pid)
        if after:
            growth = after["rss"] / before["rss"] - 1
            checks.append((f"worker {pid}: memory {before['rss'] / 1024:.1f} → {after['rss'] / 1024:.1f} MiB "
                           f"({growth:+.1%}), within 10 %", abs(growth) <= 0.10))  # fmt: skip
            checks.append((f"worker {pid}: open descriptors {before['fds']} → {after['fds']}",
                           after["fds"] <= before["fds"]))  # fmt: skip
    growth = end["celery_rss"] / start["celery_rss"] - 1
    checks.append((f"Celery worker: memory {start['celery_rss'] / 1024:.1f} → {end['celery_rss'] / 1024:.1f} MiB "
                   f"({growth:+.1%}), within 10 %", abs(growth) <= 0.10))  # fmt: skip
    checks.append((f"database connections {start['db_connections']} → {end['db_connections']}",
                   end["db_connections"] <= start["db_connections"]))  # fmt: skip
    checks.append((f"at least {args.requests:,} requests", total >= args.requests))
    lines += ["", *[f"- {'PASS' if ok else 'FAIL'}: {what}" for what, ok in checks], ""]
    return lines, all(ok for _, ok in checks)


if __name__ == "__main__":
    main()
