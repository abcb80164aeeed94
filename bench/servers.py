#!/usr/bin/env python
"""`make bench-servers`: which WSGI server to run us on.

granian as scripts/serve runs it (the default: 2 workers, one request at a time each, through the body
gate), scripts/serve with BODY_GATE=0 (granian's plain WSGI interface, as compose runs it behind nginx),
granian with 4 threads per worker, gunicorn with sync and with gthread workers, uWSGI (prefork, its own HTTP parser)
and waitress (one process, threads), each with 2 processes where it has them, on the same database,
cache and broker as `make bench`, with every feature on. Each serves /healthz, the authenticated route
(strict mode) and the code request, driven by wrk at 8 and at 64 connections. Writes
bench/RESULTS-servers.md; the rates are also given as shares of gunicorn sync in the same run (the
default before granian).
"""

import argparse
import os
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import server_command  # noqa: E402
from bench.run import SERVER_BROKER, SERVER_QUEUE, delete_queue, drop_database, forget_keys, recreate_database  # noqa: E402  (sets the bench env)
from tests.live import BIN, Process, answers, free_port, on_path, wait_until  # noqa: E402

ROUTES = ("GET /healthz", "GET /v1/protected", "POST /v1/signup (code request)")
GATE_MODES = (  # the body gate's price, measured side by side in alternating rounds
    "granian, 2 workers (default)",
    "granian, 2 workers, BODY_GATE=0 (behind a buffering proxy)",
    "granian's WSGI interface, 2 workers × 4 threads (no body gate)",
)
GATE_ROUNDS = 3
APP = "cheershare.wsgi:application"


def commands(port: int) -> dict[str, list[str]]:
    serve, gunicorn = (server_command.command(APP, port, server=name) for name in ("granian", "gunicorn"))
    return {
        "granian, 2 workers (default)": serve,
        "granian, 2 workers, BODY_GATE=0 (behind a buffering proxy)": ["env", "BODY_GATE=0", *serve],
        "granian's WSGI interface, 2 workers × 4 threads (no body gate)": [
            str(BIN / "granian"), "--interface", "wsgi", "--host", "127.0.0.1", "--port", str(port),
            "--workers", "2", "--blocking-threads", "4", APP,
        ],
        "gunicorn, 2 sync workers": gunicorn,
        "gunicorn, 2 gthread workers × 4 threads": [*gunicorn, "--threads", "4"],
        "uWSGI, 2 processes": [
            str(BIN / "uwsgi"), "--http-socket", f"127.0.0.1:{port}", "--module", APP,
            "--master", "--processes", "2", "--need-app", "--disable-logging", "--die-on-term", "--enable-threads",
        ],
        "waitress, 1 process × 8 threads": [
            str(BIN / "waitress-serve"), f"--listen=127.0.0.1:{port}", "--threads=8", APP,
        ],
    }  # fmt: skip


class Served(Process):
    def __init__(self, name: str):
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        env = {
            **os.environ,
            "CELERY_BROKER_URL": SERVER_BROKER,
            "CELERY_TASK_DEFAULT_QUEUE": SERVER_QUEUE,
            "TOKEN_CACHE_SECONDS": "0",
        }
        super().__init__(commands(port)[name], on_path(BIN, env), quiet=True)
        wait_until(lambda: answers(self.url + "/healthz"), what=name)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--output", default=str(ROOT / "bench" / "RESULTS-servers.md"))
    args = parser.parse_args()
    recreate_database()
    import django

    django.setup()
    from django.core.management import call_command

    from bench import seed, wrk

    call_command("migrate", verbosity=0)
    results = {}
    try:
        token = seed.bearer_for(seed.users(10)[0])

        def measure(server: Served, route: str, connections: int, seconds: float):
            if route == "GET /healthz":
                url, options = server.url + "/healthz", {}
            elif route.startswith("GET"):
                url, options = server.url + "/v1/protected", {"headers": {"Authorization": f"Bearer {token}"}}
            else:  # new numbers on every run, so no cooldown is ever hit
                url, options = server.url + "/v1/signup", {"lua": wrk.signup_lua()}
            threads = 2 if connections == 8 else 4
            return wrk.run(url, seconds=seconds, connections=connections, threads=threads, **options)

        for name in commands(0):
            server = Served(name)
            try:
                for connections in (8, 64):
                    for route in ROUTES:
                        measure(server, route, connections, 1)  # warm-up
                        results[name, route, connections] = measure(server, route, connections, args.seconds)
            finally:
                server.stop()
        gate = gate_rounds(args.seconds)
    finally:
        from django.db import connections as db

        db.close_all()
        drop_database()
        delete_queue()
        forget_keys()
    text = render(results, args.seconds) + render_gate(gate, args.seconds)
    print(text)
    Path(args.output).write_text(text)


def gate_rounds(seconds: float) -> dict[str, list[float]]:
    """GET /healthz on each of GATE_MODES, all serving at once, in GATE_ROUNDS alternating rounds (this
    machine's rate drifts by a fifth within minutes: one server after the other would measure it)."""
    from bench import wrk

    servers = {name: Served(name) for name in GATE_MODES}
    try:
        for server in servers.values():
            wrk.run(server.url + "/healthz", seconds=1)
        rates = {name: [] for name in GATE_MODES}
        for _ in range(GATE_ROUNDS):
            for name, server in servers.items():
                rates[name].append(wrk.run(server.url + "/healthz", seconds=seconds).rps)
        return rates
    finally:
        for server in servers.values():
            server.stop()


def render_gate(rates: dict[str, list[float]], seconds: float) -> str:
    plain = statistics.median(rates[GATE_MODES[-1]])
    lines = [
        "",
        "## The body gate's price: GET /healthz, alternating rounds",
        "",
        f"The three servers run at once; each round gives each {seconds:.0f} s of wrk (8 connections) in turn. "
        "Share: of granian's plain WSGI interface, medians.",
        "",
        "| server | " + " | ".join(f"round {n + 1}" for n in range(GATE_ROUNDS)) + " | median | share |",
        "|---|" + "---|" * GATE_ROUNDS + "---|---|",
    ]
    for name, values in rates.items():
        cells = " | ".join(f"{value:.0f}" for value in values)
        median = statistics.median(values)
        lines.append(f"| {name} | {cells} | {median:.0f} | {median / plain:.2f} |")
    return "\n".join(lines) + "\n"


def render(results: dict, seconds: float) -> str:
    lines = [
        "# Which server: rates side by side",
        "",
        f"wrk for {seconds:.0f} s per cell (after a 1 s warm-up) on 2 cores, PostgreSQL and Redis on the same",
        "machine, every feature on (metrics, JSON access log, request ids), strict token checking, the SMS",
        "task queued on RabbitMQ. Share: of gunicorn sync (the default before granian) in the same cell.",
        "",
        "| server | route | connections | req/s | share | p50 | p99 | non-2xx |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for (name, route, connections), result in results.items():
        base = results["gunicorn, 2 sync workers", route, connections]
        lines.append(
            f"| {name} | {route} | {connections} | {result.rps:.0f} | {result.rps / base.rps:.2f} | "
            f"{result.p50_ms:.1f} ms | {result.p99_ms:.1f} ms | {result.errors} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
