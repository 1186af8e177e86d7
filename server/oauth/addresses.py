"""Who is asking: the client address the OAuth endpoints count requests and registrations by.

The peer's address, unless the peer is one of CEKURA_OPTIMISE_TRUSTED_PROXIES: then the last
address in X-Forwarded-For that is not itself a trusted proxy (what the proxy saw). Nobody else's
X-Forwarded-For is read, so a client cannot pick its own address. IPv6 addresses count by their
/64, the block one subscriber usually holds, so one machine cannot rotate through addresses.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from contextvars import ContextVar
from typing import Any

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

_current: ContextVar[str] = ContextVar("cekura_optimise_client_address", default="unknown")


def address_key(host: str) -> str:
    """The address as quotas count it: IPv4 as is, IPv6 by its /64 ('unknown' if unparsable)."""
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return "unknown"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def client_address(peer: str, forwarded: Sequence[str], trusted: Sequence[Network]) -> str:
    """The address key of the client behind `peer`, trusting X-Forwarded-For only from proxies."""
    if not _is_trusted(peer, trusted):
        return address_key(peer)
    hops = [hop.strip() for value in forwarded for hop in value.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _is_trusted(hop, trusted):
            return address_key(hop)
    return address_key(hops[0] if hops else peer)


def current_address() -> str:
    """The address key of the request being handled (set by `ClientAddress`)."""
    return _current.get()


def _is_trusted(host: str, trusted: Sequence[Network]) -> bool:
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return any(address in network for network in trusted)


class ClientAddress:
    """ASGI middleware: works out the client address once per request, for the layers below."""

    def __init__(self, app: Any, trusted: Sequence[Network]) -> None:
        self.app = app
        self.trusted = tuple(trusted)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        peer = str((scope.get("client") or ("unknown", 0))[0])
        forwarded = [
            value.decode("latin-1")
            for name, value in scope.get("headers") or []
            if name == b"x-forwarded-for"
        ]
        token = _current.set(client_address(peer, forwarded, self.trusted))
        try:
            await self.app(scope, receive, send)
        finally:
            _current.reset(token)
