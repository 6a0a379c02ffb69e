"""XFRM netlink message layouts (linux/xfrm.h) and their encoders/decoders. Pure.

pyroute2 0.9 carries no XFRM message classes, so the structures are spelled out here with
``struct`` against the kernel header; every size is asserted below. Integers are in host order
except SPIs and ports (``__be32``/``__be16``). ``decode_*`` read kernel replies and events and
raise only ``ValueError`` on short input.
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass

from vicid.kernel.selector import Selector

# message types (XFRM_MSG_BASE = 0x10)
NEWSA, DELSA, GETSA, NEWPOLICY, DELPOLICY, GETPOLICY = 0x10, 0x11, 0x12, 0x13, 0x14, 0x15
ACQUIRE, EXPIRE, UPDPOLICY, UPDSA, POLEXPIRE, FLUSHSA, FLUSHPOLICY = 0x17, 0x18, 0x19, 0x1A, 0x1B, 0x1C, 0x1D
MAPPING = 0x26
# attributes
XFRMA_ALG_AUTH, XFRMA_ALG_CRYPT, XFRMA_ENCAP, XFRMA_TMPL = 1, 2, 4, 5
XFRMA_LTIME_VAL, XFRMA_REPLAY_VAL, XFRMA_LASTUSED, XFRMA_ALG_AEAD = 9, 10, 15, 18
XFRMA_ALG_AUTH_TRUNC, XFRMA_MARK, XFRMA_REPLAY_ESN_VAL, XFRMA_IF_ID = 20, 21, 23, 31
# multicast groups (bit = 1 << (group - 1))
XFRMNLGRP_ACQUIRE, XFRMNLGRP_EXPIRE, XFRMNLGRP_MAPPING = 1, 2, 8
# state flags, modes, policy directions/actions
XFRM_STATE_NOECN, XFRM_STATE_AF_UNSPEC, XFRM_STATE_ALIGN4, XFRM_STATE_ESN = 1, 32, 64, 128
MODE_TRANSPORT, MODE_TUNNEL = 0, 1
POLICY_IN, POLICY_OUT, POLICY_FWD = 0, 1, 2
POLICY_ALLOW, POLICY_BLOCK = 0, 1
UDP_ENCAP_ESPINUDP = 2
IPPROTO_ESP, IPPROTO_AH = 50, 51
AF_INET, AF_INET6 = 2, 10
XFRM_INF = (1 << 64) - 1

NLMSG_ERROR, NLMSG_DONE = 2, 3
NLM_F_REQUEST, NLM_F_ACK = 1, 4
NLM_F_EXCL, NLM_F_CREATE = 0x200, 0x400
NLMSGHDR = struct.Struct("=IHHII")

_SEL_TAIL = struct.Struct("=HBBB3xiI")
_LFT_CFG = struct.Struct("=8Q")
_SA_TAIL = struct.Struct("=IIIIIHBBB7x")  # stats(3), seq, reqid, family, mode, replay_window, flags
_POL_TAIL = struct.Struct("=IIBBBB4x")  # priority, index, dir, action, flags, share

SELECTOR_SIZE, ID_SIZE, LFT_CUR_SIZE = 56, 24, 32
USERSA_INFO_SIZE, USERPOLICY_INFO_SIZE, USER_TMPL_SIZE = 224, 168, 64


def addr16(addr: bytes) -> bytes:
    """An address in a 16-byte ``xfrm_address_t``."""
    return addr.ljust(16, b"\0")


def ip_bytes(addr: object) -> bytes:
    return ipaddress.ip_address(addr).packed


def family_of(addr: bytes) -> int:
    return AF_INET if len(addr) == 4 else AF_INET6


def encode_selector(sel: Selector | None, family: int = AF_INET) -> bytes:
    if sel is None:
        return bytes(16 + 16 + 8) + _SEL_TAIL.pack(family, 0, 0, 0, 0, 0)
    return (addr16(sel.daddr) + addr16(sel.saddr)
            + struct.pack("!HHHH", sel.dport, sel.dport_mask, sel.sport, sel.sport_mask)
            + _SEL_TAIL.pack(AF_INET if sel.family == 4 else AF_INET6, sel.prefixlen_d, sel.prefixlen_s,
                             sel.proto, 0, 0))


def encode_id(daddr: bytes, spi: int, proto: int) -> bytes:
    return addr16(daddr) + struct.pack("!I", spi) + struct.pack("=B3x", proto)


@dataclass(frozen=True)
class Limits:
    soft_bytes: int = 0
    hard_bytes: int = 0
    soft_packets: int = 0
    hard_packets: int = 0
    soft_add_seconds: int = 0
    hard_add_seconds: int = 0

    def encode(self) -> bytes:
        def inf(value: int) -> int:
            return value or XFRM_INF
        return _LFT_CFG.pack(inf(self.soft_bytes), inf(self.hard_bytes), inf(self.soft_packets),
                             inf(self.hard_packets), self.soft_add_seconds, self.hard_add_seconds, 0, 0)


def encode_usersa_info(sel: Selector | None, daddr: bytes, spi: int, proto: int, saddr: bytes, limits: Limits,
                       reqid: int, mode: int, replay_window: int, flags: int) -> bytes:
    family = family_of(saddr)
    return (encode_selector(sel, family) + encode_id(daddr, spi, proto) + addr16(saddr) + limits.encode()
            + bytes(LFT_CUR_SIZE) + _SA_TAIL.pack(0, 0, 0, 0, reqid, family, mode, replay_window, flags))


def encode_usersa_id(daddr: bytes, spi: int, proto: int) -> bytes:
    return addr16(daddr) + struct.pack("!I", spi) + struct.pack("=HBx", family_of(daddr), proto)


def encode_userpolicy_info(sel: Selector, priority: int, direction: int, action: int) -> bytes:
    return (encode_selector(sel) + Limits().encode() + bytes(LFT_CUR_SIZE)
            + _POL_TAIL.pack(priority, 0, direction, action, 0, 0))


def encode_socket_policy(family: int, direction: int) -> bytes:
    """A per-socket allow policy (IP_XFRM_POLICY): any selector of FAMILY, no lifetimes, as
    charon's bypass_socket builds it from a zeroed xfrm_userpolicy_info."""
    return (encode_selector(None, family) + bytes(USERPOLICY_INFO_SIZE - SELECTOR_SIZE - _POL_TAIL.size)
            + _POL_TAIL.pack(0, 0, direction, POLICY_ALLOW, 0, 0))


