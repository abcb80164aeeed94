"""How scripts/serve serves a WSGI application (ours by default): on granian's ASGI interface
without lifespan events (``asginl``), so that only a complete request reaches Python's blocking code.
A module of its own, outside the project's packages, so that any Django app (the benchmark's peers,
from their own environment) is served the same way. With BODY_GATE=0 (behind a proxy that buffers
whole bodies) scripts/serve serves ``ungated_from_environment`` on granian's WSGI interface instead.

Each request's body is read whole in the event loop, within BODY_READ_TIMEOUT seconds and at most
DATA_UPLOAD_MAX_MEMORY_SIZE bytes, and only then handed to the WSGI application (one request at a
time per process, as before). A body that takes longer answers 408, a larger one 413, both in the
JSON envelope; a chunked body (no Content-Length) is read like any other and given its length. On
granian's WSGI interface the app's one thread itself waited for a trickled body, so two slow clients
held both of a server's workers and every other request waited (the third probe).
"""

import asyncio
import contextvars
import io
import json
import os
import secrets
import sys

from django.conf import settings
from django.utils.module_loading import import_string

BODY_HEADERS = {b"content-length", b"transfer-encoding"}


class CompleteBodies:
    """ASGI middleware: the wrapped app sees a request only once its whole body has arrived."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if _declared_length(scope) > limit:
            return await _refuse(send, 413, "Request body is too large.", "payload_too_large")
        try:
            async with asyncio.timeout(getattr(settings, "BODY_READ_TIMEOUT", 10)):
                body = await _read_body(receive, limit)
        except TimeoutError:
            return await _refuse(send, 408, "The request body took too long to arrive.", "request_timeout")
        if body is None:  # the client left: nobody to answer
            return None
        if len(body) > limit:
            # Read (and drop) what is still coming, within bounds, before answering: a proxy that
            # streams the body to us (nginx, proxy_request_buffering off) turns a connection closed
            # under it into a 502 instead of passing our 413 on.
            try:
                async with asyncio.timeout(getattr(settings, "BODY_READ_TIMEOUT", 10)):
                    await _drain(receive, DRAIN_LIMIT)
            except TimeoutError:
                pass
            return await _refuse(send, 413, "Request body is too large.", "payload_too_large")
        headers = [(name, value) for name, value in scope["headers"] if name not in BODY_HEADERS]
        if body or _declared_length(scope) >= 0:
            headers.append((b"content-length", str(len(body)).encode()))
        delivered = False

        async def replay():
            nonlocal delivered
            if delivered:
                return await receive()  # the disconnect, whenever it comes
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app({**scope, "headers": headers}, replay, send)


async def _read_body(receive, limit: int) -> bytes | None:
    """The whole body, or its first ``limit`` + 1 bytes if it is longer; None if the client left."""
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if size > limit or not message.get("more_body"):
            return b"".join(chunks)[: limit + 1]


DRAIN_LIMIT = 16 * 1024 * 1024  # bytes of an oversized body read and dropped before the 413


async def _drain(receive, budget: int) -> None:
    while budget > 0:
        message = await receive()
        if message["type"] == "http.disconnect" or not message.get("more_body"):
            return
        budget -= len(message.get("body", b""))


def _declared_length(scope) -> int:
    """The Content-Length header's value; -1 if absent or not a number."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else -1
    return -1


async def _refuse(send, status: int, error: str, code: str) -> None:
    body = json.dumps({"success": False, "error": error, "code": code}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"x-request-id", secrets.token_hex(16).encode()),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _environ(scope, body: bytes) -> dict:
    """The WSGI environ of an ASGI HTTP scope whose body has arrived whole (PEP 3333)."""
    path = scope["path"].encode("utf8").decode("latin1")
    server = scope.get("server") or ("localhost", 80)
    environ = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": scope.get("root_path", "").encode("utf8").decode("latin1"),
        "PATH_INFO": path,
        "QUERY_STRING": scope["query_string"].decode("latin1"),
        "SERVER_NAME": server[0],
        "SERVER_PORT": str(server[1]),
        "SERVER_PROTOCOL": f"HTTP/{scope['http_version']}",
        "REMOTE_ADDR": scope["client"][0] if scope.get("client") else "",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    for name, value in scope["headers"]:
        key = name.decode("latin1").upper().replace("-", "_")
        if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            key = "HTTP_" + key
        value = value.decode("latin1")
        environ[key] = f"{environ[key]},{value}" if key in environ else value
    return environ


class Wsgi:
    """Django's WSGI application called in the event loop's own thread: one request at a time per
    process (as GRANIAN_BLOCKING_THREADS=1 did), no thread hop (asgiref's WsgiToAsgi and a2wsgi
    halved the rate of /healthz with theirs). Every request runs in the same context, so what
    Django keeps per thread in a sync thread (asgiref ``Local``: database connections, caches) lasts
    across requests here too, instead of one database connection per request. Responses are
    collected whole; none here streams."""

    def __init__(self, app):
        self.app = app
        self.context = contextvars.Context()

    async def __call__(self, scope, receive, send):
        message = await receive()
        status, headers, body = self.context.run(self._respond, _environ(scope, message["body"]))
        raw = [(name.lower().encode("latin1"), value.encode("latin1")) for name, value in headers]
        await send({"type": "http.response.start", "status": status, "headers": raw})
        await send({"type": "http.response.body", "body": body})

    def _respond(self, environ: dict) -> tuple[int, list, bytes]:
        response = []

        def start_response(status, headers, exc_info=None):
            response[:] = [int(status[:3]), headers]

        result = self.app(environ, start_response)
        try:
            body = b"".join(result)
        finally:
            if hasattr(result, "close"):
                result.close()
        return *response, body


def from_environment():
    """The served ASGI application (granian's factory): the WSGI application SERVE_WSGI_APP names
    ("module:name", ours by default; "module:factory()" calls it), behind ``CompleteBodies``."""
    # Django refuses its ORM in a thread running an event loop, lest it block the loop; blocking it
    # for the one request it serves is the design here (the loop only waits for bodies meanwhile).
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    return CompleteBodies(Wsgi(_named_application()))


def ungated_from_environment():
    """The WSGI application granian serves with BODY_GATE=0 (its WSGI interface, behind a proxy that
    buffers bodies): SERVE_WSGI_APP's, behind ``ChunkedBodies``."""
    return ChunkedBodies(_named_application())


class ChunkedBodies:
    """WSGI middleware: a chunked body (no Content-Length) is read, up to one byte over
    DATA_UPLOAD_MAX_MEMORY_SIZE, and given its length, so that Django neither takes it as empty nor
    reads past the limit (a longer one then answers 413)."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        if not environ.get("CONTENT_LENGTH") and "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
            body = environ["wsgi.input"].read(settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)
            environ.update({"wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body))})
        return self.app(environ, start_response)


def _named_application():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cheershare.settings")
    name = os.environ.get("SERVE_WSGI_APP", "cheershare.wsgi:application")
    application = import_string(name.removesuffix("()").replace(":", "."))
    return application() if name.endswith("()") else application
