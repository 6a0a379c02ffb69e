"""Merging received TCP segments for a TUN device with IFF_VNET_HDR (GRO in userspace). Pure.

Every packet written to or read from such a device starts with a ``struct virtio_net_hdr``
(linux/virtio_net.h). :func:`coalesce` merges consecutive decrypted segments of one TCP stream
into one large packet that carries GSO information, so the local stack takes a burst in one
write and one trip through TCP instead of one per segment, as GRO does on a NIC; wireguard-go
does the same on its TUN device. The merged packet is written with NEEDS_CSUM and the
pseudo-header sum in its checksum field, as the kernel itself builds GRO packets; the segments
it was made of were authenticated by ESP.

The other direction stays one packet per read: TSO on the device would hand over 64 KiB at once,
but cutting it up and computing every segment's checksum in Python cost more than the reads
it saves (measured with bench/throughput.py), so no offload is enabled and reads carry an
empty header.
"""

from __future__ import annotations

import struct

VNET_HDR = struct.Struct("=BBHHHH")  # flags, gso_type, hdr_len, gso_size, csum_start, csum_offset
VNET_HDR_LEN = VNET_HDR.size
NEEDS_CSUM = 1
GSO_NONE, GSO_TCPV4, GSO_TCPV6 = 0, 1, 4
PLAIN = bytes(VNET_HDR_LEN)  # a packet with nothing to offload
IPPROTO_TCP = 6
TCP_PSH, TCP_ACK = 0x08, 0x10
MAX_MERGED = 65535  # IPv4 total length (and what one TUN write may carry)
MAX_SEGMENTS = 64

_H = struct.Struct("!H")
_SEQ = struct.Struct("!I")


def checksum(data: bytes | bytearray | memoryview) -> int:
    """The Internet checksum (RFC 1071) of DATA.

    Summing 16-bit words modulo 0xFFFF is the one's complement sum (2**16 = 1 mod 0xFFFF), and
    Python does that on the whole buffer as one big integer far faster than word by word."""
    if len(data) % 2:
        data = bytes(data) + b"\0"
    return 0xFFFF - int.from_bytes(data, "big") % 0xFFFF  # never 0: a zero sum is sent as 0xFFFF


def _pseudo_sum(pkt: bytes | bytearray, v6: bool, length: int) -> int:
    """Unfolded sum of the TCP pseudo header (addresses, protocol, TCP length)."""
    addrs = pkt[8:40] if v6 else pkt[12:20]
    return int.from_bytes(addrs, "big") + IPPROTO_TCP + length


def _fold(total: int) -> int:
    total %= 0xFFFF
    return total or 0xFFFF


# --- coalescing (the receive side) -----------------------------------------------------------


# what must be equal for two segments to merge, with the sequence number and flags in the same
# unpack: version..protocol (IPv4: all but length, ID and checksum), addresses, ports, ack and
# data offset, window; the options follow the fixed header
_V4_TCP = struct.Struct("!2s4x4s2x12sI5sB2s")
_V6_TCP = struct.Struct("!4s2x38sI5sB2s")


def _tcp(pkt: bytes) -> tuple[tuple, int, int, int] | None:
    """(key, sequence number, payload offset, flags) of a packet that may be merged: plain ACK
    (maybe PSH) TCP with data, no IP options, IPv4 not fragmented and with DF, IPv6 without
    extension headers; else None. Packets merge only if their keys are equal: all header
    fields but lengths, IPv4 ID, checksums, sequence number and flags."""
    size = len(pkt)
    if size < 41:
        return None
    if pkt[0] == 0x45:
        if pkt[9] != IPPROTO_TCP or pkt[6] != 0x40 or pkt[7] or pkt[2] << 8 | pkt[3] != size:
            return None
        ip, ip2, flow, seq, ack, flags, window = _V4_TCP.unpack_from(pkt)
        data_at = 20 + (ack[4] >> 4) * 4
        if flags & ~TCP_PSH != TCP_ACK or not 40 <= data_at < size:
            return None
        return (ip, ip2, flow, ack, window, pkt[40:data_at]), seq, data_at, flags
    if pkt[0] >> 4 != 6 or size < 61 or pkt[6] != IPPROTO_TCP or pkt[4] << 8 | pkt[5] != size - 40:
        return None
    ip, flow, seq, ack, flags, window = _V6_TCP.unpack_from(pkt)
    data_at = 40 + (ack[4] >> 4) * 4
    if flags & ~TCP_PSH != TCP_ACK or not 60 <= data_at < size:
        return None
    return (ip, flow, ack, window, pkt[60:data_at]), seq, data_at, flags


def coalesce(packets: list[bytes]) -> list[bytes]:
    """Device writes (virtio header + packet) for PACKETS, in order: runs of consecutive
    segments of one TCP stream with the same size (the last may be shorter) become one packet
    with GSO, everything else goes as it is."""
    out: list[bytes] = []
    run: list[tuple[bytes, int]] = []  # (packet, payload offset) of the segments to merge
    key: tuple = ()
    size = mss = next_seq = flags = 0  # merged packet size, segment size, next sequence number
    open_run = False  # the next segment may still join RUN
    for pkt in packets:
        seg = _tcp(pkt)
        if seg is not None:
            length = len(pkt) - seg[2]
            if (
                open_run
                and seg[0] == key
                and seg[1] == next_seq
                and length <= mss
                and len(run) < MAX_SEGMENTS
                and size + length <= MAX_MERGED
            ):
                run.append((pkt, seg[2]))
                size += length
                next_seq = (next_seq + length) & 0xFFFFFFFF
                flags = seg[3]
                open_run = length == mss and not flags & TCP_PSH
                continue
        if run:
            out.append(_merge(run, size, mss, flags))
            run = []
        if seg is None:
            out.append(PLAIN + pkt)
            open_run = False
            continue
        key, flags, mss = seg[0], seg[3], len(pkt) - seg[2]
        run, size, next_seq = [(pkt, seg[2])], len(pkt), (seg[1] + mss) & 0xFFFFFFFF
        open_run = not flags & TCP_PSH
    if run:
        out.append(_merge(run, size, mss, flags))
    return out


def _merge(run: list[tuple[bytes, int]], total: int, mss: int, last_flags: int) -> bytes:
    first, data_at = run[0]
    if len(run) == 1:
        return PLAIN + first
    v6 = first[0] >> 4 == 6
    tcp_at = 40 if v6 else 20
    header = bytearray(first[:data_at])
    if v6:
        _H.pack_into(header, 4, total - 40)
    else:
        _H.pack_into(header, 2, total)
        header[10:12] = b"\0\0"
        _H.pack_into(header, 10, checksum(header[:20]))
    header[tcp_at + 13] |= last_flags & TCP_PSH
    # CHECKSUM_PARTIAL: the field holds the folded (not inverted) pseudo-header sum
    _H.pack_into(header, tcp_at + 16, _fold(_pseudo_sum(header, v6, total - tcp_at)))
    vnet = VNET_HDR.pack(NEEDS_CSUM, GSO_TCPV6 if v6 else GSO_TCPV4, data_at, mss, tcp_at, 16)
    return b"".join([vnet, header, *(memoryview(pkt)[at:] for pkt, at in run)])
