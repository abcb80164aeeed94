"""`make bench-resource`: another service trusting our signed tokens through clients/python, at the
speed of a bare view. Our server (granian, PostgreSQL, TOKEN_FORMAT=jwt) publishes the key set; the
example resource server (examples/resource_server, granian, 2 workers) serves its JWT route beside a
bare DRF view of its own; wrk drives both in alternating rounds, with one token reused (the steady
state: an access token is used for minutes) and with a new token on every request. In-process: a
verified-cache hit and a miss, in µs. Writes bench/RESULTS-resource.md."""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "clients" / "python"))
DATABASE = f"cheershare_resource_{os.getpid()}"
SECRET_KEY = "resource-bench-secret-key-with-more-than-fifty-characters-0123456789"
ENV = {
    "DJANGO_SETTINGS_MODULE": "cheershare.settings",
    "SECRET_KEY": SECRET_KEY,
    "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{DATABASE}",
    "TOKEN_FORMAT": "jwt",
    "TOKEN_TTL": "3600",
    "LOG_LEVEL": "WARNING",
}
os.environ.update(ENV)

import django  # noqa: E402

from bench import server_command, wrk  # noqa: E402
from tests.live import BIN, Process, answers, base_env, free_port, on_path, wait_until  # noqa: E402

TOKENS_LUA = """
local tokens = {}
local index = 0
function init(args) for line in io.lines("%(tokens)s") do table.insert(tokens, line) end end
function request()
  index = index + 1
  return wrk.format("GET", nil, {["Authorization"] = "Bearer " .. tokens[(index %% #tokens) + 1]})
end
"""


def serve(app: str, env: dict, pythonpath: str = "") -> tuple[Process, str]:
    port = free_port()
    environment = {**env, "PYTHONPATH": pythonpath} if pythonpath else env
    process = Process(server_command.command(app, port), on_path(BIN, environment), quiet=True)
    url = f"http://127.0.0.1:{port}"
    wait_until(lambda: answers(url + ("/bare" if pythonpath else "/healthz")), what=app)
    return process, url


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tokens", type=int, default=20_000)
    parser.add_argument("--output", default=str(ROOT / "bench" / "RESULTS-resource.md"))
    args = parser.parse_args()
    subprocess.run(["createdb", "-U", "postgres", "-h", "127.0.0.1", DATABASE], check=True)
    processes = []
    try:
        env = base_env(**ENV)
        subprocess.run([str(BIN / "python"), "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
        subprocess.run([str(BIN / "python"), "manage.py", "signing_keys", "rotate"], cwd=ROOT, env=env, check=True,
                       capture_output=True)  # fmt: skip
        django.setup()
        tokens = issue_tokens(args.tokens)
        ours, ours_url = serve("cheershare.wsgi:application", env)
        processes.append(ours)
        resource_env = base_env(CHEERSHARE_URL=ours_url, CHEERSHARE_ISSUER="cheershare", LOG_LEVEL="WARNING",
                                DJANGO_SETTINGS_MODULE="resource_server.settings")  # fmt: skip
        path = f"{ROOT / 'examples' / 'resource_server'}:{ROOT / 'clients' / 'python'}"
        resource, url = serve("resource_server.wsgi:application", resource_env, path)
        processes.append(resource)
        rows = measure(url, tokens, args)
        rows += in_process(ours_url, tokens)
    finally:
        for process in processes:
            process.stop()
        if django.apps.apps.ready:
            from django.db import connections

            connections.close_all()
        subprocess.run(["dropdb", "-U", "postgres", "-h", "127.0.0.1", "--if-exists", DATABASE], check=False)
    report(rows, args)


def issue_tokens(count: int) -> str:
    """``count`` access tokens of one account's sessions, one a line in a file."""
    from accounts.models import User
    from tokens.grants import start_session

    user = User.objects.create_user("+919812300009", "Bench")
    session_token = start_session(user=user)
    from datetime import timedelta

    from django.utils import timezone

    from tokens import jwts

    now = timezone.now()
    lines = [
        jwts.sign(user=user, session_id=session_token.session.pk, scope="authentication", issued_at=now,
                  expiry=now + timedelta(hours=1))
        for _ in range(count)
    ]  # fmt: skip
    path = Path(tempfile.mkstemp(suffix=".tokens")[1])
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def measure(url: str, tokens: str, args) -> list[tuple[str, str]]:
    one = Path(tokens).read_text().split("\n", 1)[0]
    spread = TOKENS_LUA % {"tokens": tokens}
    runs = {"bare": [], "reused": [], "new": []}
    for name, headers, lua in [("bare", None, None), ("reused", {"Authorization": f"Bearer {one}"}, None)]:
        wrk.run(url + ("/bare" if name == "bare" else "/orders/mine"), seconds=1, headers=headers, lua=lua)
    for _ in range(args.rounds):
        runs["bare"].append(wrk.run(url + "/bare", seconds=args.seconds))
        runs["reused"].append(
            wrk.run(url + "/orders/mine", seconds=args.seconds, headers={"Authorization": f"Bearer {one}"})
        )
        runs["new"].append(wrk.run(url + "/orders/mine", seconds=args.seconds, lua=spread))
    shares = {name: statistics.median(r.ok_rps / b.rps for r, b in zip(runs[name], runs["bare"], strict=True))
              for name in ("reused", "new")}  # fmt: skip
    bare = statistics.median(r.rps for r in runs["bare"])
    errors = sum(r.errors for name in ("reused", "new") for r in runs[name])
    return [
        ("bare DRF view of the resource server (req/s, median)", f"{bare:,.0f}"),
        ("JWT route, one token reused / bare view (target >= 0.85)", f"{shares['reused']:.2f}"),
        ("JWT route, a new token on every request / bare view", f"{shares['new']:.2f}"),
        ("non-2xx answers of the JWT route", f"{errors}"),
    ]


def in_process(ours_url: str, tokens: str) -> list[tuple[str, str]]:
    from cheershare_client import Verifier

    lines = Path(tokens).read_text().split()
    verifier = Verifier(ours_url)
    verifier.verify(lines[0])  # the key set fetched
    hit = min(timeit.repeat(lambda: verifier.verify(lines[0]), number=2000, repeat=5)) / 2000
    fresh = iter(lines[1:])
    misses = [timed(lambda: verifier.verify(next(fresh))) for _ in range(min(500, len(lines) - 1))]
    return [
        ("in-process: a verified-cache hit (µs)", f"{hit * 1e6:.1f}"),
        ("in-process: a miss (signature and claims checked, µs, median)", f"{statistics.median(misses) * 1e6:.1f}"),
    ]


def timed(call) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def report(rows, args) -> None:
    lines = [
        "# Another service trusting our tokens (clients/python)",
        "",
        f"`bench/resource_server.py --seconds {args.seconds:g} --rounds {args.rounds}`; "
        f"{server_command.describe()} for both servers, wrk -c8 -t2 on loopback, the same machine (2 cores); "
        "alternating rounds, medians.",
        "",
        "| measure | value |",
        "|---|---|",
        *[f"| {name} | {value} |" for name, value in rows],
        "",
    ]
    Path(args.output).write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
