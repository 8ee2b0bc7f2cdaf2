"""SSRF allow-list math: Label Studio's default banned subnets minus exactly our targets."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

# Label Studio 1.23.2 core/utils/io.py validate_ip(): the default banned subnets.
DEFAULT_BANNED = (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
    "172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16",
    "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "233.252.0.0/24",
    "240.0.0.0/4", "255.255.255.255/32", "::/128", "::1/128", "::ffff:0:0/96",
    "::ffff:0:0:0/96", "64:ff9b::/96", "64:ff9b:1::/48", "100::/64", "2001:0000::/32",
    "2001:20::/28", "2001:db8::/32", "2002::/16", "fc00::/7", "fe80::/10", "ff00::/8",
)


# Services Label Studio must call; each gets a fixed address (Docker: in the app subnet;
# Kubernetes: a fixed ClusterIP in the Service CIDR) so SSRF can open just it. Low addresses:
# Docker and Kubernetes both hand out dynamic ones from the top of the range first.
SSRF_SLOTS = ("minio", "ml-backend")
FIRST_SLOT = 10


def fixed_address(network: str, name: str, first: int = FIRST_SLOT) -> str:
    """The fixed address of SSRF target `name` in `network`: the network address + `first` + its slot."""
    if name not in SSRF_SLOTS:
        raise ValueError(f"{name!r} has no fixed address slot; add it to SSRF_SLOTS")
    return str(ipaddress.ip_network(network).network_address + first + SSRF_SLOTS.index(name))


def banned_subnets(allowed: Iterable[str]) -> list[str]:
    """The default banned list with each allowed address or network carved out.

    Used with USE_DEFAULT_BANNED_SUBNETS=false, so protection stays on for every other
    private, loopback and link-local address.
    """
    nets = [ipaddress.ip_network(n) for n in DEFAULT_BANNED]
    for item in allowed:
        hole = ipaddress.ip_network(item)
        carved: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        for net in nets:
            if net.version == hole.version and hole.subnet_of(net):  # type: ignore[arg-type]
                carved.extend(net.address_exclude(hole))  # type: ignore[arg-type]
            elif net.version == hole.version and net.subnet_of(hole):  # type: ignore[arg-type]
                continue
            else:
                carved.append(net)
        nets = carved
    return [str(n) for n in sorted(nets, key=lambda n: (n.version, n))]


def is_banned(address: str, banned: Iterable[str]) -> bool:
    """What Label Studio's validate_ip() decides for `address` with this list."""
    ip = ipaddress.ip_address(address)
    return any(ip in ipaddress.ip_network(n) for n in banned)
