"""UDP sockets for IKE (charon.port, charon.port_nat_t), IPv4 and IPv6.

Sockets are bound to the wildcard address; IP_PKTINFO/IPV6_PKTINFO tell which local address a
datagram arrived on (the engine needs it for NAT detection and replies) and pick the source
address of each datagram sent, so a multi-homed host answers from the address it was asked on.
"""

from __future__ import annotations

import errno
import ipaddress
import logging
import socket as _socket
import struct
from collections import deque
from dataclasses import dataclass, field

import trio

from vicid.ike.effects import Endpoint

log = logging.getLogger("vicid.net")

IP_PKTINFO = getattr(_socket, "IP_PKTINFO", 8)
IPV6_RECVPKTINFO = getattr(_socket, "IPV6_RECVPKTINFO", 49)
IPV6_PKTINFO = getattr(_socket, "IPV6_PKTINFO", 50)
MAX_DATAGRAM = 65535
SO_RCVBUFFORCE = getattr(_socket, "SO_RCVBUFFORCE", 33)
UDP_ENCAP = 100  # linux/udp.h: a socket option at level IPPROTO_UDP
UDP_ENCAP_ESPINUDP = 2  # RFC 3948: non-zero SPI means ESP, zero marker means IKE
SOL_UDP = 17
UDP_SEGMENT = 103  # linux/udp.h: send a buffer as equal-sized datagrams (UDP GSO)
UDP_GRO = 104  # receive a burst of equal-sized datagrams from one peer as one buffer
GSO_MAX_SEGMENTS = 64  # UDP_MAX_SEGMENTS of older kernels
GSO_MAX_BYTES = 65000  # a UDP payload's limit, with room for the headers
_ANC_SIZE = _socket.CMSG_SPACE(32) + _socket.CMSG_SPACE(8)  # PKTINFO and UDP_GRO


