#!/usr/bin/env python
"""`make bench`: the production server (scripts/serve: granian, 2 workers) on PostgreSQL + Redis, driven by wrk.

Every figure is a ratio taken in this one run; the table and the machine go to bench/RESULTS.md.
`--seconds` sets each wrk run's length (default 10; `--seconds 1 --scale 0.01` is a smoke run);
`--server gunicorn` serves everything (ours, the floors, the peers) with gunicorn's 2 sync workers instead.
"""

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATABASE = f"cheershare_bench_{os.getpid()}"
ENV = {
    "DJANGO_SETTINGS_MODULE": "bench.settings",
    "DEBUG": "0",
    "SECRET_KEY": "bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
    "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
    "SECURE_SSL_REDIRECT": "0",
    "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{DATABASE}",
    "REDIS_URL": "redis://127.0.0.1:6379/12",
    "CACHE_KEY_PREFIX": f"bench-{os.getpid()}",
    "SMS_BACKEND": "locmem",
    "OTP_MAX_SENDS_PER_IP_PER_HOUR": "1000000000",
    "REFRESH_MAX_PER_IP_PER_HOUR": "1000000000",  # the cap still runs (its Redis script), never refuses
    "SMS_MIN_CONVERSION": "0",  # the pumping alarm off: benchmark codes are never verified
    "METRICS_ENABLED": "1",  # every feature on while measuring: metrics, the JSON access log, request ids
    "LOG_LEVEL": "INFO",
}
os.environ.update(ENV)
os.environ.pop("CELERY_BROKER_URL", None)  # in this process: tasks run eagerly (seeding reads the outbox)
# The servers queue the SMS task on a real broker, RabbitMQ as docker-compose.yml runs it (no worker:
# the run's own queue is deleted after).
SERVER_BROKER = "amqp://guest:guest@127.0.0.1:5672//"
SERVER_QUEUE = f"cheershare-bench-{os.getpid()}"

import django  # noqa: E402

from bench import server_command  # noqa: E402
from tests.cleanup import forget_prefix  # noqa: E402
from tests.live import BIN, Process, answers, free_port, on_path, wait_until  # noqa: E402


def recreate_database() -> None:
    drop_database()
    subprocess.run(["createdb", "-U", "postgres", "-h", "127.0.0.1", DATABASE], check=True)


def drop_database() -> None:
    subprocess.run(["dropdb", "--if-exists", "-U", "postgres", "-h", "127.0.0.1", DATABASE], check=True)


class Server(Process):
    """Ours under the run's server command (bench/server_command.py), output dropped."""

    def __init__(self, **env):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "CELERY_BROKER_URL": SERVER_BROKER, "CELERY_TASK_DEFAULT_QUEUE": SERVER_QUEUE, **env}
        command = server_command.command("cheershare.wsgi:application", self.port)
        super().__init__(command, on_path(BIN, env), quiet=True)
        wait_until(lambda: answers(self.url + "/healthz"), what="the server")


def forget_keys() -> None:
    """This run's cache keys, gone from the shared Redis."""
    forget_prefix(ENV["REDIS_URL"], ENV["CACHE_KEY_PREFIX"])


def delete_queue() -> None:
    from kombu import Connection

    with Connection(SERVER_BROKER, connect_timeout=2) as connection:
        connection.default_channel.queue_delete(SERVER_QUEUE)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the table sizes (smoke runs)")
    parser.add_argument("--output", default=str(ROOT / "bench" / "RESULTS.md"))
    parser.add_argument("--server", choices=server_command.SERVERS, default=server_command.chosen())
    args = parser.parse_args()
    os.environ["BENCH_SERVER"] = args.server
    sizes = {
        k: max(int(v * args.scale), 10)
        for k, v in {
            "small": 1_000,
            "peers": 10_000,
            "large": 1_000_000,
            "purge_expired": 1_000_000,
            "purge_live": 100_000,
            "codes": 24_000,
        }.items()
    }

    recreate_database()
    django.setup()
    from django.core.management import call_command

    from bench import measure, report

    call_command("migrate", verbosity=0)
    try:
        rows, sides = measure.run_all(Server, args.seconds, sizes)
    finally:
        from django.db import connections

        connections.close_all()
        drop_database()
        delete_queue()
        forget_keys()
    text = report.render(rows, sides, args.seconds)
    print(text)
    Path(args.output).write_text(text)


if __name__ == "__main__":
    main()
