"""Which addresses konnect connects to for a URL someone else chose, and connecting to
exactly the address that was checked.

The host name is resolved once; every address it resolves to must be public or inside a
network the operator allowed, and the connection goes to that checked address, so a second
DNS answer cannot switch it to an internal one. TLS still verifies the URL's host name.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable

import httpcore

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class AddressRefused(Exception):
    """The host resolves to an address konnect does not connect to for this request."""


def _embedded_ipv4(address: IPAddress) -> list[IPAddress]:
    """The IPv4 address an IPv6 one carries (mapped, 6to4, Teredo), which routers honour."""
    if isinstance(address, ipaddress.IPv4Address):
        return []
    embedded = [address.ipv4_mapped, address.sixtofour, *(address.teredo or ())]
    return [item for item in embedded if item is not None]


def is_public(address: IPAddress) -> bool:
    """Globally routable unicast: not loopback, private, link-local, unique-local, shared,
    multicast, reserved or unspecified, nor an IPv6 address embedding such an IPv4 one."""
    return all(
        item.is_global and not (item.is_multicast or item.is_reserved)
        for item in (address, *_embedded_ipv4(address))
    )


class AddressPolicy:
    """Public addresses, plus the networks the operator allowed (`outgoing_allowed_networks`)."""

    def __init__(self, allowed_networks: Iterable[str] = ()) -> None:
        self.allowed = tuple(ipaddress.ip_network(item, strict=False) for item in allowed_networks)

    def permits(self, address: IPAddress) -> bool:
        return is_public(address) or any(address in network for network in self.allowed)


async def resolve(host: str, port: int) -> list[IPAddress]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    # A link-local IPv6 address comes with its zone (`fe80::1%eth0`).
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]


class PinnedNetwork(httpcore.AsyncNetworkBackend):
    """Opens connections for httpcore; with a policy, only to an address it permits."""

    def __init__(self, policy: AddressPolicy | None) -> None:
        self._policy = policy
        self._network = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        if self._policy is None:
            return await self._network.connect_tcp(
                host, port, timeout, local_address, socket_options
            )
        addresses = await self._checked_addresses(host, port)
        for address in addresses[:-1]:
            try:
                return await self._network.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except httpcore.ConnectError:
                continue  # the next address of the host (say IPv4 after IPv6)
        return await self._network.connect_tcp(
            addresses[-1], port, timeout, local_address, socket_options
        )

    async def _checked_addresses(self, host: str, port: int) -> list[str]:
        assert self._policy is not None
        try:
            addresses = await resolve(host, port)
        except OSError as exc:
            raise httpcore.ConnectError(f"{host} cannot be resolved: {exc}") from None
        refused = [address for address in addresses if not self._policy.permits(address)]
        if refused or not addresses:
            raise AddressRefused(f"{host} resolves to {refused[0] if refused else 'nothing'}")
        return list(dict.fromkeys(str(address) for address in addresses))

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("konnect connects to no unix sockets here")

    async def sleep(self, seconds: float) -> None:
        await self._network.sleep(seconds)
