"""UDP sockets for IKE (charon.port, charon.port_nat_t), IPv4 and IPv6.

Sockets are bound to the wildcard address; IP_PKTINFO/IPV6_PKTINFO tell which local address a
datagram arrived on (the engine needs it for NAT detection and replies) and pick the source
address of each datagram sent, so a multi-homed host answers from the address it was asked on.
"""

from __future__ import annotations

import ipaddress
import logging
import socket as _socket
import struct
from dataclasses import dataclass

import trio

from vicid.ike.effects import Endpoint

log = logging.getLogger("vicid.net")

IP_PKTINFO = getattr(_socket, "IP_PKTINFO", 8)
IPV6_RECVPKTINFO = getattr(_socket, "IPV6_RECVPKTINFO", 49)
IPV6_PKTINFO = getattr(_socket, "IPV6_PKTINFO", 50)
MAX_DATAGRAM = 65535
_ANC_SIZE = _socket.CMSG_SPACE(32)


@dataclass
class IkeSocket:
    family: int
    port: int
    sock: trio.socket.SocketType | None = None

    async def open(self) -> None:
        sock = trio.socket.socket(self.family, _socket.SOCK_DGRAM)
        sock.setsockopt(_socket.SOL_SOCKET, _socket.SO_REUSEADDR, 1)
        if self.family == _socket.AF_INET6:
            sock.setsockopt(_socket.IPPROTO_IPV6, _socket.IPV6_V6ONLY, 1)
            sock.setsockopt(_socket.IPPROTO_IPV6, IPV6_RECVPKTINFO, 1)
            await sock.bind(("::", self.port))
        else:
            sock.setsockopt(_socket.IPPROTO_IP, IP_PKTINFO, 1)
            await sock.bind(("0.0.0.0", self.port))
        self.sock = sock
        if self.port == 0:
            self.port = sock.getsockname()[1]

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()

    async def receive(self) -> tuple[bytes, Endpoint, Endpoint]:
        """One datagram with its source and the local address it was sent to."""
        assert self.sock is not None
        data, ancdata, _flags, addr = await self.sock.recvmsg(MAX_DATAGRAM, _ANC_SIZE)
        local = self._local_address(ancdata)
        return data, (ipaddress.ip_address(addr[0].split("%")[0]), addr[1]), (local, self.port)

    def _local_address(self, ancdata: list) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
        for level, kind, value in ancdata:
            if level == _socket.IPPROTO_IP and kind == IP_PKTINFO and len(value) >= 12:
                return ipaddress.IPv4Address(value[8:12])  # ipi_addr: the header's destination
            if level == _socket.IPPROTO_IPV6 and kind == IPV6_PKTINFO and len(value) >= 16:
                return ipaddress.IPv6Address(value[:16])
        return ipaddress.ip_address("::" if self.family == _socket.AF_INET6 else "0.0.0.0")

    async def send(self, data: bytes, src: Endpoint, dst: Endpoint) -> None:
        assert self.sock is not None
        anc = []
        if not src[0].is_unspecified:
            if self.family == _socket.AF_INET6:
                anc = [(_socket.IPPROTO_IPV6, IPV6_PKTINFO, struct.pack("16sI", src[0].packed, 0))]
            else:
                anc = [(_socket.IPPROTO_IP, IP_PKTINFO, struct.pack("I4s4s", 0, src[0].packed, b"\0" * 4))]
        try:
            await self.sock.sendmsg([data], anc, 0, (str(dst[0]), dst[1]))
        except OSError as exc:
            log.info("sending %d bytes to %s[%d] failed: %s", len(data), dst[0], dst[1], exc.strerror)


async def open_ike_sockets(port: int, port_nat_t: int) -> list[IkeSocket]:
    """Sockets on both ports for each address family the host supports."""
    sockets: list[IkeSocket] = []
    for family in (_socket.AF_INET, _socket.AF_INET6):
        for p in (port, port_nat_t):
            if p < 0:
                continue
            sock = IkeSocket(family, p)
            try:
                await sock.open()
            except OSError as exc:
                if family == _socket.AF_INET6 and exc.errno in (97, 99):  # no IPv6 on this host
                    continue
                raise
            sockets.append(sock)
    return sockets


def source_for(remote: Endpoint) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """The local address the routing table picks towards ``remote`` (a UDP connect sends nothing)."""
    family = _socket.AF_INET6 if remote[0].version == 6 else _socket.AF_INET
    with _socket.socket(family, _socket.SOCK_DGRAM) as probe:
        probe.connect((str(remote[0]), remote[1] or 500))
        return ipaddress.ip_address(probe.getsockname()[0])
