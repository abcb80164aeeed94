"""Real processes for end-to-end tests: the production server (granian), nginx in front of it and a
Celery worker."""

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from email.message import Message
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def on_path(bin_dir: Path, env: dict) -> dict:
    """``env`` with ``bin_dir`` first on PATH, so scripts/serve runs the granian of that environment."""
    return {**env, "PATH": f"{bin_dir}{os.pathsep}{env.get('PATH', os.defpath)}"}


class Process:
    """A child process whose output is collected when it stops (tests read it for secrets), or dropped
    (``quiet``: at a benchmark's rates a server's access lines would grow a file by gigabytes).
    It leads its own process group, so stopping it also ends what it started (a server's workers)."""

    def __init__(self, args: list[str], env: dict, *, quiet: bool = False):
        self.log = None if quiet else tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            args,
            cwd=ROOT,
            env=env,
            stdout=self.log or subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def stop(self) -> str:
        """SIGTERM, SIGKILL after 10 s, then SIGKILL to whatever is left of its group: a worker can
        outlive a master killed before it stopped its workers."""
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        return self.output()

    def output(self) -> str:
        if self.log is None:
            return ""
        self.log.seek(0)
        return self.log.read().decode(errors="replace")


class WebServer(Process):
    """The production server as the image runs it (scripts/serve: granian), on a free loopback port."""

    def __init__(self, env: dict, workers: int = 2):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        super().__init__(
            [str(ROOT / "scripts/serve"), "--host", "127.0.0.1", "--port", str(self.port),
             "--workers", str(workers)],
            on_path(BIN, env),
        )  # fmt: skip
        wait_until(lambda: request(self.url + "/healthz")[0] == 200, what="the server to answer /healthz")
        # every worker up: granian started after a SIGTERM misses it and is killed 20 s later
        wait_until(lambda: self.output().count("] Started worker-") >= workers, what="every server worker")


class CeleryWorker(Process):
    def __init__(self, env: dict, pool: str = "solo", *, concurrency: int = 1, quiet: bool = False, queues: str = ""):
        """``queues``: what it takes (-Q); by default both, the codes' and the webhooks'."""
        default = env["CELERY_TASK_DEFAULT_QUEUE"]
        super().__init__(
            [
                str(BIN / "celery"),
                "-A",
                "cheershare",
                "worker",
                f"--pool={pool}",
                f"--concurrency={concurrency}",
                "-Q",
                queues or f"{default},{default}.events",
                "--without-gossip",
                "--without-mingle",
                "--loglevel=WARNING" if quiet else "--loglevel=INFO",  # a quiet worker's lines go nowhere
            ],
            env,
            quiet=quiet,
        )


def children(pid: int) -> list[int]:
    """The process ids of ``pid``'s children (a server's workers)."""
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(line) for line in out.split()]


def wait_until(predicate, *, timeout: float = 20, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def answers(url: str) -> bool:
    """Whether a server answers ``url`` with any HTTP status (nothing listening raises OSError)."""
    try:
        urllib.request.urlopen(url, timeout=1).close()
    except urllib.error.HTTPError as error:
        error.close()
    return True


def request(
    url: str, body: dict | None = None, *, method: str | None = None, headers: dict | None = None, timeout: float = 10
) -> tuple[int, dict, Message]:
    """(status, JSON body, headers: looked up by any case) of one HTTP call; errors are answers, not exceptions.
    An answer cut off mid-body (its worker killed) is a broken connection: ConnectionResetError, an OSError."""
    data = json.dumps(body).encode() if body is not None else None
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    req = urllib.request.Request(url, data=data, method=method or ("POST" if data else "GET"), headers=all_headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"{}"), response.headers
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}"), error.headers
    except http.client.IncompleteRead as error:
        raise ConnectionResetError(f"the answer was cut off: {error!r}") from error


def base_env(**overrides: str) -> dict:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("TWILIO_", "OTP_", "SMS_"))}
    env.update({"DJANGO_SETTINGS_MODULE": "cheershare.settings", "PYTHONUNBUFFERED": "1"}, **overrides)
    return env


class RedisServer:
    """A throwaway Redis the test owns, on its own port, with files (if ``options`` ask for any: a
    replica's copy, ``--appendonly yes``) in a directory of its own: kept through ``kill``, so a crashed
    server restarts from its file, and removed by ``stop``, so a stopped one restarts empty."""

    def __init__(self, *options: str, port: int | None = None):
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.options = options
        self.directory = tempfile.mkdtemp(prefix="cheershare-redis-")
        self.proc = None

    def start(self) -> "RedisServer":
        os.makedirs(self.directory, exist_ok=True)
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", self.directory, *self.options],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        wait_until(lambda: self.cli("ping") == "PONG", what="redis")
        return self

    def cli(self, *command: str) -> str:
        done = subprocess.run(["redis-cli", "-p", str(self.port), *command], capture_output=True, text=True)
        return done.stdout.strip()

    def stop(self) -> None:
        if self.proc:
            self.proc.send_signal(signal.SIGCONT)  # a paused server cannot act on SIGTERM
            self.proc.terminate()
            self.proc.wait()
            self.proc = None
        shutil.rmtree(self.directory, ignore_errors=True)

    def kill(self) -> None:
        """Crash it (SIGKILL): what it had not written to its file is gone."""
        self.proc.kill()
        self.proc.wait()
        self.proc = None

    def pause(self) -> None:
        """Stall the server (SIGSTOP): connections stay open, nothing answers."""
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        self.proc.send_signal(signal.SIGCONT)


