"""The client's address: DRF's ``get_ident`` (which trusts ``NUM_PROXIES`` = TRUSTED_PROXY_COUNT hops
of ``X-Forwarded-For``), kept only if it is an IP address, else ``REMOTE_ADDR``."""

import ipaddress

from rest_framework.throttling import BaseThrottle


def client_ip(request) -> str:
    ident = BaseThrottle().get_ident(request)
    try:
        return str(ipaddress.ip_address(ident))
    except ValueError:
        return request.META.get("REMOTE_ADDR", "")