@dataclass
class IkeSocket:
    family: int
    port: int
    sock: trio.socket.SocketType | None = None
    # the same socket as a plain (non-blocking) one: ESP moves through it without a trio
    # checkpoint per datagram (see send_nowait/receive_nowait)
    raw: _socket.socket | None = None
    _peers: dict = field(default_factory=dict)  # address text -> ip_address, for ESP rates
    _routes: dict = field(default_factory=dict)  # (src, dst) -> (ancillary data, sockaddr)
    gso: bool = True  # UDP_SEGMENT works (off after the kernel refused it)
    _segments: deque = field(default_factory=deque)  # datagrams of a GRO buffer not handed out yet

    async def open(self) -> None:
        raw = _socket.socket(self.family, _socket.SOCK_DGRAM)
        sock = trio.socket.from_stdlib_socket(raw)
        sock.setsockopt(_socket.SOL_SOCKET, _socket.SO_REUSEADDR, 1)
        if self.family == _socket.AF_INET6:
            sock.setsockopt(_socket.IPPROTO_IPV6, _socket.IPV6_V6ONLY, 1)
            sock.setsockopt(_socket.IPPROTO_IPV6, IPV6_RECVPKTINFO, 1)
            await sock.bind(("::", self.port))
        else:
            sock.setsockopt(_socket.IPPROTO_IP, IP_PKTINFO, 1)
            await sock.bind(("0.0.0.0", self.port))
        self.sock, self.raw = sock, raw
        if self.port == 0:
            self.port = sock.getsockname()[1]

    def enable_esp_in_udp(self) -> None:
        """Let the kernel's XFRM layer take ESP-in-UDP off this socket (charon does it on the
        NAT-T port); IKE datagrams, which start with the zero marker, still reach us."""
        assert self.sock is not None
        self.sock.setsockopt(_socket.IPPROTO_UDP, UDP_ENCAP, UDP_ENCAP_ESPINUDP)

    def enable_gro(self) -> bool:
        """Receive bursts of ESP sent with UDP GSO as one buffer (split again in ``_unpack``)."""
        assert self.raw is not None
        try:
            self.raw.setsockopt(SOL_UDP, UDP_GRO, 1)
        except OSError as exc:
            log.debug("UDP_GRO not available on port %d: %s", self.port, exc)
            return False
        return True

    def grow_receive_buffer(self, size: int) -> int:
        """Let SIZE bytes queue (beyond net.core.rmem_max where we may: SO_RCVBUFFORCE needs
        CAP_NET_ADMIN); returns what the kernel granted (it reports twice the payload room)."""
        assert self.raw is not None
        try:
            self.raw.setsockopt(_socket.SOL_SOCKET, SO_RCVBUFFORCE, size)
        except OSError:
            self.raw.setsockopt(_socket.SOL_SOCKET, _socket.SO_RCVBUF, size)
        return self.raw.getsockopt(_socket.SOL_SOCKET, _socket.SO_RCVBUF)

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()

    async def receive(self) -> tuple[bytes, Endpoint, Endpoint]:
        """One datagram with its source and the local address it was sent to."""
        assert self.sock is not None
        if self._segments:
            await trio.lowlevel.checkpoint()
            return self._segments.popleft()
        return self._unpack(*await self.sock.recvmsg(MAX_DATAGRAM, _ANC_SIZE))

    def receive_nowait(self) -> tuple[bytes, Endpoint, Endpoint] | None:
        """A datagram that is already queued, or None (never waits, never yields)."""
        assert self.raw is not None
        if self._segments:
            return self._segments.popleft()
        try:
            return self._unpack(*self.raw.recvmsg(MAX_DATAGRAM, _ANC_SIZE))
        except (BlockingIOError, InterruptedError):
            return None

    def _unpack(self, data: bytes, ancdata: list, _flags: int, addr: tuple) -> tuple[bytes, Endpoint, Endpoint]:
        local = self._local_address(ancdata)
        src, dst = (self._peer(addr[0]), addr[1]), (local, self.port)
        size = self._gro_size(ancdata) if len(ancdata) > 1 or (ancdata and ancdata[0][0] == SOL_UDP) else 0
        if size and len(data) > size:  # a GRO buffer: datagrams of SIZE bytes, the last maybe shorter
            view = memoryview(data)
            self._segments.extend((bytes(view[at:at + size]), src, dst) for at in range(size, len(data), size))
            data = bytes(view[:size])
        return data, src, dst

    @staticmethod
    def _gro_size(ancdata: list) -> int:
        for level, kind, value in ancdata:
            if level == SOL_UDP and kind == UDP_GRO and len(value) >= 4:
                return struct.unpack_from("=i", value)[0]
        return 0

    def _peer(self, text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
        """Parsing an address costs more than decrypting a packet: remember the few we see."""
        peer = self._peers.get(text)
        if peer is None:
            if len(self._peers) > 1024:
                self._peers.clear()
            peer = self._peers[text] = ipaddress.ip_address(text.split("%")[0])
        return peer

    def _local_address(self, ancdata: list) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
        for level, kind, value in ancdata:
            if level == _socket.IPPROTO_IP and kind == IP_PKTINFO and len(value) >= 12:
                return ipaddress.IPv4Address(value[8:12])  # ipi_addr: the header's destination
            if level == _socket.IPPROTO_IPV6 and kind == IPV6_PKTINFO and len(value) >= 16:
                return ipaddress.IPv6Address(value[:16])
        return ipaddress.ip_address("::" if self.family == _socket.AF_INET6 else "0.0.0.0")

    def _route(self, src: Endpoint, dst: Endpoint) -> tuple[list, tuple]:
        """IP_PKTINFO picking the source address, and the destination sockaddr.

        Cached by the identity of the address objects (an SA passes the same ones for every
        packet, and hashing an ipaddress object costs more than the rest of the send); the
        entry keeps those objects, so an id is never taken for another object's."""
        key = (id(src[0]), id(dst[0]), dst[1])
        found = self._routes.get(key)
        if found is not None and found[0] is src[0] and found[1] is dst[0]:
            return found[2], found[3]
        anc = []
        if not src[0].is_unspecified:
            if self.family == _socket.AF_INET6:
                anc = [(_socket.IPPROTO_IPV6, IPV6_PKTINFO, struct.pack("16sI", src[0].packed, 0))]
            else:
                anc = [(_socket.IPPROTO_IP, IP_PKTINFO, struct.pack("I4s4s", 0, src[0].packed, b"\0" * 4))]
        if len(self._routes) > 1024:
            self._routes.clear()
        addr = (str(dst[0]), dst[1])
        self._routes[key] = (src[0], dst[0], anc, addr)
        return anc, addr

    async def send(self, data: bytes, src: Endpoint, dst: Endpoint) -> None:
        assert self.sock is not None
        anc, addr = self._route(src, dst)
        try:
            await self.sock.sendmsg([data], anc, 0, addr)
        except OSError as exc:
            log.info("sending %d bytes to %s[%d] failed: %s", len(data), dst[0], dst[1], exc.strerror)

    def send_batch_nowait(self, datagrams: list[bytes], src: Endpoint, dst: Endpoint) -> int:
        """Send DATAGRAMS in order without waiting, runs of equal size (the last of a run may be
        shorter) as one UDP GSO buffer; returns how many went (or were dropped for good) before
        the socket buffer filled up."""
        assert self.raw is not None
        sent = 0
        while sent < len(datagrams):
            count = _gso_run(datagrams, sent) if self.gso else 1
            if count == 1:
                if not self.send_nowait(datagrams[sent], src, dst):
                    return sent
                sent += 1
                continue
            anc, addr = self._route(src, dst)
            segment = [(SOL_UDP, UDP_SEGMENT, struct.pack("=H", len(datagrams[sent])))]
            try:
                self.raw.sendmsg([b"".join(datagrams[sent:sent + count])], anc + segment, 0, addr)
            except (BlockingIOError, InterruptedError):
                return sent
            except OSError as exc:
                if exc.errno != errno.EINVAL:  # EINVAL: larger than the path MTU, sent one by one
                    self.gso = False
                    log.info("UDP GSO not available on port %d (%s): sending one datagram per call",
                             self.port, exc.strerror)
                for datagram in datagrams[sent:sent + count]:
                    if not self.send_nowait(datagram, src, dst):
                        return sent
                    sent += 1
                continue
            sent += count
        return sent

    def send_nowait(self, data: bytes, src: Endpoint, dst: Endpoint, *, quiet: bool = True) -> bool:
        """Send without waiting; False if the socket buffer is full (then ``await send``).

        Other send errors (no route, ...) are logged (at debug level if QUIET, as ESP does; else
        like :meth:`send`) and count as sent.
        """
        assert self.raw is not None
        anc, addr = self._route(src, dst)
        try:
            self.raw.sendmsg([data], anc, 0, addr)
        except (BlockingIOError, InterruptedError):
            return False
        except OSError as exc:
            (log.debug if quiet else log.info)("sending %d bytes to %s[%d] failed: %s", len(data), dst[0], dst[1],
                                               exc.strerror)
        return True


def _gso_run(datagrams: list[bytes], start: int) -> int:
    """How many datagrams from START one UDP GSO send can carry: equal sizes, the last may be
    shorter, within the kernel's segment and byte limits."""
    size = len(datagrams[start])
    total, end = size, start + 1
    while end < len(datagrams) and end - start < GSO_MAX_SEGMENTS:
        length = len(datagrams[end])
        if length > size or total + length > GSO_MAX_BYTES:
            break
        total += length
        end += 1
        if length < size:
            break
    return end - start


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
