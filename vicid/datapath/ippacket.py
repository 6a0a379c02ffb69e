"""Just enough IPv4/IPv6 parsing for policy lookups, plus header building for transport mode. Pure.

``decode_flow`` reads untrusted bytes (from the TUN device or out of a decrypted ESP packet) and
returns None for anything it cannot use; it never raises.
"""

from __future__ import annotations

import struct
from typing import NamedTuple

IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMPV6, IPPROTO_SCTP = 1, 6, 17, 58, 132
IPPROTO_IPIP, IPPROTO_IPV6, IPPROTO_NONE = 4, 41, 59
_PORTS = (IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP, 136)  # 136: UDP-Lite
_ICMP = (IPPROTO_ICMP, IPPROTO_ICMPV6)
_V6_EXT = (0, 43, 60)  # hop-by-hop, routing, destination options: skipped to find the protocol


class Flow(NamedTuple):
    """The selector-relevant fields of one IP packet. ICMP puts type<<8|code in both ports.

    A named tuple: built for every packet in both directions, it must be cheap to make."""

    version: int
    src: bytes
    dst: bytes
    proto: int
    sport: int
    dport: int
    length: int  # total length as the header states it


_V4 = struct.Struct("!BxHxxHxB2x4s4s")  # version/IHL, total length, flags/offset, protocol, src, dst
_PORT_PAIR = struct.Struct("!HH")


def _ports(proto: int, pkt: bytes, start: int, end: int) -> tuple[int, int]:
    """Ports of the transport header at pkt[start:end] (read in place: no copy per packet)."""
    if proto in _PORTS and end - start >= 4:
        return _PORT_PAIR.unpack_from(pkt, start)
    if proto in _ICMP and end - start >= 2:
        port = pkt[start] << 8 | pkt[start + 1]
        return port, port
    return 0, 0


def _decode_v4(pkt: bytes) -> Flow | None:
    if len(pkt) < 20:
        return None
    version_ihl, total, fragment, proto, src, dst = _V4.unpack_from(pkt)
    ihl = (version_ihl & 0x0F) * 4
    if ihl < 20 or total < ihl or total > len(pkt):
        return None
    sport, dport = (0, 0) if fragment & 0x1FFF else _ports(proto, pkt, ihl, total)
    return Flow(4, src, dst, proto, sport, dport, total)


def _decode_v6(pkt: bytes) -> Flow | None:
    if len(pkt) < 40:
        return None
    total = 40 + struct.unpack_from("!H", pkt, 4)[0]
    if total > len(pkt):
        return None
    proto, off = pkt[6], 40
    while proto in _V6_EXT and off + 8 <= total:
        proto, off = pkt[off], off + (pkt[off + 1] + 1) * 8
    sport, dport = _ports(proto, pkt, off, total) if off <= total else (0, 0)
    return Flow(6, pkt[8:24], pkt[24:40], proto, sport, dport, total)


def decode_flow(pkt: bytes) -> Flow | None:
    """The flow of an IPv4/IPv6 packet, or None if it is truncated or not IP."""
    if not pkt:
        return None
    version = pkt[0] >> 4
    if version == 4:
        return _decode_v4(pkt)
    if version == 6:
        return _decode_v6(pkt)
    return None


def tunnel_next_header(pkt: bytes) -> int:
    """ESP Next Header of a tunnel-mode inner packet: IPIP (4) or IPv6 (41)."""
    return IPPROTO_IPV6 if pkt and pkt[0] >> 4 == 6 else IPPROTO_IPIP


# --- transport mode -----------------------------------------------------------------------------

def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def transport_split(pkt: bytes) -> tuple[int, bytes] | None:
    """(protocol, upper-layer payload) of a packet that transport-mode ESP protects.

    IPv6 extension headers stay in the payload (the protocol is the first header's).
    """
    flow = decode_flow(pkt)
    if flow is None:
        return None
    if flow.version == 4:
        return pkt[9], pkt[(pkt[0] & 0x0F) * 4:flow.length]
    return pkt[6], pkt[40:flow.length]


def transport_join(src: bytes, dst: bytes, proto: int, payload: bytes, ttl: int = 64) -> bytes:
    """A fresh IP header around a transport-mode payload after decryption."""
    if len(src) == 4:
        header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 0, 0x4000, ttl, proto, 0, src, dst)
        header = header[:10] + struct.pack("!H", _checksum(header)) + header[12:]
        return header + payload
    return struct.pack("!IHBB16s16s", 6 << 28, len(payload), proto, ttl, src, dst) + payload
