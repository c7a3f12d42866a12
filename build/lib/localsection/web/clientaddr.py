"""The address of the client behind a request, believing `X-Forwarded-For` only from trusted proxies.

Behind a reverse proxy every request comes from the proxy's address, so anything keyed by address (the sign-in
throttle) would treat all users as one. The proxy's `X-Forwarded-For` names the real client, but a client can
send that header too: it is read only when the direct peer is listed in `LOCALSECTION_TRUSTED_PROXIES`
(addresses or CIDR networks), and then from the right, skipping trusted hops, so the first untrusted address is
the one our own proxy saw — whatever the client wrote further left is ignored.
"""

from __future__ import annotations

import functools
import ipaddress
import logging

from starlette.requests import Request

from localsection.config import Settings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

log = logging.getLogger(__name__)
_MAX_HOPS = 32  # a longer header is not from any real proxy chain; only its right-most hops are looked at


@functools.lru_cache(maxsize=8)
def trusted_networks(spec: str) -> tuple[Network, ...]:
    """Parse the comma list of addresses/networks; a bad entry is logged and ignored (it trusts nothing)."""
    networks: list[Network] = []
    for item in (part.strip() for part in spec.split(",")):
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            log.warning("LOCALSECTION_TRUSTED_PROXIES: ignoring %r, not an address or network", item)
    return tuple(networks)


def parse_address(text: str) -> Address | None:
    """An IP address from a peer or header value (`1.2.3.4`, `1.2.3.4:80`, `[::1]:80`, `::ffff:1.2.3.4`)."""
    text = text.strip().strip('"')
    if text.startswith("["):
        text = text[1:].split("]", 1)[0]
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    try:
        addr = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    return addr


def _trusted(addr: Address | None, networks: tuple[Network, ...]) -> bool:
    return addr is not None and any(addr.version == net.version and addr in net for net in networks)


def client_address_from(peer: str, forwarded_for: list[str], trusted: tuple[Network, ...]) -> str:
    """The client's address given the direct peer, every `X-Forwarded-For` header value (in order) and the
    trusted proxies. Always an address string when the peer is one; the peer itself when nothing else is
    believable."""
    peer_addr = parse_address(peer)
    if not _trusted(peer_addr, trusted):
        return str(peer_addr) if peer_addr is not None else peer
    hops = [hop for value in forwarded_for for hop in value.split(",") if hop.strip()][-_MAX_HOPS:]
    client: Address = peer_addr  # type: ignore[assignment]  # _trusted() is False for None
    for hop in reversed(hops):
        addr = parse_address(hop)
        if addr is None:
            break  # a proxy we trust wrote something that is not an address: believe nothing further left
        client = addr
        if not _trusted(addr, trusted):
            break
    return str(client)


def client_address(request: Request, settings: Settings) -> str:
    """The client's address for `request` (see the module docstring)."""
    peer = request.client.host if request.client else ""
    return client_address_from(peer, request.headers.getlist("x-forwarded-for"),
                               trusted_networks(settings.trusted_proxies))
