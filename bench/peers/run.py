"""The passwordless peers beside ours, in the same `make bench` run: code request and verify.

Each peer runs from its own virtual environment (.venv-peers) and settings module, on its own
database of the benchmark's PostgreSQL, under the same server command (bench/server_command.py) and wrk.
The codes for the verify step are the ones its code-request runs asked for, read from the peer's own
table (both store them in plain text). ``count_queries.py`` counts each step's SQL inside the peers' venv.
"""

import json
import os
import subprocess
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from bench import server_command, wrk
from tests.live import Process, answers, on_path, wait_until

ROOT = Path(__file__).resolve().parent.parent.parent
VENV = ROOT / ".venv-peers"

PEERS = {
    "django-rest-passwordless": {
        "settings": "bench.peers.passwordless_settings",
        "code": ("/auth/mobile/", '{"mobile": "\' .. phone .. \'"}'),
        "verify": "/auth/token/",
        "pairs": "SELECT to_alias, key, '-' FROM drfpasswordless_callbacktoken WHERE is_active",
        "verify_body": '{"mobile": "\' .. a .. \'", "token": "\' .. b .. \'"}',
    },
    "django-phone-verify": {
        "settings": "bench.peers.phone_verify_settings",
        "code": ("/phone/register", '{"phone_number": "\' .. phone .. \'"}'),
        "verify": "/phone/verify",
        "pairs": "SELECT phone_number, security_code, session_token FROM sms_verification",
        "verify_body": '{"phone_number": "\' .. a .. \'", "security_code": "\' .. b .. \'", '
        '"session_token": "\' .. c .. \'"}',
    },
}

CODE_LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local counter = 0
local id = 0
local threads = {}
function setup(thread) thread:set("id", #threads); table.insert(threads, thread) end
function init(args) id = wrk.thread:get("id") end
function request()
  counter = counter + 1
  local phone = string.format("+918%%09d", %(offset)d + id * 100000000 + counter)
  return wrk.format(nil, nil, nil, '%(body)s')
end
"""

VERIFY_LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local rows = {}
local index = 0
local threads = {}
function setup(thread) thread:set("id", #threads); table.insert(threads, thread) end
function init(args)
  for line in io.lines("%(pairs)s") do table.insert(rows, line) end
  index = wrk.thread:get("id")
end
function request()
  index = index + 2
  local a, b, c = rows[(index %% #rows) + 1]:match("(%%S+) (%%S+) (%%S+)")
  return wrk.format(nil, nil, nil, '%(body)s')
end
"""


def psql(database: str, sql: str) -> str:
    return subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", database, "-At", "-F", " ", "-c", sql],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip


class PeerServer(Process):
    """A peer under the same server command, from its own environment, output dropped."""

    def __init__(self, settings: str, database: str, port: int):
        self.url = f"http://127.0.0.1:{port}"
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": settings,
            "PEER_DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{database}",
            "PYTHONPATH": str(ROOT),
        }
        subprocess.run([str(VENV / "bin/python"), "-m", "django", "migrate", "-v0"], env=self.env, cwd=ROOT, check=True)
        app = server_command.command("django.core.wsgi:get_wsgi_application()", port)
        super().__init__(app, on_path(VENV / "bin", self.env), quiet=True)
        wait_until(lambda: answers(self.url + "/nothing-here"), what=settings)  # it answers (404)


def post(url: str, body: dict) -> int:
    request = urllib.request.Request(
        url, json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def measure(name: str, seconds: float, port: int) -> dict:
    """Rate, p50, p99 and non-2xx of the peer's code request and verify, and its SQL per step."""
    peer = PEERS[name]
    database = f"cheershare_peer_{name.replace('-', '_')}_{os.getpid()}"
    subprocess.run(["createdb", "-U", "postgres", "-h", "127.0.0.1", database], check=True)
    server = None
    try:
        server = PeerServer(peer["settings"], database, port)
        path, body = peer["code"]

        def codes(offset: int, length: float):
            return wrk.run(server.url + path, seconds=length, lua=CODE_LUA % {"offset": offset, "body": body})

        codes(400_000_000, 1)  # warm-up
        code = codes(600_000_000, seconds)
        codes(800_000_000, seconds)  # more unused codes, so the verify run never runs out
        pairs = Path(tempfile.mkstemp(suffix=".pairs")[1])
        pairs.write_text(psql(database, peer["pairs"]))
        verify = wrk.run(
            server.url + peer["verify"],
            seconds=seconds,
            lua=VERIFY_LUA % {"pairs": pairs, "body": peer["verify_body"]},
        )
        pairs.unlink()
        counted = json.loads(
            subprocess.run(
                [str(VENV / "bin/python"), "-m", "bench.peers.count_queries", name],
                env=server.env,
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=True,
            ).stdout  # fmt: skip
        )
    finally:
        if server:
            server.stop()
        subprocess.run(["dropdb", "--if-exists", "-U", "postgres", "-h", "127.0.0.1", database], check=False)
    return {"code": code, "verify": verify, "sql": counted}
