"""MD4 (RFC 1320 §A.5), MS-CHAPv2 (RFC 2759 §9.2) and its MSK (RFC 3079 §3.5.3) against the
RFCs' own vectors."""

from __future__ import annotations

import pytest

from vicid.ike.authenticators import mschapv2 as m
from vicid.ike.crypto.md4 import md4

MD4_VECTORS = [
    (b"", "31d6cfe0d16ae931b73c59d7e0c089c0"),
    (b"a", "bde52cb31de33e46245e05fbdbd6fb24"),
    (b"abc", "a448017aaf21d8525fc10ae87aa6729d"),
    (b"message digest", "d9130a8164549fe818874806e1c7014b"),
    (b"abcdefghijklmnopqrstuvwxyz", "d79e1c308aa5bbcdeea8ed63df412da9"),
    (b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", "043f8582f241db351ce627e153e7f0e4"),
    (b"1234567890" * 8, "e33b4ddc9c38f2199c3e7b164fcc0536"),
]


@pytest.mark.parametrize(("data", "digest"), MD4_VECTORS)
def test_md4_rfc1320(data, digest):
    assert md4(data).hex() == digest


def h(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


AUTH_CHALLENGE = h("5B 5D 7C 7D 7B 3F 2F 3E 3C 2C 60 21 32 26 26 28")
PEER_CHALLENGE = h("21 40 23 24 25 5E 26 2A 28 29 5F 2B 3A 33 7C 7E")
NT_RESPONSE = h("82 30 9E CD 8D 70 8B 5E A0 8F AA 39 81 CD 83 54 42 33 11 4A 3D 85 D6 DF")
PASSWORD_HASH = h("44 EB BA 8D 53 12 B8 D6 11 47 44 11 F5 69 89 AE")
PASSWORD_HASH_HASH = h("41 C0 0C 58 4B D2 D9 1C 40 17 A2 A1 2F A5 9F 3F")


def test_rfc2759_section9_vectors():
    assert m.nt_password_hash(b"clientPass") == PASSWORD_HASH
    assert md4(PASSWORD_HASH) == PASSWORD_HASH_HASH
    chash = m.challenge_hash(PEER_CHALLENGE, AUTH_CHALLENGE, b"User")
    assert chash == h("D0 2E 43 86 BC E9 12 26")
    assert m.challenge_response(chash, PASSWORD_HASH) == NT_RESPONSE
    auth = m.authenticator_response(PASSWORD_HASH_HASH, chash, NT_RESPONSE)
    assert "S=" + auth.hex().upper() == "S=407A5589115FD0D6209F510FE9C04566932CDA56"


def test_rfc3079_master_and_start_keys():
    assert m.master_key(PASSWORD_HASH_HASH, NT_RESPONSE) == h("FD EC E3 71 7A 8C 83 8C B3 88 E5 27 AE 3C DD 31")
    msk = m.msk_from(PASSWORD_HASH_HASH, NT_RESPONSE)
    # MasterSendKey seen from the server is RFC 3079's SendStartKey128 (Magic3)
    assert msk[16:32] == h("8B 7C DC 14 9B 99 3A 1B A1 18 CB 15 3F 56 DC CB")
    assert len(msk) == 64 and msk[32:] == bytes(32)


def test_des_key_expansion_sets_odd_parity():
    key = m.expand_des_key(bytes.fromhex("fffffffffffff0"))
    assert len(key) == 8
    assert all(bin(b).count("1") % 2 == 1 for b in key)
    assert m.expand_des_key(bytes(7)) == bytes([1] * 8)


def test_username_and_unicode_password():
    assert m.extract_username(b"EXAMPLE\\carol") == b"carol"
    assert m.extract_username(b"carol@example.org") == b"carol@example.org"
    # non-ASCII passwords are hashed as UTF-16LE like charon's utf8_to_utf16le
    assert m.nt_password_hash("grüße".encode()) == md4("grüße".encode("utf-16-le"))
