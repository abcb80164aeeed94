"""Drive a URL with wrk and read its report: requests/s, p50/p99 latency, non-2xx count."""

import itertools
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

SIGNUP_LUA_TEMPLATE = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local counter = 0
local id = 0
local threads = {}
function setup(thread) thread:set("id", #threads); table.insert(threads, thread) end
function init(args) id = wrk.thread:get("id") end
function request()
  counter = counter + 1
  local phone = string.format("+919%%09d", %(first)d + id * %(per_thread)d + counter)
  return wrk.format(nil, nil, nil, '{"name": "Bench", "phone_number": "' .. phone .. '"}')
end
"""

NUMBERS_PER_THREAD = 1_000_000
NUMBERS_PER_RUN = 5 * NUMBERS_PER_THREAD  # up to 4 wrk threads, and room to spare
SIGNUP_RUNS = 10**9 // NUMBERS_PER_RUN  # the numbers after +919 have nine digits
_signup_runs = itertools.count()


def signup_lua() -> str:
    """Code requests for numbers no earlier run of this process used (a repeat would meet the
    cooldown and measure cheap 429s); a run past SIGNUP_RUNS would ask for invalid numbers, so it
    raises instead."""
    run = next(_signup_runs)
    if run >= SIGNUP_RUNS:
        raise RuntimeError("no fresh numbers left for code requests in this process")
    return SIGNUP_LUA_TEMPLATE % {"first": run * NUMBERS_PER_RUN, "per_thread": NUMBERS_PER_THREAD}


VERIFY_LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local pairs_ = {}
local index = 0
local step = 1
local threads = {}
function setup(thread) thread:set("id", #threads); table.insert(threads, thread) end
function init(args)
  for line in io.lines("%(pairs)s") do table.insert(pairs_, line) end
  index = wrk.thread:get("id")
  step = %(threads)d
end
function request()
  index = index + step
  local line = pairs_[%(first)d + (index %% %(count)d) + 1]
  local phone, code = line:match("(%%S+) (%%S+)")
  return wrk.format(nil, nil, nil, '{"phone_number": "' .. phone .. '", "otp": "' .. code .. '"}')
end
"""


REFRESH_LUA = VERIFY_LUA.replace('  local phone, code = line:match("(%%S+) (%%S+)")\n', "").replace(
    """'{"phone_number": "' .. phone .. '", "otp": "' .. code .. '"}'""", """'{"refresh_token": "' .. line .. '"}'"""
)


PASSKEY_LUA = REFRESH_LUA.replace("""'{"refresh_token": "' .. line .. '"}'""", "line")


def passkey_lua(bodies: str, count: int, *, runs: int, threads: int = 2):
    """As ``verify_lua``, for the passkey sign-in bodies in ``bodies`` (one JSON a line, each with its
    own single-use ceremony)."""
    size, slices = count // runs, itertools.count()
    return lambda: (
        PASSKEY_LUA % {"pairs": bodies, "threads": threads, "first": next(slices) % runs * size, "count": size}
    )


def refresh_lua(tokens: str, count: int, *, runs: int, threads: int = 2):
    """As ``verify_lua``, for the refresh tokens in ``tokens`` (one a line; each is spent once)."""
    size, slices = count // runs, itertools.count()
    return lambda: (
        REFRESH_LUA % {"pairs": tokens, "threads": threads, "first": next(slices) % runs * size, "count": size}
    )


def verify_lua(pairs: str, count: int, *, runs: int, threads: int = 2):
    """A callable giving each of ``runs`` wrk runs its own slice of the ``count`` codes in ``pairs``
    (a code is good once: a run that outgrows its slice meets used codes, counted as non-2xx)."""
    size, slices = count // runs, itertools.count()
    return lambda: VERIFY_LUA % {"pairs": pairs, "threads": threads, "first": next(slices) % runs * size, "count": size}


@dataclass
class Result:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    requests: int = 0

    @property
    def ok_rps(self) -> float:
        """The rate of 2xx answers only."""
        return self.rps * (self.requests - self.errors) / self.requests if self.requests else 0.0


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def run(
    url: str,
    *,
    seconds: float,
    connections: int = 8,
    threads: int = 2,
    headers: dict | None = None,
    lua: str | None = None,
) -> Result:
    args = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(int(seconds), 1)}s", "--latency"]
    for name, value in (headers or {}).items():
        args += ["-H", f"{name}: {value}"]
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(lua or "")
    if lua:
        args += ["-s", script.name]
    out = subprocess.run([*args, url], capture_output=True, text=True, check=True).stdout
    Path(script.name).unlink()
    if "Requests/sec" not in out or "Latency Distribution" not in out:
        raise RuntimeError(f"wrk measured nothing:\n{out}")
    matches = re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    latency = {percentile: _ms(value, unit) for percentile, value, unit in matches}
    if set(latency) != {"50", "99"}:
        raise RuntimeError(f"wrk's report has no p50/p99:\n{out}")
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return Result(
        rps=float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        p50_ms=latency["50"],
        p99_ms=latency["99"],
        errors=int(errors.group(1)) if errors else 0,
        requests=int(re.search(r"(\d+) requests in", out).group(1)),
    )
