"""The command every server of a `make bench` run starts with, ours and the peers' alike: granian as
scripts/serve runs it (the default), or gunicorn with 2 sync workers, the setup the second round's
targets were set on (`bench/run.py --server gunicorn`). The choice travels in BENCH_SERVER, so the
peers' processes and the report read the same one."""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SERVERS = {"granian": "granian, 2 workers (scripts/serve)", "gunicorn": "gunicorn, 2 sync workers"}


def chosen() -> str:
    return os.environ.get("BENCH_SERVER", "granian")


def describe() -> str:
    return SERVERS[chosen()]


def command(app: str, port: int, *, server: str | None = None) -> list[str]:
    """Serve the WSGI ``app`` ("module:name", or "module:factory()") on loopback ``port`` with
    ``server`` (the run's choice by default). The server runs from the first environment on PATH
    (see tests.live.on_path); options appended to the command go to the server."""
    if (server or chosen()) == "gunicorn":
        return ["gunicorn", "-b", f"127.0.0.1:{port}", "-w", "2", app]
    return [str(ROOT / "scripts/serve"), app, "--host", "127.0.0.1", "--port", str(port), "--workers", "2"]
