"""TUN writes with IFF_VNET_HDR: decrypted TCP segments merged into GSO packets (GRO in userspace)."""

from __future__ import annotations

import ipaddress
import os
import struct
import time

import pytest

from vicid.datapath.offload import (
    GSO_TCPV4,
    GSO_TCPV6,
    NEEDS_CSUM,
    PLAIN,
    VNET_HDR,
    VNET_HDR_LEN,
    checksum,
    coalesce,
)


def word_sum(data: bytes) -> int:
    """The textbook RFC 1071 sum, word by word, as the reference."""
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total


def finish_checksum(pkt: bytearray, start: int, offset: int) -> None:
    """What the kernel does with a NEEDS_CSUM packet it sends on: sum from START, store at OFFSET."""
    pkt[start + offset : start + offset + 2] = struct.pack("!H", 0xFFFF - word_sum(bytes(pkt[start:])))


def tcp_ok(pkt: bytes) -> bool:
    """Both checksums of a TCP/IPv4 or TCP/IPv6 packet verify."""
    if pkt[0] >> 4 == 4:
        ihl = (pkt[0] & 15) * 4
        if word_sum(pkt[:ihl]) != 0xFFFF:
            return False
        pseudo = pkt[12:20] + struct.pack("!BBH", 0, 6, len(pkt) - ihl)
        return word_sum(pseudo + pkt[ihl:]) == 0xFFFF
    pseudo = pkt[8:40] + struct.pack("!IxxxB", len(pkt) - 40, 6)
    return word_sum(pseudo + pkt[40:]) == 0xFFFF


def tcp_packet(
    payload: bytes,
    seq: int = 1000,
    flags: int = 0x18,
    v6: bool = False,
    ident: int = 7,
    options: bytes = b"\x01\x01\x08\x0a" + bytes(8),
    csum: bool = True,
) -> bytes:
    tcp = struct.pack("!HHIIBBHHH", 40000, 5001, seq, 555, (20 + len(options)) // 4 << 4, flags, 500, 0, 0)
    tcp += options
    if v6:
        src, dst = ipaddress.ip_address("2001:db8::1").packed, ipaddress.ip_address("2001:db8::2").packed
        ip = struct.pack("!IHBB16s16s", 6 << 28, len(tcp) + len(payload), 6, 64, src, dst)
        pseudo = src + dst + struct.pack("!IxxxB", len(tcp) + len(payload), 6)
    else:
        src, dst = bytes([203, 0, 113, 1]), bytes([198, 51, 100, 1])
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp) + len(payload), ident, 0x4000, 64, 6, 0, src, dst)
        ip = ip[:10] + struct.pack("!H", 0xFFFF - word_sum(ip)) + ip[12:]
        pseudo = src + dst + struct.pack("!BBH", 0, 6, len(tcp) + len(payload))
    if csum:
        tcp = tcp[:16] + struct.pack("!H", 0xFFFF - word_sum(pseudo + tcp + payload)) + tcp[18:]
    return ip + tcp + payload


@pytest.mark.parametrize("length", [0, 1, 2, 3, 1399, 1400, 4097])
def test_checksum_matches_rfc1071(length):
    data = os.urandom(length)
    # the same sum, and 0xFFFF (never 0) where the sum is all ones
    assert checksum(data) == (0xFFFF - word_sum(data) or 0xFFFF)


