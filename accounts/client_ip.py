"""The client's address, trusting exactly TRUSTED_PROXY_COUNT proxies' ``X-Forwarded-For``."""

import ipaddress

from django.conf import settings


def client_ip(request) -> str:
    """With 0 trusted proxies, REMOTE_ADDR (the header is ignored); with N, the Nth hop from the right."""
    remote = request.META.get("REMOTE_ADDR", "")
    count = settings.TRUSTED_PROXY_COUNT
    if count <= 0:
        return remote
    hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    if not hops:
        return remote
    candidate = hops[-count] if len(hops) >= count else hops[0]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote
