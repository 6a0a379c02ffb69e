"""MAC primitives behind the PRF and INTEG transforms: HMAC, AES-XCBC (RFC 3566/4434),
AES-CMAC (RFC 4493/4615)."""

from __future__ import annotations

import hashlib
import hmac as _stdlib_hmac
from collections.abc import Callable

from cryptography.hazmat.primitives import cmac, hashes, hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "md5": hashes.MD5, "sha1": hashes.SHA1, "sha256": hashes.SHA256,
    "sha384": hashes.SHA384, "sha512": hashes.SHA512,
}
_BLOCK = 16
_ONE_SHOT = frozenset(name for name in ("sha1", "sha256", "sha384", "sha512") if name in hashlib.algorithms_available)
_IPAD = bytes(x ^ 0x36 for x in range(256))  # RFC 2104 pads, applied with bytes.translate
_OPAD = bytes(x ^ 0x5C for x in range(256))


def hmac_digest(hash_name: str, key: bytes, data: bytes) -> bytes:
    if hash_name in _ONE_SHOT:  # OpenSSL's one-shot HMAC: no objects per call (prf+ calls it a lot)
        return _stdlib_hmac.digest(key, data, hash_name)
    h = hmac.HMAC(key, _HASHES[hash_name]())
    h.update(data)
    return h.finalize()


def _xor(a: bytes, b: bytes) -> bytes:
    return bytes(x ^ y for x, y in zip(a, b, strict=True))


def _aes_ecb(key: bytes, block: bytes) -> bytes:
    enc = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    return enc.update(block) + enc.finalize()


def xcbc_mac(key: bytes, data: bytes) -> bytes:
    """AES-XCBC-MAC (RFC 3566 §4) with a 16-byte key, full 128-bit output."""
    k1, k2, k3 = (_aes_ecb(key, bytes([i]) * _BLOCK) for i in (1, 2, 3))
    cbc = Cipher(algorithms.AES(k1), modes.CBC(bytes(_BLOCK))).encryptor()
    full = len(data) > 0 and len(data) % _BLOCK == 0
    head_len = len(data) - _BLOCK if full else len(data) - len(data) % _BLOCK
    state = (cbc.update(data[:head_len]) + cbc.finalize())[-_BLOCK:] if head_len else bytes(_BLOCK)
    last = data[head_len:]
    if full:
        last = _xor(last, k2)
    else:
        last = _xor(last + b"\x80" + bytes(_BLOCK - 1 - len(last)), k3)
    return _aes_ecb(k1, _xor(last, state))


def xcbc_prf(key: bytes, data: bytes) -> bytes:
    """AES-XCBC-PRF-128 (RFC 4434 §2): short keys are zero-padded, long keys hashed down."""
    if len(key) < _BLOCK:
        key = key + bytes(_BLOCK - len(key))
    elif len(key) > _BLOCK:
        key = xcbc_mac(bytes(_BLOCK), key)
    return xcbc_mac(key, data)


def cmac_mac(key: bytes, data: bytes) -> bytes:
    """AES-CMAC (RFC 4493), 128-bit output."""
    c = cmac.CMAC(algorithms.AES(key))
    c.update(data)
    return c.finalize()


def cmac_prf(key: bytes, data: bytes) -> bytes:
    """AES-CMAC-PRF-128 (RFC 4615 §3): any key length other than 16 is first CMAC'ed."""
    if len(key) != _BLOCK:
        key = cmac_mac(bytes(_BLOCK), key)
    return cmac_mac(key, data)


def mac(kind: str, key: bytes, data: bytes) -> bytes:
    """Untruncated MAC by registry name: "hmac-<hash>", "xcbc" or "cmac"."""
    if kind.startswith("hmac-"):
        return hmac_digest(kind[5:], key, data)
    if kind == "xcbc":
        return xcbc_prf(key, data)
    if kind == "cmac":
        return cmac_prf(key, data)
    raise ValueError(f"unknown MAC {kind}")


def mac_function(kind: str) -> Callable[[bytes, bytes], bytes]:
    """``mac(kind, ·, ·)`` with the kind resolved once (an unknown kind fails at the call, as
    ``mac`` does)."""
    hash_name = kind[5:] if kind.startswith("hmac-") else ""
    if hash_name in _ONE_SHOT:
        return lambda key, data: _stdlib_hmac.digest(key, data, hash_name)
    return lambda key, data: mac(kind, key, data)


def keyed_mac(kind: str, key: bytes) -> Callable[[bytes], bytes]:
    """``mac(kind, key, ·)`` for several messages under one key (prf+): for HMAC the padded
    key is hashed once and each message costs two hash copies (RFC 2104), about half of a
    one-shot HMAC. The state lives only as long as the returned function."""
    hash_name = kind[5:] if kind.startswith("hmac-") else ""
    if hash_name not in _ONE_SHOT:
        return lambda data: mac(kind, key, data)
    new = getattr(hashlib, hash_name)
    inner, outer = new(), new()
    if len(key) > inner.block_size:
        key = new(key).digest()
    key = key.ljust(inner.block_size, b"\0")
    inner.update(key.translate(_IPAD))
    outer.update(key.translate(_OPAD))

    def digest(data: bytes) -> bytes:
        h = inner.copy()
        h.update(data)
        o = outer.copy()
        o.update(h.digest())
        return o.digest()

    return digest
