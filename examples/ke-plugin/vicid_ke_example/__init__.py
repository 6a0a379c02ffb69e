"""Toy hybrid key exchange: X25519 and ML-KEM-768 in one KE payload, private-use ID 1025.

Initiator sends ``X25519 public (32) || ML-KEM-768 ek (1184)``; the responder answers
``X25519 public (32) || ciphertext (1088)``. The secret is
SHA3-256(label || K_mlkem || K_x25519 || X25519 publics), so it stays secret if either part
holds. Written only against ``vicid.ke``; a demonstration, not a standard.
"""

from __future__ import annotations

import hashlib

from cryptography.hazmat.primitives.asymmetric import mlkem, x25519

from vicid.ke import InvalidKeData, KeFactory, KeMethodInfo, KemKeyExchange, KePlugin, KeyExchange, Settings

METHOD = 1025
_LABEL = b"vicid-ke-example x25519+mlkem768"


class ToyHybrid(KemKeyExchange):
    encaps_key_size = 32 + 1184
    ciphertext_size = 32 + 1088

    def __init__(self) -> None:
        super().__init__(METHOD)
        self._x = x25519.X25519PrivateKey.generate()
        self._kem: mlkem.MLKEM768PrivateKey | None = None
        self._peer_x = b""

    def _x_public(self) -> bytes:
        return self._x.public_key().public_bytes_raw()

    def _combine(self, k_kem: bytes, peer_x: bytes, initiator: bool) -> bytes:
        try:
            k_x = self._x.exchange(x25519.X25519PublicKey.from_public_bytes(peer_x))
        except ValueError:
            raise InvalidKeData(METHOD, "X25519 part gives an all-zero secret") from None
        pub_i, pub_r = (self._x_public(), peer_x) if initiator else (peer_x, self._x_public())
        return hashlib.sha3_256(_LABEL + k_kem + k_x + pub_i + pub_r).digest()

    def _keygen(self) -> bytes:
        self._kem = mlkem.MLKEM768PrivateKey.generate()
        return self._x_public() + self._kem.public_key().public_bytes_raw()

    def _encapsulate(self, ek: bytes) -> tuple[bytes, bytes]:
        try:
            k_kem, ct = mlkem.MLKEM768PublicKey.from_public_bytes(ek[32:]).encapsulate()
        except ValueError:
            raise InvalidKeData(METHOD, "invalid ML-KEM-768 encapsulation key") from None
        return self._x_public() + ct, self._combine(k_kem, ek[:32], initiator=False)

    def _decapsulate(self, ct: bytes) -> bytes:
        assert self._kem is not None
        return self._combine(self._kem.decapsulate(ct[32:]), ct[:32], initiator=True)


def _create(method: int, *, seed: bytes | None = None) -> KeyExchange | None:
    return ToyHybrid() if method == METHOD and seed is None else None


class ExamplePlugin(KePlugin):
    def factories(self, settings: Settings) -> list[KeFactory]:
        mlkem.MLKEM768PrivateKey.generate()  # raises UnsupportedAlgorithm without ML-KEM: logged
        info = KeMethodInfo(METHOD, "x25519mlkem768toy", is_kem=True)
        return [KeFactory(_create, (info,), requires=("cryptography>=46",))]


PLUGIN = ExamplePlugin(description="toy X25519 + ML-KEM-768 hybrid (example)")
