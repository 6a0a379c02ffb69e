"""Traffic Selector payloads TSi/TSr (RFC 7296 §3.13) and the security label TS (RFC 9478)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from vicid.ike.wire.buffer import DecodeError, Reader, Writer
from vicid.ike.wire.enums import PayloadType

TS_IPV4_ADDR_RANGE = 7
TS_IPV6_ADDR_RANGE = 8
TS_SECLABEL = 10
_ADDR_LEN = {TS_IPV4_ADDR_RANGE: 4, TS_IPV6_ADDR_RANGE: 16}


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


@dataclass(frozen=True, slots=True)
class UnknownSelector:
    """A TS type we do not know; kept so selection can ignore it, as charon does."""

    ts_type: int
    second_byte: int
    data: bytes


Selector = AddressRangeSelector | SecurityLabelSelector | UnknownSelector


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


@dataclass(frozen=True, slots=True)
class TsiPayload(TsPayload):
    payload_type: ClassVar[PayloadType] = PayloadType.TSi


@dataclass(frozen=True, slots=True)
class TsrPayload(TsPayload):
    payload_type: ClassVar[PayloadType] = PayloadType.TSr


def _decode_range(ts_type: int, proto: int, r: Reader) -> AddressRangeSelector:
    n = _ADDR_LEN[ts_type]
    start_port, end_port = r.u16(), r.u16()
    start, end = r.bytes(n), r.bytes(n)
    r.expect_end("address range selector")
    # Same rule as charon: start > end only for OPAQUE (start 65535 or end 0).
    if start_port > end_port and start_port != 0xFFFF and end_port != 0:
        raise DecodeError(f"TS port range {start_port}-{end_port}")
    return AddressRangeSelector(ts_type, proto, start_port, end_port, start, end)


def decode_selector(r: Reader) -> Selector:
    """Decode one traffic selector substructure. Raises only ``DecodeError``."""
    ts_type, second, length = r.u8(), r.u8(), r.u16()
    if length < 4:
        raise DecodeError(f"TS length {length} < 4")
    body = r.sub(length - 4)
    if ts_type in _ADDR_LEN:
        return _decode_range(ts_type, second, body)
    if ts_type == TS_SECLABEL:
        label = body.rest()
        if not label:
            raise DecodeError("empty security label")  # RFC 9478 §3
        return SecurityLabelSelector(label)
    return UnknownSelector(ts_type, second, body.rest())


def encode_selector(w: Writer, s: Selector) -> None:
    if isinstance(s, AddressRangeSelector):
        if len(s.start_addr) != _ADDR_LEN[s.ts_type] or len(s.end_addr) != len(s.start_addr):
            raise ValueError("address length does not match TS type")
        body = (s.start_port.to_bytes(2, "big") + s.end_port.to_bytes(2, "big")
                + s.start_addr + s.end_addr)
        head = (s.ts_type, s.ip_proto)
    elif isinstance(s, SecurityLabelSelector):
        body, head = s.label, (TS_SECLABEL, 0)
    else:
        body, head = s.data, (s.ts_type, s.second_byte)
    w.u8(head[0])
    w.u8(head[1])
    w.u16(4 + len(body))
    w.bytes(body)


def _decode_ts(r: Reader) -> tuple[Selector, ...]:
    count = r.u8()
    r.bytes(3)  # RESERVED: ignored on receipt (RFC 7296 §3.13)
    selectors = []
    while not r.at_end():
        selectors.append(decode_selector(r))
    if len(selectors) != count:
        raise DecodeError(f"TS payload announces {count} selectors, carries {len(selectors)}")
    return tuple(selectors)


def decode_tsi(r: Reader) -> TsiPayload:
    """Decode a TSi payload body. Raises only ``DecodeError``."""
    return TsiPayload(_decode_ts(r))


def decode_tsr(r: Reader) -> TsrPayload:
    """Decode a TSr payload body. Raises only ``DecodeError``."""
    return TsrPayload(_decode_ts(r))


def encode_ts(w: Writer, p: TsPayload) -> None:
    w.u8(len(p.selectors))
    w.bytes(b"\x00\x00\x00")
    for s in p.selectors:
        encode_selector(w, s)
