"""The client's network key: what every per-client rate limit counts by.

One IPv4 address is one client, but an IPv6 subscriber is routinely given a whole /64 (2⁶⁴
addresses) and can send each request from another one; keyed by the full address, every
request would be a new client.  So an IPv6 client is keyed by its /64 network, and an
IPv4-mapped IPv6 address (``::ffff:203.0.113.7``, what a dual-stack socket reports for an IPv4
peer) by the IPv4 address inside it.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Callable
from typing import TypeVar

from flask import request

KeyFunc = TypeVar("KeyFunc", bound=Callable[..., str])
BEFORE_THE_APP = "portal_key_before_the_app"
# WSGI environ: the request context portal.refusals made for the request, which the app reuses.
EARLY_CONTEXT = "portal.early_context"
# app.extensions: the site's host name where a base URL pins it (requests for others get 400).
PUBLIC_HOST = "public_host"

IPV6_CLIENT_PREFIX = 64
# Keys of the addresses seen last: parsing one took 13 µs (IPv4) to 113 µs (IPv6) of every
# limited request; a visitor cycling addresses only evicts older ones (a bounded dict).
KEYS_KEPT = 4096


@functools.lru_cache(maxsize=KEYS_KEPT)
def network_key(address: str | None) -> str:
    """``address`` as the client it stands for: an IPv4 address, or an IPv6 /64 network
    (``2001:db8:1:2::/64``).  Anything that is not an address is kept as it is (empty for
    none), so a test client's odd ``REMOTE_ADDR`` still gets a key of its own."""
    text = (address or "").strip()
    try:
        ip = ipaddress.ip_address(text.split("%", 1)[0])  # drop an IPv6 zone (fe80::1%eth0)
    except ValueError:
        return text
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, IPV6_CLIENT_PREFIX), strict=False))
    return str(ip)


def key_before_the_app(key_func: KeyFunc) -> KeyFunc:
    """Mark a rate limit's key function as one that reads only the client's address, the
    settings and the date (never the body, the form or the session), so a request over that
    limit can be refused before the app reads anything (``portal.refusals.EarlyRefusals``)."""
    setattr(key_func, BEFORE_THE_APP, True)
    return key_func


@key_before_the_app
def client_network() -> str:
    """The network key of the current request's client (after ProxyFix, if proxies are
    trusted).  The limiter's default key function."""
    return network_key(request.remote_addr)
