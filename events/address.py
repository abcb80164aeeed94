"""Which addresses a webhook may never be sent to (unless WEBHOOK_ALLOW_PRIVATE): every range of
RFC 6890's special-purpose registries that is not globally reachable, the cloud metadata address,
and every IPv6 form that carries an IPv4 address inside it (IPv4-mapped and -compatible, NAT64
``64:ff9b::/96`` and ``64:ff9b:1::/48``, 6to4 ``2002::/16``, Teredo) when the IPv4 address it carries
is refused. The lists are written out rather than taken from ``ipaddress.is_global``, whose table
differs between Python versions (3.11's takes ``192.0.0.8`` for global)."""

import ipaddress
from ipaddress import IPv4Address, IPv6Address, ip_network

REFUSED_V4 = tuple(
    ip_network(net)
    for net in (
        "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
        "192.0.0.0/24", "192.0.2.0/24", "192.31.196.0/24", "192.52.193.0/24", "192.88.99.0/24",
        "192.168.0.0/16", "192.175.48.0/24", "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24",
        "224.0.0.0/4", "240.0.0.0/4",
    )
)  # fmt: skip
REFUSED_V6 = tuple(
    ip_network(net)
    for net in (
        "::/128", "::1/128", "64:ff9b:1::/48", "100::/64", "2001::/23", "2001:db8::/32", "2620:4f:8000::/48",
        "fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8",
    )
)  # fmt: skip
NAT64 = ip_network("64:ff9b::/96")
COMPATIBLE = ip_network("::/96")


def refused_address(ip: IPv4Address | IPv6Address) -> bool:
    """Whether ``ip`` is, or carries, an address no webhook may reach."""
    if ip.version == 4:
        return any(ip in net for net in REFUSED_V4)
    for carried in _carried_ipv4(ip):
        if refused_address(carried):
            return True
    return any(ip in net for net in REFUSED_V6)


def _carried_ipv4(ip: IPv6Address) -> list[IPv4Address]:
    carried = [ip.ipv4_mapped, ip.sixtofour]
    if ip.teredo is not None:
        carried += list(ip.teredo)
    if ip in NAT64 or ip in COMPATIBLE:
        carried.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return [address for address in carried if address is not None]
