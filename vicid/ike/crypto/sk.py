"""SK (RFC 7296 §3.14) and SKF (RFC 7383 §2.5) framing around ``crypto.cipher.SkCipher``.

Plaintext = inner payloads | padding | Pad Length. charon pads to the cipher block size with
``bs - len % bs`` bytes (block size 1 for CTR/AEAD → a single 00 byte); we do the same with
zero padding bytes (§3.14: padding MAY contain any value). The AAD (and, for classic
ciphers, the start of the ICV input) runs from the IKE header through the SK/SKF header,
with all Length fields already final.
"""

from __future__ import annotations

from vicid.ike.crypto.cipher import SkCipher
from vicid.ike.wire.buffer import DecodeError
from vicid.ike.wire.enums import PayloadType
from vicid.ike.wire.header import HEADER_LEN, IkeHeader, pack_header
from vicid.ike.wire.message import (
    Message,
    check_critical,
    decode_inner_payloads,
    encode_payload_chain,
    first_type,
)
from vicid.ike.wire.payloads import GENERIC_HEADER_LEN, Payload, SkfPayload, SkPayload

SKF_HEADER_LEN = 8


def pad(plain: bytes, block_size: int) -> bytes:
    """Append padding and the Pad Length byte (total ``bs - len % bs`` bytes)."""
    n = block_size - len(plain) % block_size
    return plain + bytes(n - 1) + bytes([n - 1])


def unpad(padded: bytes) -> bytes:
    """Strip padding; raises ``DecodeError`` if Pad Length exceeds the data."""
    if not padded or padded[-1] + 1 > len(padded):
        raise DecodeError("invalid SK padding")
    return padded[:len(padded) - padded[-1] - 1]


def padded_len(plain_len: int, block_size: int) -> int:
    """len(pad(plain, block_size)) for a plaintext of PLAIN_LEN bytes."""
    return plain_len + block_size - plain_len % block_size


def _sealed_len(cipher: SkCipher, plain_len: int) -> int:
    return cipher.iv_size + padded_len(plain_len, cipher.block_size) + cipher.icv_size


def _prefix(header: IkeHeader, clear: bytes, first_clear: int, total: int) -> bytes:
    return pack_header(header, first_clear, total) + clear


def _generic(next_payload: int, length: int) -> bytes:
    return bytes([next_payload, 0]) + length.to_bytes(2, "big")


def _seal(header: IkeHeader, clear_payloads: tuple[Payload, ...], ptype: int, first_inner: int,
          extra_head: bytes, plain: bytes, cipher: SkCipher, iv: bytes) -> bytes:
    """header | clear payloads | SK(F) header | IV | ciphertext | ICV, all lengths final."""
    clear = encode_payload_chain(clear_payloads, last_next=ptype)
    body_len = GENERIC_HEADER_LEN + len(extra_head) + _sealed_len(cipher, len(plain))
    total = HEADER_LEN + len(clear) + body_len
    aad = _prefix(header, clear, first_type(clear_payloads) or ptype, total)
    aad += _generic(first_inner, body_len) + extra_head
    return aad + iv + cipher.seal(aad, iv, pad(plain, cipher.block_size))


def protect(message: Message, cipher: SkCipher, iv: bytes, plain: bytes | None = None) -> bytes:
    """Encode ``message`` with its ``encrypted`` payloads inside one SK payload (PLAIN: those
    payloads already encoded)."""
    if plain is None:
        plain = encode_payload_chain(message.encrypted)
    return _seal(message.header, message.payloads, PayloadType.SK, first_type(message.encrypted),
                 b"", plain, cipher, iv)


def protect_fragment(message: Message, number: int, total: int, chunk: bytes,
                     cipher: SkCipher, iv: bytes) -> bytes:
    """One SKF fragment: clear payloads and the first inner type go in fragment 1 only."""
    clear = message.payloads if number == 1 else ()
    first_inner = first_type(message.encrypted) if number == 1 else PayloadType.NONE
    head = number.to_bytes(2, "big") + total.to_bytes(2, "big")
    return _seal(message.header, clear, PayloadType.SKF, first_inner, head, chunk, cipher, iv)


def _open(data: bytes, sealed: bytes, cipher: SkCipher) -> bytes:
    """Verify/decrypt the SK(F) content ``sealed`` that ends ``data``; returns the plaintext."""
    if len(sealed) <= cipher.iv_size + cipher.icv_size:
        raise DecodeError("encrypted payload too short")
    aad = bytes(data[:len(data) - len(sealed)])  # header .. SK(F) header, as received
    return unpad(cipher.open(aad, sealed[:cipher.iv_size], sealed[cipher.iv_size:]))


def decode_inner(plain: bytes, first_inner: int) -> tuple[Payload, ...]:
    """Decode decrypted inner payloads. Raises ``DecodeError`` or ``UnsupportedCriticalPayload``."""
    inner = decode_inner_payloads(plain, first_inner)
    check_critical(inner)
    return tuple(inner)


def unprotect(data: bytes, message: Message, cipher: SkCipher) -> Message:
    """Decrypt the SK payload of ``message`` (decoded from ``data``).

    Returns the message with SK removed and ``encrypted`` filled. Raises ``DecodeError``
    (``IntegrityError`` for a bad ICV) or ``UnsupportedCriticalPayload``."""
    sk = message.sk
    if not isinstance(sk, SkPayload):
        raise DecodeError("message has no SK payload")
    plain = _open(data, sk.data, cipher)
    return Message(message.header, message.payloads[:-1], decode_inner(plain, sk.first_inner))


def open_fragment(data: bytes, message: Message, cipher: SkCipher) -> bytes:
    """Verify and decrypt one SKF fragment; returns its plaintext chunk (RFC 7383 §2.6)."""
    skf = message.sk
    if not isinstance(skf, SkfPayload):
        raise DecodeError("message has no SKF payload")
    return _open(data, skf.data, cipher)
