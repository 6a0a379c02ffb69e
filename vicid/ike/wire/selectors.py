"""Traffic Selector payloads TSi/TSr (RFC 7296 §3.13) and the security label TS (RFC 9478)."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import ClassVar

from vicid.ike.wire.buffer import DecodeError, Reader, Writer
from vicid.ike.wire.enums import PayloadType
from vicid.ike.wire.frozen import fast_init

TS_IPV4_ADDR_RANGE = 7
TS_IPV6_ADDR_RANGE = 8
TS_SECLABEL = 10
_ADDR_LEN = {TS_IPV4_ADDR_RANGE: 4, TS_IPV6_ADDR_RANGE: 16}
_SELECTOR_HEAD = struct.Struct("!BBH")  # TS Type | IP Protocol ID or RESERVED | Selector Length
_PORTS = struct.Struct("!HH")
_RANGE_HEAD = struct.Struct("!BBHHH")  # TS Type | IP Protocol ID | Selector Length | Start Port | End Port


@fast_init
@dataclass(frozen=True, slots=True)
class AddressRangeSelector:
    """IPv4 (type 7) or IPv6 (type 8) address range selector.

    ```
    |   TS Type     |IP Protocol ID*|       Selector Length         |
    |           Start Port*         |           End Port*           |
    ~                         Starting Address*                     ~
    ~                         Ending Address*                       ~
    ```
    """

    ts_type: int
    ip_proto: int
    start_port: int
    end_port: int
    start_addr: bytes
    end_addr: bytes


@fast_init
@dataclass(frozen=True, slots=True)
class SecurityLabelSelector:
    """Security label selector (type 10, RFC 9478 §3); the label must not be empty.

    ```
    |   TS Type     |    Reserved   |       Selector Length         |
    ~                         Security Label*                       ~
    ```
    """

    label: bytes
    ts_type: ClassVar[int] = TS_SECLABEL


@fast_init
@dataclass(frozen=True, slots=True)
class UnknownSelector:
    """A TS type we do not know; kept so selection can ignore it, as charon does."""

    ts_type: int
    second_byte: int
    data: bytes


Selector = AddressRangeSelector | SecurityLabelSelector | UnknownSelector


@fast_init
@dataclass(frozen=True, slots=True)
class TsPayload:
    """Traffic Selector payload body.

    ```
    | Next Payload  |C|  RESERVED   |         Payload Length        |
    | Number of TSs |                 RESERVED                      |
    ~                       <Traffic Selectors>                     ~
    ```
    """

    selectors: tuple[Selector, ...]


@fast_init
@dataclass(frozen=True, slots=True)
class TsiPayload(TsPayload):
    payload_type: ClassVar[PayloadType] = PayloadType.TSi


@fast_init
@dataclass(frozen=True, slots=True)
class TsrPayload(TsPayload):
    payload_type: ClassVar[PayloadType] = PayloadType.TSr


# Address range selectors by their wire bytes: a peer sends the same few again and again, and
# the decoded selectors are immutable. Only valid ones are kept; bounded, the bytes come from peers.
_RANGES: dict[bytes, AddressRangeSelector] = {}
_RANGES_MAX = 256


def _decode_range(raw: bytes, ts_type: int, proto: int, n: int) -> AddressRangeSelector:
    start_port, end_port = _PORTS.unpack_from(raw, 4)
    # Same rule as charon: start > end only for OPAQUE (start 65535 or end 0).
    if start_port > end_port and start_port != 0xFFFF and end_port != 0:
        raise DecodeError(f"TS port range {start_port}-{end_port}")
    return AddressRangeSelector(ts_type, proto, start_port, end_port, raw[8:8 + n], raw[8 + n:])


def _decode_selector_at(buf: bytes, pos: int, end: int) -> tuple[Selector, int]:
    """One selector at buf[pos:end]: (selector, position after it)."""
    if end - pos < 4:
        raise DecodeError(f"truncated: need 4 bytes, {end - pos} left")
    ts_type, second, length = _SELECTOR_HEAD.unpack_from(buf, pos)
    if length < 4:
        raise DecodeError(f"TS length {length} < 4")
    s_end = pos + length
    if s_end > end:
        raise DecodeError(f"truncated: need {length - 4} bytes, {end - pos - 4} left")
    n = _ADDR_LEN.get(ts_type)
    if n is not None:
        # ports and both addresses fill the selector exactly
        if length != 8 + 2 * n:
            raise DecodeError(f"address range selector of {length} bytes")
        raw = buf[pos:s_end]
        selector = _RANGES.get(raw)
        if selector is None:
            selector = _decode_range(raw, ts_type, second, n)
            if len(_RANGES) >= _RANGES_MAX:
                _RANGES.clear()
            _RANGES[raw] = selector
        return selector, s_end
    if ts_type == TS_SECLABEL:
        if length == 4:
            raise DecodeError("empty security label")  # RFC 9478 §3
        return SecurityLabelSelector(buf[pos + 4:s_end]), s_end
    return UnknownSelector(ts_type, second, buf[pos + 4:s_end]), s_end


def decode_selector(r: Reader) -> Selector:
    """Decode one traffic selector substructure. Raises only ``DecodeError``."""
    head = bytes(r.view(4))
    length = _SELECTOR_HEAD.unpack(head)[2]
    if length < 4:
        raise DecodeError(f"TS length {length} < 4")
    buf = head + r.bytes(length - 4)
    return _decode_selector_at(buf, 0, len(buf))[0]


def selector_bytes(s: Selector) -> bytes:
    """One traffic selector substructure."""
    if isinstance(s, AddressRangeSelector):
        n = _ADDR_LEN[s.ts_type]
        if len(s.start_addr) != n or len(s.end_addr) != n:
            raise ValueError("address length does not match TS type")
        return _RANGE_HEAD.pack(s.ts_type, s.ip_proto, 8 + 2 * n, s.start_port, s.end_port) + s.start_addr + s.end_addr
    if isinstance(s, SecurityLabelSelector):
        body, head = s.label, (TS_SECLABEL, 0)
    else:
        body, head = s.data, (s.ts_type, s.second_byte)
    return _SELECTOR_HEAD.pack(head[0], head[1], 4 + len(body)) + body


def encode_selector(w: Writer, s: Selector) -> None:
    w.bytes(selector_bytes(s))


def decode_ts_at(buf: bytes, pos: int, end: int) -> tuple[Selector, ...]:
    """The selectors of the TS payload body buf[pos:end] (bytes). Raises only ``DecodeError``."""
    if end - pos < 4:
        raise DecodeError(f"truncated: need 4 bytes, {end - pos} left")
    count = buf[pos]  # then 3 RESERVED bytes: ignored on receipt (RFC 7296 §3.13)
    pos += 4
    selectors = []
    while pos < end:
        selector, pos = _decode_selector_at(buf, pos, end)
        selectors.append(selector)
    if len(selectors) != count:
        raise DecodeError(f"TS payload announces {count} selectors, carries {len(selectors)}")
    return tuple(selectors)


def decode_tsi_at(buf: bytes, pos: int, end: int) -> TsiPayload:
    return TsiPayload(decode_ts_at(buf, pos, end))


def decode_tsr_at(buf: bytes, pos: int, end: int) -> TsrPayload:
    return TsrPayload(decode_ts_at(buf, pos, end))


def decode_tsi(r: Reader) -> TsiPayload:
    """Decode a TSi payload body. Raises only ``DecodeError``."""
    data = r.rest()
    return TsiPayload(decode_ts_at(data, 0, len(data)))


def decode_tsr(r: Reader) -> TsrPayload:
    """Decode a TSr payload body. Raises only ``DecodeError``."""
    data = r.rest()
    return TsrPayload(decode_ts_at(data, 0, len(data)))


def encode_ts_bytes(p: TsPayload) -> bytes:
    """The TSi/TSr payload body of ``p``."""
    return bytes([len(p.selectors), 0, 0, 0]) + b"".join([selector_bytes(s) for s in p.selectors])


def encode_ts(w: Writer, p: TsPayload) -> None:
    w.bytes(encode_ts_bytes(p))
