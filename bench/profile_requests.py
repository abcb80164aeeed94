#!/usr/bin/env python
"""Profile requests in-process (cProfile) through the WSGI application, every feature on: request
ids, JSON access log, metrics, locale, security headers. Prints where the time goes per request.

    python bench/profile_requests.py [--settings cheershare.settings] [--path /healthz] [--requests 5000]
    python bench/profile_requests.py --path /v1/signup --body '{"name": "A", "phone_number": "+9198{n}"}'

``--cpu`` measures this process's CPU time instead of wall time (what a request costs the machine,
without the waits for PostgreSQL, Redis or the broker). ``--body`` makes each request a JSON POST;
``{n}`` in it is the request's number, 8 digits (a fresh phone number per request, so a code request
meets no cooldown).
"""

import argparse
import collections
import cProfile
import io
import itertools
import os
import pstats
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--settings", default="cheershare.settings")
    parser.add_argument("--path", default="/healthz")
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--header", action="append", default=[], help="Name: value")
    parser.add_argument("--body", default="", help="a JSON body to POST; {n}: the request's number")
    parser.add_argument("--cpu", action="store_true", help="CPU time (this process's), not wall time")
    args = parser.parse_args()
    os.environ["DJANGO_SETTINGS_MODULE"] = args.settings
    os.environ.setdefault("SECRET_KEY", "profile-only-secret-key-0123456789-abcdefghijklmnop")
    os.environ.setdefault("DEBUG", "0")
    os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1")
    os.environ.setdefault("SMS_BACKEND", "locmem")
    os.environ.setdefault("SECURE_SSL_REDIRECT", "0")  # else DEBUG=0 answers every plain-HTTP path with a 301
    from django.core.wsgi import get_wsgi_application

    application = get_wsgi_application()
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": args.path,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        "HTTP_HOST": "127.0.0.1",
    }
    for header in args.header:
        name, _, value = header.partition(":")
        environ["HTTP_" + name.strip().upper().replace("-", "_")] = value.strip()

    if args.body:
        environ.update(REQUEST_METHOD="POST", CONTENT_TYPE="application/json")
    statuses = collections.Counter()
    numbers = itertools.count(random.randrange(10**7, 9 * 10**7))  # numbers no recent run asked for

    def serve(count: int) -> None:
        for _ in range(count):
            sent = args.body.replace("{n}", f"{next(numbers):08d}").encode()
            request = dict(environ, **{"wsgi.input": io.BytesIO(sent), "CONTENT_LENGTH": str(len(sent))})
            b"".join(application(request, lambda status, headers: statuses.update([status])))

    clock = time.process_time if args.cpu else time.perf_counter
    serve(200)  # warm-up
    started = clock()
    serve(args.requests)
    per_request = (clock() - started) / args.requests * 1e6
    profiler = cProfile.Profile(clock)
    profiler.enable()
    serve(args.requests)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(args.top)
    method = environ["REQUEST_METHOD"]
    kind = "CPU" if args.cpu else "wall time"
    print(f"{args.settings} {method} {args.path}: {per_request:.0f} us of {kind} per request without the profiler")
    print("answers:", ", ".join(f"{status}: {count}" for status, count in statuses.items()))
    print(out.getvalue())


if __name__ == "__main__":
    main()
