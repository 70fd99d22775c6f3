"""Plain text only to loopback, decided on addresses (DESIGN section 4).

A host *name* proves nothing: ``evil.localhost`` may resolve to any address. Plain
text (AUTH without TLS, a plain-HTTP token request) is allowed only when every
address the name resolves to is a loopback address and the connection is made to one
of those addresses.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable

Address = tuple[int, int, int, tuple[object, ...]]  # family, type, proto, sockaddr


def is_loopback_address(address: str) -> bool:
    """127.0.0.0/8 and ::1, also written as an IPv4-mapped IPv6 address."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


def all_loopback(addresses: Iterable[str]) -> bool:
    listed = list(addresses)
    return bool(listed) and all(is_loopback_address(address) for address in listed)


def resolve(host: str, port: int, *, kind: int = socket.SOCK_STREAM) -> list[Address]:
    """getaddrinfo, as (family, type, proto, sockaddr); a literal needs no lookup."""
    literal = host.strip("[]")
    try:
        ip = ipaddress.ip_address(literal)
    except ValueError:
        infos = socket.getaddrinfo(host, port, type=kind)
        return [(family, kind_, proto, sockaddr) for family, kind_, proto, _, sockaddr in infos]
    family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
    return [(family, kind, 0, (str(ip), port))]


def addresses_of(resolved: Iterable[Address]) -> list[str]:
    return list(dict.fromkeys(str(sockaddr[0]) for *_, sockaddr in resolved))


def not_loopback_sentence(host: str, addresses: list[str], what: str) -> str:
    others = [address for address in addresses if not is_loopback_address(address)]
    shown = ", ".join(others or addresses) or "no address"
    return (
        f"{host} resolves to {shown}, which is not a loopback address: mailstage sends "
        f"{what} in plain text only to loopback (127.0.0.0/8, ::1), whatever the name says."
    )