def encode_userpolicy_id(sel: Selector, direction: int) -> bytes:
    return encode_selector(sel) + struct.pack("=IB3x", 0, direction)


def encode_user_tmpl(daddr: bytes, saddr: bytes, proto: int, reqid: int, mode: int, family: int,
                     spi: int = 0) -> bytes:
    return (encode_id(daddr, spi, proto) + struct.pack("=H2x", family) + addr16(saddr)
            + struct.pack("=IBBBxIII", reqid, mode, 0, 0, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF))


def encode_algo(name: str, key: bytes) -> bytes:
    return struct.pack("=64sI", name.encode(), len(key) * 8) + key


def encode_algo_sized(name: str, key: bytes, extra_bits: int) -> bytes:
    """``xfrm_algo_auth`` (trunc bits) and ``xfrm_algo_aead`` (ICV bits) share this layout."""
    return struct.pack("=64sII", name.encode(), len(key) * 8, extra_bits) + key


def encode_encap(sport: int, dport: int) -> bytes:
    return struct.pack("=H", UDP_ENCAP_ESPINUDP) + struct.pack("!HH", sport, dport) + bytes(2 + 16)


def encode_replay_esn(window: int) -> bytes:
    words = (window + 31) // 32
    return struct.pack("=6I", words, 0, 0, 0, 0, window) + bytes(4 * words)


def rtattr(kind: int, payload: bytes) -> bytes:
    length = 4 + len(payload)
    return struct.pack("=HH", length, kind) + payload + bytes(-length % 4)


def nlmsg(msg_type: int, flags: int, seq: int, body: bytes) -> bytes:
    return NLMSGHDR.pack(NLMSGHDR.size + len(body), msg_type, flags, seq, 0) + body


# --- decoding -----------------------------------------------------------------------------------

def split_messages(data: bytes) -> list[tuple[int, int, bytes]]:
    """(type, seq, payload) of each netlink message in one datagram."""
    out, off = [], 0
    while off + NLMSGHDR.size <= len(data):
        length, msg_type, _, seq, _ = NLMSGHDR.unpack_from(data, off)
        if length < NLMSGHDR.size or off + length > len(data):
            raise ValueError("truncated netlink message")
        out.append((msg_type, seq, data[off + NLMSGHDR.size:off + length]))
        off += (length + 3) & ~3
    return out