@pytest.mark.parametrize("v6", [False, True])
@pytest.mark.parametrize("size", [1, 99, 100, 1000, 1001, 60000])
def test_segments_merge_into_a_valid_gso_packet(v6, size):
    payload = os.urandom(size)
    tcp_at = 40 if v6 else 20
    data_at = tcp_at + 32
    chunks = [payload[at : at + 100] for at in range(0, size, 100)]
    segments = [
        tcp_packet(
            c, seq=(0xFFFFFF00 + 100 * n) & 0xFFFFFFFF, v6=v6, ident=7 + n, flags=0x18 if n == len(chunks) - 1 else 0x10
        )
        for n, c in enumerate(chunks)
    ]
    assert all(tcp_ok(s) for s in segments)
    writes = coalesce(segments)
    assert len(writes) == -(-len(segments) // 64)  # at most 64 segments per write
    if len(segments) == 1:
        assert writes == [PLAIN + segments[0]]
        return
    merged_payload = b""
    for merged in writes:
        flags, gso_type, hdr_len, gso_size, csum_start, csum_offset = VNET_HDR.unpack_from(merged)
        packet = bytearray(merged[VNET_HDR_LEN:])
        assert (flags, gso_type, hdr_len, gso_size, csum_start, csum_offset) == (
            NEEDS_CSUM,
            GSO_TCPV6 if v6 else GSO_TCPV4,
            data_at,
            100,
            tcp_at,
            16,
        )
        merged_payload += packet[data_at:]
        finish_checksum(packet, csum_start, csum_offset)  # what the kernel would do on output
        assert tcp_ok(bytes(packet))
    assert merged_payload == payload
    assert packet[tcp_at + 13] == 0x18  # PSH of the last segment


def test_coalesce_keeps_order_and_breaks_runs():
    a = [tcp_packet(b"x" * 100, seq=1000 + 100 * i, flags=0x10) for i in range(3)]
    gap = tcp_packet(b"y" * 100, seq=5000, flags=0x10)  # not contiguous: a new run
    udp = bytes(28)  # not TCP: as it is
    short = tcp_packet(b"z" * 50, seq=5100, flags=0x10)
    after_short = tcp_packet(b"w" * 50, seq=5150, flags=0x10)  # a run ends after a short segment
    syn = tcp_packet(b"", seq=1, flags=0x02)
    writes = coalesce([*a, gap, short, after_short, udp, syn])
    assert [VNET_HDR.unpack_from(w)[1] for w in writes] == [GSO_TCPV4, GSO_TCPV4, 0, 0, 0]
    assert writes[2:] == [PLAIN + after_short, PLAIN + udp, PLAIN + syn]
    assert len(writes[0]) == VNET_HDR_LEN + 52 + 300 and len(writes[1]) == VNET_HDR_LEN + 52 + 150


def test_coalesce_needs_equal_headers():
    base = tcp_packet(b"x" * 100, seq=1000, flags=0x10)
    other_window = bytearray(tcp_packet(b"x" * 100, seq=1100, flags=0x10))
    other_window[20 + 14 : 20 + 16] = b"\x00\x01"
    assert [w[:VNET_HDR_LEN] for w in coalesce([base, bytes(other_window)])] == [PLAIN, PLAIN]
    pushed = tcp_packet(b"x" * 100, seq=1000, flags=0x18)  # PSH ends a run
    assert len(coalesce([pushed, tcp_packet(b"x" * 100, seq=1100, flags=0x10)])) == 2


def test_tun_device_with_virtio_headers():
    """A real TUN device with IFF_VNET_HDR: packets routed into it come out plain, and a burst
    written with send_many_nowait (plain packets, and a merged TCP packet) reaches the stack."""
    import ctypes
    import socket

    from tests.unit.kernel.netns import ip, namespace, require_root
    from vicid.datapath.tun import TunDevice

    require_root()
    if not os.path.exists("/dev/net/tun"):
        pytest.skip("needs /dev/net/tun")
    libc = ctypes.CDLL(None, use_errno=True)
    with namespace() as ns:
        fd_ns, own = os.open(f"/run/netns/{ns}", os.O_RDONLY), os.open("/proc/self/ns/net", os.O_RDONLY)
        try:
            assert libc.setns(fd_ns, 0x40000000) == 0  # CLONE_NEWNET: the device lives and dies in NS
            tun = TunDevice.open("vicidtest%d")
            try:
                assert tun.offload
                ip("-n", ns, "link", "set", tun.name, "up")
                ip("-n", ns, "route", "add", "198.51.100.0/24", "dev", tun.name, "src", "203.0.113.1")
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                    udp.bind(("203.0.113.1", 0))
                    udp.sendto(b"through the tunnel", ("198.51.100.7", 9))
                    packet = None
                    for _ in range(100):
                        packet = tun.receive_nowait()
                        if packet is not None and packet[9] == 17:
                            break
                        time.sleep(0.01)
                    assert packet is not None and packet[0] == 0x45 and packet[16:20] == bytes([198, 51, 100, 7])
                    assert packet.endswith(b"through the tunnel") and tun.offload_errors == 0
                    port = udp.getsockname()[1]
                    # two UDP datagrams "from the peer" in one burst
                    replies = [udp_packet(b"reply %d" % n, port) for n in range(2)]
                    assert tun.send_many_nowait(replies) == 0
                    udp.settimeout(2)
                    assert [udp.recv(100) for _ in range(2)] == [b"reply 0", b"reply 1"]
            finally:
                tun.close()
        finally:
            libc.setns(own, 0x40000000)
            os.close(own)
            os.close(fd_ns)


def udp_packet(payload: bytes, dport: int) -> bytes:
    """198.51.100.7:9 -> 203.0.113.1:DPORT, checksums right."""
    src, dst = bytes([198, 51, 100, 7]), bytes([203, 0, 113, 1])
    udp = struct.pack("!HHHH", 9, dport, 8 + len(payload), 0) + payload
    pseudo = src + dst + struct.pack("!BBH", 0, 17, len(udp))
    udp = udp[:6] + struct.pack("!H", (0xFFFF - word_sum(pseudo + udp)) or 0xFFFF) + udp[8:]
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0x4000, 64, 17, 0, src, dst)
    return hdr[:10] + struct.pack("!H", 0xFFFF - word_sum(hdr)) + hdr[12:] + udp
