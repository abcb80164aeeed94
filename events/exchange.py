"""One HTTP exchange with a webhook receiver, bounded as a whole: WEBHOOK_TIMEOUT seconds from
connecting to the last byte read (a watchdog shuts the socket at the deadline, so a receiver that
trickles its headers or body one byte at a time cannot hold a worker), and at most ``MAX_ANSWER``
bytes of the answer read (a huge body closes the connection instead). Connections are kept per
thread and origin for the next delivery when the answer was read whole.

The standard library's ``http.client`` is used rather than requests: the watchdog needs the
socket of the exchange in progress, which requests keeps inside urllib3's pool."""

import http.client
import socket
import ssl
import threading
from urllib.parse import urlsplit

MAX_ANSWER = 64 * 1024


class DeadlineExceeded(Exception):
    """The receiver did not finish within the exchange's deadline."""


_local = threading.local()


def post(url: str, body: bytes, headers: dict, *, deadline: float) -> int:
    """POST ``body`` to ``url``; the answer's status. Raises DeadlineExceeded, OSError or
    http.client.HTTPException (the connection is then dropped)."""
    connection, target = _connection(url, deadline)
    cut = threading.Event()
    watchdog = threading.Timer(deadline, _shut, [connection, cut])
    watchdog.start()
    try:
        connection.timeout = deadline
        connection.request("POST", target, body=body, headers=headers)
        response = connection.getresponse()
        answer = response.read(MAX_ANSWER + 1)
        if len(answer) > MAX_ANSWER or not response.isclosed() or response.will_close:
            _drop(url, connection)
        return response.status
    except (OSError, http.client.HTTPException):
        _drop(url, connection)
        if cut.is_set():
            raise DeadlineExceeded() from None
        raise
    finally:
        watchdog.cancel()


def _connection(url: str, deadline: float) -> tuple[http.client.HTTPConnection, str]:
    parts = urlsplit(url)
    connections = _local.__dict__.setdefault("connections", {})
    key = (parts.scheme, parts.hostname, parts.port)
    connection = connections.get(key)
    if connection is None:
        if parts.scheme == "https":
            context = ssl.create_default_context()
            connection = http.client.HTTPSConnection(parts.hostname, parts.port, timeout=deadline, context=context)
        else:
            connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=deadline)
        connections[key] = connection
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return connection, target


def _drop(url: str, connection: http.client.HTTPConnection) -> None:
    parts = urlsplit(url)
    _local.__dict__.get("connections", {}).pop((parts.scheme, parts.hostname, parts.port), None)
    connection.close()


def _shut(connection: http.client.HTTPConnection, cut: threading.Event) -> None:
    cut.set()
    sock = connection.sock
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