def attributes(data: bytes) -> dict[int, bytes]:
    attrs, off = {}, 0
    while off + 4 <= len(data):
        length, kind = struct.unpack_from("=HH", data, off)
        if length < 4 or off + length > len(data):
            break
        attrs[kind & 0x3FFF] = data[off + 4:off + length]
        off += (length + 3) & ~3
    return attrs


def decode_error(payload: bytes) -> int:
    """The (positive) errno of an NLMSG_ERROR, 0 for an ACK."""
    if len(payload) < 4:
        raise ValueError("short NLMSG_ERROR")
    return -struct.unpack_from("=i", payload)[0]


def _addr(raw: bytes, family: int) -> bytes:
    return raw[:4] if family == AF_INET else raw[:16]


def decode_selector(data: bytes) -> Selector:
    if len(data) < SELECTOR_SIZE:
        raise ValueError("short selector")
    dport, dmask, sport, smask = struct.unpack_from("!HHHH", data, 32)
    family, plen_d, plen_s, proto, _, _ = _SEL_TAIL.unpack_from(data, 40)
    return Selector(4 if family == AF_INET else 6, _addr(data[16:32], family), plen_s,
                    _addr(data[0:16], family), plen_d, proto, sport, smask, dport, dmask)


@dataclass(frozen=True)
class SaInfo:
    """What a NEWSA reply or an EXPIRE event tells about one SA."""

    daddr: bytes
    saddr: bytes
    spi: int
    proto: int
    reqid: int
    family: int
    bytes: int
    packets: int
    add_time: int
    use_time: int


def decode_usersa_info(data: bytes) -> SaInfo:
    if len(data) < USERSA_INFO_SIZE:
        raise ValueError("short xfrm_usersa_info")
    spi = struct.unpack_from("!I", data, SELECTOR_SIZE + 16)[0]
    proto = data[SELECTOR_SIZE + 20]
    cur = struct.unpack_from("=4Q", data, 160)
    _, _, _, _, reqid, family, _, _, _ = _SA_TAIL.unpack_from(data, 192)
    daddr = _addr(data[SELECTOR_SIZE:SELECTOR_SIZE + 16], family)
    saddr = _addr(data[80:96], family)
    return SaInfo(daddr, saddr, spi, proto, reqid, family, cur[0], cur[1], cur[2], cur[3])


def decode_expire(data: bytes) -> tuple[SaInfo, bool]:
    if len(data) < USERSA_INFO_SIZE + 1:
        raise ValueError("short xfrm_user_expire")
    return decode_usersa_info(data), bool(data[USERSA_INFO_SIZE])


ACQUIRE_SIZE = ID_SIZE + 16 + SELECTOR_SIZE + USERPOLICY_INFO_SIZE + 16


def decode_acquire(data: bytes) -> tuple[Selector, int]:
    """(packet selector, reqid of the policy's first template) of an ACQUIRE event."""
    if len(data) < ACQUIRE_SIZE:
        raise ValueError("short xfrm_user_acquire")
    sel = decode_selector(data[ID_SIZE + 16:])
    tmpl = attributes(data[ACQUIRE_SIZE:]).get(XFRMA_TMPL, b"")
    reqid = struct.unpack_from("=I", tmpl, 44)[0] if len(tmpl) >= USER_TMPL_SIZE else 0
    return sel, reqid


def decode_lastused(attrs: dict[int, bytes]) -> int | None:
    raw = attrs.get(XFRMA_LASTUSED)
    return struct.unpack_from("=Q", raw)[0] if raw and len(raw) >= 8 else None


assert len(encode_selector(None)) == SELECTOR_SIZE
assert len(encode_id(bytes(4), 0, 0)) == ID_SIZE
assert len(encode_usersa_info(None, bytes(4), 0, 50, bytes(4), Limits(), 0, 0, 0, 0)) == USERSA_INFO_SIZE
assert len(encode_usersa_id(bytes(4), 0, 50)) == 24
assert len(encode_user_tmpl(bytes(4), bytes(4), 50, 0, 1, AF_INET)) == USER_TMPL_SIZE
assert len(encode_encap(4500, 4500)) == 24
