"""Notify payload (RFC 7296 §3.10) and typed helpers for the notification data charon uses."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import ClassVar

from vicid.ike.wire.buffer import DecodeError, Reader, Writer
from vicid.ike.wire.enums import NotifyType, PayloadType, ProtocolId
from vicid.ike.wire.frozen import fast_init

# Data length rules charon enforces when parsing (notify_payload.c verify()): type -> (min, max)
NOTIFY_DATA_LENGTHS: dict[int, tuple[int, int]] = {
    NotifyType.INVALID_KE_PAYLOAD: (2, 2),
    NotifyType.NAT_DETECTION_SOURCE_IP: (20, 20),
    NotifyType.NAT_DETECTION_DESTINATION_IP: (20, 20),
    NotifyType.INVALID_SYNTAX: (0, 0),
    NotifyType.INVALID_MAJOR_VERSION: (0, 0),
    NotifyType.NO_PROPOSAL_CHOSEN: (0, 0),
    NotifyType.COOKIE: (1, 64),
    NotifyType.ADDITIONAL_IP4_ADDRESS: (4, 4),
    NotifyType.ADDITIONAL_IP6_ADDRESS: (16, 16),
    NotifyType.AUTH_LIFETIME: (4, 4),
    NotifyType.IPCOMP_SUPPORTED: (3, 3),
    NotifyType.USE_AGGFRAG: (1, 1),
}
# the notify types whose data _check_data_length checks, as plain ints
_CHECKED_TYPES = frozenset(int(t) for t in (*NOTIFY_DATA_LENGTHS, NotifyType.SIGNATURE_HASH_ALGORITHMS))
_MAX_PROTOCOL = int(ProtocolId.ESP)  # Protocol IDs are 0..3 (NONE, IKE, AH, ESP), all valid in a notify
_HEAD = struct.Struct("!BBH")  # Protocol ID | SPI Size | Notify Message Type


@fast_init
@dataclass(frozen=True, slots=True)
class NotifyPayload:
    """Notify payload body.

    ```
    | Next Payload  |C|  RESERVED   |         Payload Length        |
    |  Protocol ID  |   SPI Size    |      Notify Message Type      |
    ~                Security Parameter Index (SPI)                 ~
    ~                       Notification Data                       ~
    ```
    """

    payload_type: ClassVar[PayloadType] = PayloadType.NOTIFY
    notify_type: int
    data: bytes = b""
    protocol_id: int = ProtocolId.NONE
    spi: bytes = b""

    @property
    def is_error(self) -> bool:
        return self.notify_type < 16384  # RFC 7296 §3.10.1


def _check_data_length(notify_type: int, data: bytes) -> None:
    bounds = NOTIFY_DATA_LENGTHS.get(notify_type)
    if bounds and not bounds[0] <= len(data) <= bounds[1]:
        raise DecodeError(f"notify {notify_type} with {len(data)} bytes of data")
    if notify_type == NotifyType.SIGNATURE_HASH_ALGORITHMS and len(data) % 2:
        raise DecodeError("SIGNATURE_HASH_ALGORITHMS data of odd length")


def decode_notify_at(buf: bytes, pos: int, end: int) -> NotifyPayload:
    """Decode the Notify payload body buf[pos:end] (bytes). Raises only ``DecodeError``."""
    if end - pos < 4:
        raise DecodeError(f"truncated: need 4 bytes, {end - pos} left")
    protocol, spi_size, ntype = _HEAD.unpack_from(buf, pos)
    if protocol > _MAX_PROTOCOL:
        raise DecodeError(f"notify protocol {protocol}")
    pos += 4
    if spi_size:
        if pos + spi_size > end:
            raise DecodeError(f"truncated: need {spi_size} bytes, {end - pos} left")
        spi = buf[pos:pos + spi_size]
        pos += spi_size
    else:
        spi = b""
    data = buf[pos:end]
    if ntype in _CHECKED_TYPES:
        _check_data_length(ntype, data)
    return NotifyPayload(ntype, data, protocol, spi)


def decode_notify(r: Reader) -> NotifyPayload:
    """Decode a Notify payload body. Raises only ``DecodeError``."""
    data = r.rest()
    return decode_notify_at(data, 0, len(data))


def encode_notify_bytes(n: NotifyPayload) -> bytes:
    """The Notify payload body of ``n``."""
    return _HEAD.pack(n.protocol_id, len(n.spi), n.notify_type) + n.spi + n.data


def encode_notify(w: Writer, n: NotifyPayload) -> None:
    w.bytes(encode_notify_bytes(n))


# --- typed notification data -----------------------------------------------------------------

def cookie(value: bytes) -> NotifyPayload:
    """COOKIE (RFC 7296 §2.6): 1..64 opaque bytes."""
    if not 1 <= len(value) <= 64:
        raise ValueError("cookie must be 1..64 bytes")
    return NotifyPayload(NotifyType.COOKIE, value)


def invalid_ke_payload(method: int) -> NotifyPayload:
    """INVALID_KE_PAYLOAD carrying the 2-byte KE method the responder accepts (RFC 7296 §3.10.1)."""
    return NotifyPayload(NotifyType.INVALID_KE_PAYLOAD, method.to_bytes(2, "big"))


def decode_invalid_ke_data(data: bytes) -> int:
    """The accepted KE method from INVALID_KE_PAYLOAD data. Raises only ``DecodeError``."""
    if len(data) != 2:
        raise DecodeError("INVALID_KE_PAYLOAD data must be 2 bytes")
    return int.from_bytes(data, "big")


def rekey_sa(protocol_id: int, spi: bytes) -> NotifyPayload:
    """REKEY_SA (RFC 7296 §3.10.1): protocol + SPI of the SA being rekeyed, no data."""
    return NotifyPayload(NotifyType.REKEY_SA, b"", protocol_id, spi)


def nat_detection(notify_type: int, digest: bytes) -> NotifyPayload:
    """NAT_DETECTION_SOURCE_IP / _DESTINATION_IP with a 20-byte SHA-1 digest (§2.23)."""
    if notify_type not in (NotifyType.NAT_DETECTION_SOURCE_IP,
                           NotifyType.NAT_DETECTION_DESTINATION_IP) or len(digest) != 20:
        raise ValueError("NAT-D needs a NAT_DETECTION_* type and a 20-byte digest")
    return NotifyPayload(notify_type, digest)


def signature_hash_algorithms(hash_ids: tuple[int, ...]) -> NotifyPayload:
    """SIGNATURE_HASH_ALGORITHMS (RFC 7427 §4): a list of 2-byte hash algorithm IDs."""
    return NotifyPayload(NotifyType.SIGNATURE_HASH_ALGORITHMS,
                         b"".join(h.to_bytes(2, "big") for h in hash_ids))


def decode_signature_hash_algorithms(data: bytes) -> tuple[int, ...]:
    """Hash IDs from SIGNATURE_HASH_ALGORITHMS data. Raises only ``DecodeError``."""
    if len(data) % 2:
        raise DecodeError("SIGNATURE_HASH_ALGORITHMS data of odd length")
    return struct.unpack(f"!{len(data) // 2}H", data)


def additional_key_exchange(link: bytes) -> NotifyPayload:
    """ADDITIONAL_KEY_EXCHANGE (RFC 9370 §2.2.3): opaque link data (charon sends b"\\x42")."""
    return NotifyPayload(NotifyType.ADDITIONAL_KEY_EXCHANGE, link)


def unsupported_critical_payload(payload_type: int) -> NotifyPayload:
    """UNSUPPORTED_CRITICAL_PAYLOAD with the 1-byte offending payload type (§3.10.1)."""
    return NotifyPayload(NotifyType.UNSUPPORTED_CRITICAL_PAYLOAD, bytes([payload_type]))


def status(notify_type: int) -> NotifyPayload:
    """A data-less status notify (e.g. IKEV2_FRAGMENTATION_SUPPORTED)."""
    return NotifyPayload(notify_type)
