"""ECP groups (RFC 5903 encoding) and Curve25519/448 (RFC 7748) on ``cryptography``."""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import ec, x448, x25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from vicid.ke import DhKeyExchange, InvalidKeData, KeMethodInfo, derive_seed


@dataclass(frozen=True)
class Curve:
    method: int
    keyword: str
    curve: type[ec.EllipticCurve]

    @property
    def field_size(self) -> int:
        return (self.curve.key_size + 7) // 8

    @property
    def info(self) -> KeMethodInfo:
        return KeMethodInfo(self.method, self.keyword)


CURVES: dict[int, Curve] = {
    c.method: c
    for c in (
        Curve(19, "ecp256", ec.SECP256R1),
        Curve(20, "ecp384", ec.SECP384R1),
        Curve(21, "ecp521", ec.SECP521R1),
        Curve(25, "ecp192", ec.SECP192R1),
        Curve(26, "ecp224", ec.SECP224R1),
        Curve(28, "ecp256bp", ec.BrainpoolP256R1),
        Curve(29, "ecp384bp", ec.BrainpoolP384R1),
        Curve(30, "ecp512bp", ec.BrainpoolP512R1),
    )
}


class EcpKeyExchange(DhKeyExchange):
    """ECDH over a NIST/Brainpool curve. Public values are X || Y without SEC1's 0x04 octet
    (RFC 5903 §7); the secret is the X coordinate of the shared point."""

    def __init__(self, curve: Curve, seed: bytes | None = None) -> None:
        super().__init__(curve.method)
        self._curve = curve
        self.value_size = 2 * curve.field_size
        if seed is None:
            self._key = ec.generate_private_key(curve.curve())
        else:
            self._key = _seeded_key(curve, seed)

    def _public(self) -> bytes:
        return self._key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)[1:]

    def _derive(self, peer: bytes) -> bytes:
        try:
            point = ec.EllipticCurvePublicKey.from_encoded_point(self._curve.curve(), b"\x04" + peer)
        except ValueError:
            raise InvalidKeData(self.method, "peer point is not on the curve") from None
        return self._key.exchange(ec.ECDH(), point)


def _seeded_key(curve: Curve, seed: bytes) -> ec.EllipticCurvePrivateKey:
    """A published private key is used as is; other seeds are hashed until the scalar is in
    [1, n-1] (OpenSSL refuses the rest), so no group order needs to be written down here."""
    material = derive_seed(seed, curve.field_size, f"ecp{curve.method}")
    for _ in range(64):
        try:
            return ec.derive_private_key(int.from_bytes(material, "big"), curve.curve())
        except ValueError:
            material = derive_seed(material + b"\x01", curve.field_size, f"ecp{curve.method}")
    raise ValueError("no valid scalar from this seed")  # ~never: each try fails with p <= 1/2


@dataclass(frozen=True)
class XCurve:
    method: int
    keyword: str
    alias: str
    size: int
    module: object

    @property
    def info(self) -> KeMethodInfo:
        return KeMethodInfo(self.method, self.keyword, (self.alias,))


XCURVES: dict[int, XCurve] = {
    31: XCurve(31, "curve25519", "x25519", 32, x25519),
    32: XCurve(32, "curve448", "x448", 56, x448),
}


class XdhKeyExchange(DhKeyExchange):
    """X25519/X448 (RFC 7748): raw little-endian u-coordinates; an all-zero result, from a
    small-order peer point, is rejected (RFC 7748 §6)."""

    def __init__(self, curve: XCurve, seed: bytes | None = None) -> None:
        super().__init__(curve.method)
        self.value_size = curve.size
        self._mod = curve.module
        cls = x25519.X25519PrivateKey if curve.method == 31 else x448.X448PrivateKey
        if seed is None:
            self._key = cls.generate()
        else:
            self._key = cls.from_private_bytes(derive_seed(seed, curve.size, f"x{curve.method}"))
        self._pub_cls = x25519.X25519PublicKey if curve.method == 31 else x448.X448PublicKey

    def _public(self) -> bytes:
        return self._key.public_key().public_bytes_raw()

    def _derive(self, peer: bytes) -> bytes:
        try:
            secret = self._key.exchange(self._pub_cls.from_public_bytes(peer))
        except ValueError:  # cryptography refuses the all-zero output itself
            raise InvalidKeData(self.method, "shared secret is all zero (small-order point)") from None
        if not any(secret):
            raise InvalidKeData(self.method, "shared secret is all zero (small-order point)")
        return secret
