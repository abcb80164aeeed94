"""A throwaway PostgreSQL cluster on its own port, for drills that stop the database.

Made with ``initdb`` in a temporary directory (as the ``postgres`` user when run as root, since
PostgreSQL refuses to run as root), trust auth on loopback, removed by ``destroy``. The shared
cluster on 5432 is never touched.
"""

import glob
import os
import shutil
import subprocess
import tempfile

import psycopg

from tests.live import free_port, wait_until


def _bin(name: str) -> str:
    found = shutil.which(name) or sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))[-1:]
    return found if isinstance(found, str) else found[0]


class ThrowawayPostgres:
    def __init__(self, max_connections: int = 100):
        self.max_connections = max_connections
        self.port = free_port()
        self.directory = tempfile.mkdtemp(prefix="cheershare-drill-pg-")
        self.data = os.path.join(self.directory, "data")
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/postgres"
        self._as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self._as_postgres:
            shutil.chown(self.directory, "postgres", "postgres")

    def _run(self, *args: str) -> None:
        subprocess.run([*self._as_postgres, *args], check=True, capture_output=True)

    def create(self) -> "ThrowawayPostgres":
        self._run(_bin("initdb"), "-D", self.data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8")
        return self.start()

    def start(self) -> "ThrowawayPostgres":
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.directory} -c fsync=off"
        options += f" -c max_connections={self.max_connections}"
        self._run(_bin("pg_ctl"), "-D", self.data, "-o", options, "-l", os.path.join(self.directory, "log"), "start")
        wait_until(self.ready, what="the throwaway PostgreSQL")
        return self

    def ready(self) -> bool:
        return subprocess.run([_bin("pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.port)]).returncode == 0

    def stop(self) -> None:
        """Stop at once, as a crash or a failover would (open connections are cut)."""
        self._run(_bin("pg_ctl"), "-D", self.data, "-m", "immediate", "stop")

    def query(self, sql: str) -> str:
        return subprocess.run(
            ["psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-At", "-c", sql],
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip

    def take_every_connection(self) -> list:
        """Open connections until PostgreSQL refuses one ("too many clients"); the caller closes them."""
        taken = []
        while True:
            try:
                taken.append(psycopg.connect(self.url, connect_timeout=2))
            except psycopg.OperationalError:
                return taken

    def destroy(self) -> None:
        if self.ready():
            self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)
