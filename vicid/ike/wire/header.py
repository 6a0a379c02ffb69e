"""IKE header (RFC 7296 §3.1): 28 bytes, big-endian."""

from __future__ import annotations

from dataclasses import dataclass

from vicid.ike.wire.buffer import DecodeError, Reader, Writer

HEADER_LEN = 28
FLAG_INITIATOR = 0x08
FLAG_VERSION = 0x10
FLAG_RESPONSE = 0x20
IKEV2_MAJOR = 2
ZERO_SPI = bytes(8)


@dataclass(frozen=True, slots=True)
class IkeHeader:
    """The fixed IKE header.

    ```
                         1                   2                   3
     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |                       IKE SA Initiator's SPI                  |
    |                                                               |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |                       IKE SA Responder's SPI                  |
    |                                                               |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |  Next Payload | MjVer | MnVer | Exchange Type |     Flags     |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |                          Message ID                           |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |                            Length                             |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    ```
    Flags: I (0x08, sent by the original initiator), V (0x10), R (0x20, response).
    The major version is *not* checked here: the manager answers INVALID_MAJOR_VERSION.
    """

    spi_i: bytes
    spi_r: bytes
    next_payload: int
    exchange_type: int
    message_id: int
    is_initiator: bool = False
    is_response: bool = False
    version_flag: bool = False
    length: int = 0
    major_version: int = IKEV2_MAJOR
    minor_version: int = 0

    @property
    def flags(self) -> int:
        return ((FLAG_INITIATOR if self.is_initiator else 0)
                | (FLAG_RESPONSE if self.is_response else 0)
                | (FLAG_VERSION if self.version_flag else 0))


def decode_header(r: Reader) -> IkeHeader:
    """Decode the 28-byte header from peer bytes. Raises only ``DecodeError``."""
    spi_i, spi_r = r.bytes(8), r.bytes(8)
    next_payload, version, exchange, flags = r.u8(), r.u8(), r.u8(), r.u8()
    message_id, length = r.u32(), r.u32()
    if length < HEADER_LEN:
        raise DecodeError(f"IKE header length {length} < {HEADER_LEN}")
    # RFC 7296 §3.1: the remaining flag bits MUST be ignored on receipt.
    return IkeHeader(spi_i, spi_r, next_payload, exchange, message_id,
                     bool(flags & FLAG_INITIATOR), bool(flags & FLAG_RESPONSE),
                     bool(flags & FLAG_VERSION), length, version >> 4, version & 0x0F)


def encode_header(w: Writer, h: IkeHeader) -> None:
    """Write the header; ``h.length`` must already hold the final message length."""
    if len(h.spi_i) != 8 or len(h.spi_r) != 8:
        raise ValueError("IKE SPIs are 8 bytes")
    w.bytes(h.spi_i)
    w.bytes(h.spi_r)
    w.u8(h.next_payload)
    w.u8((h.major_version << 4) | h.minor_version)
    w.u8(h.exchange_type)
    w.u8(h.flags)
    w.u32(h.message_id)
    w.u32(h.length)


def header_bytes(h: IkeHeader) -> bytes:
    w = Writer()
    encode_header(w, h)
    return w.getvalue()
