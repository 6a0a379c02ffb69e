from __future__ import annotations

import hashlib

from vicid.ike.wire.natt import (
    Udp4500Kind,
    add_non_esp_marker,
    classify_4500,
    nat_detection_hash,
    needs_non_esp_marker,
)


def test_classify():
    ike = b"\x11" * 28
    assert classify_4500(add_non_esp_marker(ike)) == (Udp4500Kind.IKE, ike)
    assert classify_4500(b"\x00\x00\x10\x00" + bytes(8))[0] is Udp4500Kind.ESP
    assert classify_4500(b"\xff")[0] is Udp4500Kind.KEEPALIVE
    assert classify_4500(b"\x00\x00")[0] is Udp4500Kind.INVALID


def test_marker_rule():
    assert not needs_non_esp_marker(500, 4500)
    assert needs_non_esp_marker(4500, 4500)


def test_nat_d_hash_layout():
    spi_i, spi_r = bytes(range(8)), bytes(8)
    expected = hashlib.sha1(spi_i + spi_r + bytes([192, 0, 2, 1]) + b"\x01\xf4").digest()
    assert nat_detection_hash(spi_i, spi_r, "192.0.2.1", 500) == expected
    assert len(nat_detection_hash(spi_i, spi_r, "2001:db8::1", 4500)) == 20