class SentinelCluster:
    """Redis Sentinel on loopback: a primary, a replica and three sentinels (quorum 2) that notice a
    dead primary within ``down_after_ms`` and promote the replica."""

    MASTER = "cheershare"

    def __init__(self, down_after_ms: int = 1000):
        self.primary = RedisServer()
        self.replica = RedisServer("--replicaof", "127.0.0.1", str(self.primary.port))
        self.down_after_ms = down_after_ms
        self.sentinels: list[tuple[int, subprocess.Popen]] = []
        self.directory = tempfile.mkdtemp(prefix="cheershare-sentinel-")

    @property
    def addresses(self) -> str:
        """REDIS_SENTINELS."""
        return ",".join(f"127.0.0.1:{port}" for port, _ in self.sentinels)

    def broker_url(self, db: int) -> str:
        """CELERY_BROKER_URL for a broker that follows the primary."""
        return ";".join(f"sentinel://127.0.0.1:{port}/{db}" for port, _ in self.sentinels)

    def start(self) -> "SentinelCluster":
        self.primary.start()
        self.replica.start()
        wait_until(lambda: "master_link_status:up" in self.replica.cli("info", "replication"), what="the replica")
        for index in range(3):
            port, config = free_port(), Path(self.directory) / f"sentinel-{index}.conf"
            config.write_text(
                f"port {port}\nbind 127.0.0.1\ndir {self.directory}\n"
                f"sentinel monitor {self.MASTER} 127.0.0.1 {self.primary.port} 2\n"
                f"sentinel down-after-milliseconds {self.MASTER} {self.down_after_ms}\n"
                f"sentinel failover-timeout {self.MASTER} 10000\n"
            )
            process = subprocess.Popen(["redis-server", str(config), "--sentinel"], stdout=subprocess.DEVNULL)
            self.sentinels.append((port, process))
        wait_until(lambda: all(self._knows_replica(port) for port, _ in self.sentinels), what="the sentinels")
        return self

    def _sentinel(self, port: int, *command: str) -> str:
        return subprocess.run(["redis-cli", "-p", str(port), "sentinel", *command], capture_output=True,
                              text=True).stdout  # fmt: skip

    def _knows_replica(self, port: int) -> bool:
        return str(self.replica.port) in self._sentinel(port, "replicas", self.MASTER)

    def primary_port(self) -> int:
        """The port of the server the first sentinel names as primary."""
        return int(self._sentinel(self.sentinels[0][0], "get-master-addr-by-name", self.MASTER).split()[1])

    def stop(self) -> None:
        for _, process in self.sentinels:
            process.terminate()
            process.wait()
        for server in (self.primary, self.replica):
            server.stop()
        shutil.rmtree(self.directory, ignore_errors=True)


class Nginx:
    """Debian's nginx on loopback with the proxy settings docker-compose.yml uses (deploy/nginx.conf)."""

    def __init__(self, upstream_port: int):
        self.port = free_port()
        self.directory = tempfile.mkdtemp(prefix="cheershare-nginx-")
        os.chmod(self.directory, 0o755)  # nginx's workers (not root) write buffered bodies under it
        site = (ROOT / "deploy" / "nginx.conf").read_text()
        site = site.replace("server web:8000", f"server 127.0.0.1:{upstream_port}")
        site = site.replace("listen 8000", f"listen 127.0.0.1:{self.port}")
        shutil.copy(ROOT / "deploy" / "nginx" / "proxy.conf", self.directory)
        site = site.replace("/etc/nginx/cheershare/proxy.conf", f"{self.directory}/proxy.conf")
        Path(self.directory, "site.conf").write_text(site)
        temp = self.directory
        Path(self.directory, "nginx.conf").write_text(
            f"worker_processes 1;\nerror_log {temp}/error.log;\npid {temp}/nginx.pid;\nevents {{}}\n"
            f"http {{\n  client_body_temp_path {temp}/body;\n  proxy_temp_path {temp}/proxy;\n"
            f"  fastcgi_temp_path {temp}/f; uwsgi_temp_path {temp}/u; scgi_temp_path {temp}/s;\n"
            f"  access_log off;\n  include {temp}/site.conf;\n}}\n"
        )
        subprocess.run(["/usr/sbin/nginx", "-c", f"{temp}/nginx.conf", "-p", temp], check=True)
        self.url = f"http://127.0.0.1:{self.port}"
        wait_until(lambda: request(self.url + "/healthz")[0] == 200, what="nginx")

    def stop(self) -> None:
        subprocess.run(["/usr/sbin/nginx", "-c", f"{self.directory}/nginx.conf", "-p", self.directory, "-s", "stop"])


def trickle_body(port: int, until: float, gap: float = 3.0, stop=None) -> list[tuple[str, float]]:
    """Connections that each send a code request's headers (Content-Length: 1000) and then its body
    one byte every ``gap`` seconds, one after another until the monotonic time ``until``. Returns,
    per connection, the status line the server ended it with ("" if it only closed) and how long it
    lasted."""
    ends = []
    head = (
        b"POST /v1/signup HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
    )
    while time.monotonic() < until and not (stop and stop.is_set()):
        started, answer = time.monotonic(), b""
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=gap) as sock:
                sock.sendall(head)
                while time.monotonic() < until and not (stop and stop.is_set()):
                    try:
                        answer = sock.recv(200)
                        break  # an answer, or the server closed the connection
                    except TimeoutError:
                        sock.sendall(b" ")
        except OSError:
            pass  # reset: the server ended it
        if answer or not (time.monotonic() >= until or (stop and stop.is_set())):  # the server ended it
            ends.append((answer.split(b"\r\n", 1)[0].decode(errors="replace"), time.monotonic() - started))
    return ends
