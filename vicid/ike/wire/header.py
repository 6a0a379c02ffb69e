"""IKE header (RFC 7296 §3.1): 28 bytes, big-endian."""

from __future__ import annotations

import struct
from dataclasses import dataclass

from vicid.ike.wire.buffer import DecodeError, Reader, Writer
from vicid.ike.wire.frozen import fast_init

HEADER_LEN = 28
FLAG_INITIATOR = 0x08
FLAG_VERSION = 0x10
FLAG_RESPONSE = 0x20
IKEV2_MAJOR = 2
ZERO_SPI = bytes(8)
_HEADER = struct.Struct("!8s8sBBBBII")


@fast_init
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


def _header(spi_i: bytes, spi_r: bytes, next_payload: int, version: int, exchange: int, flags: int,
            message_id: int, length: int) -> IkeHeader:
    if length < HEADER_LEN:
        raise DecodeError(f"IKE header length {length} < {HEADER_LEN}")
    # RFC 7296 §3.1: the remaining flag bits MUST be ignored on receipt.
    return IkeHeader(spi_i, spi_r, next_payload, exchange, message_id, (flags & FLAG_INITIATOR) != 0,
                     (flags & FLAG_RESPONSE) != 0, (flags & FLAG_VERSION) != 0, length, version >> 4, version & 0x0F)


def decode_header_at(data: bytes | bytearray | memoryview) -> IkeHeader:
    """Decode the 28-byte header at the start of ``data``. Raises only ``DecodeError``."""
    if len(data) < HEADER_LEN:
        raise DecodeError(f"truncated: need {HEADER_LEN} bytes, {len(data)} left")
    return _header(*_HEADER.unpack_from(data))


def decode_header(r: Reader) -> IkeHeader:
    """Decode the 28-byte header from peer bytes. Raises only ``DecodeError``."""
    return _header(*r.unpack(_HEADER))


def encode_header(w: Writer, h: IkeHeader) -> None:
    """Write the header; ``h.length`` must already hold the final message length."""
    w.bytes(pack_header(h, h.next_payload, h.length))


def pack_header(h: IkeHeader, next_payload: int, length: int) -> bytes:
    """The header bytes of ``h`` with Next Payload and Length as given (the encoders know
    them only once the payloads are encoded; no new IkeHeader for that)."""
    if len(h.spi_i) != 8 or len(h.spi_r) != 8:
        raise ValueError("IKE SPIs are 8 bytes")
    flags = ((FLAG_INITIATOR if h.is_initiator else 0) | (FLAG_RESPONSE if h.is_response else 0)
             | (FLAG_VERSION if h.version_flag else 0))
    return _HEADER.pack(h.spi_i, h.spi_r, next_payload, (h.major_version << 4) | h.minor_version,
                        h.exchange_type, flags, h.message_id, length)


def header_bytes(h: IkeHeader) -> bytes:
    w = Writer()
    encode_header(w, h)
    return w.getvalue()
