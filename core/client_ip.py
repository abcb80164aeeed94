"""The client's address, read from ``X-Forwarded-For`` only as far as TRUSTED_PROXY_COUNT (DRF's
``NUM_PROXIES``) allows.

Each trusted proxy appends the address it saw, so with N proxies the client is the N-th entry from
the right. With fewer entries than N the request skipped a proxy: the rightmost entry (written by
the proxy that reached us) is used, never the leftmost, which the client may have written.
Entries may carry a port (``1.2.3.4:5678``, ``[2001:db8::1]:443``); anything that is not an
address falls back to ``REMOTE_ADDR``.
"""

import ipaddress

from rest_framework.settings import api_settings


def client_ip(request) -> str:
    remote_addr = request.META.get("REMOTE_ADDR", "")
    trusted = api_settings.NUM_PROXIES or 0
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if trusted <= 0 or not forwarded.strip():
        return remote_addr
    hops = [hop.strip() for hop in forwarded.split(",")]
    client = hops[-trusted] if len(hops) >= trusted else hops[-1]
    return parse_address(client) or remote_addr


def parse_address(entry: str) -> str | None:
    """``entry`` as a canonical IP address (its port dropped), or None."""
    if entry.startswith("["):
        entry = entry[1:].partition("]")[0]
    elif entry.count(":") == 1:
        entry = entry.partition(":")[0]
    try:
        return str(ipaddress.ip_address(entry))
    except ValueError:
        return None
