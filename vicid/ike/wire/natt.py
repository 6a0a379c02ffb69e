"""NAT traversal helpers: the non-ESP marker on UDP 4500 (RFC 3948 §2.2, RFC 7296 §2.23) and
the NAT_DETECTION_*_IP hash."""

from __future__ import annotations

import hashlib
import ipaddress
from enum import Enum

NON_ESP_MARKER = b"\x00\x00\x00\x00"
NATT_KEEPALIVE = b"\xff"  # RFC 3948 §2.3
IKE_PORT = 500
NATT_PORT = 4500


class Udp4500Kind(Enum):
    IKE = "ike"
    ESP = "esp"
    KEEPALIVE = "keepalive"
    INVALID = "invalid"


def classify_4500(datagram: bytes) -> tuple[Udp4500Kind, bytes]:
    """Split a UDP 4500 payload: IKE (marker stripped), ESP-in-UDP, or NAT keepalive."""
    if datagram == NATT_KEEPALIVE:
        return Udp4500Kind.KEEPALIVE, b""
    if len(datagram) < 8:  # too short for ESP (SPI + seq) or marker + anything
        return Udp4500Kind.INVALID, b""
    if datagram[:4] == NON_ESP_MARKER:
        return Udp4500Kind.IKE, datagram[4:]
    return Udp4500Kind.ESP, datagram


def add_non_esp_marker(message: bytes) -> bytes:
    """Prefix an IKE message sent to/from port 4500 (not part of the IKE message itself)."""
    return NON_ESP_MARKER + message


def needs_non_esp_marker(src_port: int, dst_port: int) -> bool:
    """charon adds the marker unless one of the ports is 500."""
    return src_port != IKE_PORT and dst_port != IKE_PORT


def nat_detection_hash(spi_i: bytes, spi_r: bytes, address: str | bytes, port: int) -> bytes:
    """SHA-1(SPIi | SPIr | IP | Port) (RFC 7296 §2.23); SPIr is zero in the IKE_SA_INIT request."""
    packed = address if isinstance(address, bytes) else ipaddress.ip_address(address).packed
    if len(spi_i) != 8 or len(spi_r) != 8 or len(packed) not in (4, 16):
        raise ValueError("NAT-D needs 8-byte SPIs and a 4/16-byte address")
    return hashlib.sha1(spi_i + spi_r + packed + port.to_bytes(2, "big"), usedforsecurity=False).digest()
