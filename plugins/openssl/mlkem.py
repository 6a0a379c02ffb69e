"""ML-KEM via ``cryptography`` where the linked OpenSSL has it (3.5+, AWS-LC, BoringSSL)."""

from __future__ import annotations

import functools
from typing import Any

from vicid_plugins._mlkem import ML_KEM, MlKemParams, check_encaps_key

from vicid.ke import InvalidKeData, KemKeyExchange, KeSeedUnsupported, derive_seed


@functools.cache
def _classes(method: int) -> tuple[Any, Any] | None:
    """(PrivateKey, PublicKey) classes for a set, or None if this cryptography lacks them
    (looked up once: every handshake creates an object)."""
    try:
        from cryptography.hazmat.primitives.asymmetric import mlkem
    except ImportError:
        return None
    level = ML_KEM[method].info.keyword.removeprefix("mlkem")
    priv = getattr(mlkem, f"MLKEM{level}PrivateKey", None)
    pub = getattr(mlkem, f"MLKEM{level}PublicKey", None)
    return (priv, pub) if priv is not None and pub is not None else None


def available_sets() -> dict[int, str]:
    """Which of 35-37 really work at runtime, with the reason for those that do not."""
    reasons: dict[int, str] = {}
    for method in ML_KEM:
        classes = _classes(method)
        if classes is None:
            reasons[method] = "not exposed by this cryptography"
            continue
        try:
            key = classes[0].generate()
            _, ct = key.public_key().encapsulate()
            key.decapsulate(ct)
        except Exception as exc:  # UnsupportedAlgorithm, or an OpenSSL without ML-KEM
            reasons[method] = f"{type(exc).__name__}: {exc}"
            continue
        reasons[method] = ""
    return reasons


class OpensslMlKem(KemKeyExchange):
    """ML-KEM through OpenSSL. A seed fixes key generation (``d || z``, 64 bytes, as
    ``from_seed_bytes`` takes it); encapsulation randomness cannot be injected."""

    def __init__(self, params: MlKemParams, seed: bytes | None = None) -> None:
        super().__init__(params.method)
        self._params = params
        self._priv_cls, self._pub_cls = _classes(params.method) or (None, None)
        self.encaps_key_size = params.encaps_key_size
        self.ciphertext_size = params.ciphertext_size
        self._seed = seed
        self._key: Any = None

    def _keygen(self) -> bytes:
        if self._seed is None:
            self._key = self._priv_cls.generate()
        else:
            self._key = self._priv_cls.from_seed_bytes(derive_seed(self._seed, 64, f"mlkem{self.method}"))
        return self._key.public_key().public_bytes_raw()

    def _encapsulate(self, ek: bytes) -> tuple[bytes, bytes]:
        if self._seed is not None:
            raise KeSeedUnsupported("cryptography takes no randomness for ML-KEM encapsulation")
        try:
            secret, ct = self._pub_cls.from_public_bytes(ek).encapsulate()
        except ValueError:
            # OpenSSL runs the FIPS 203 checks on import but says only "invalid key": ours
            # runs on this rare path alone, to name the reason
            check_encaps_key(self._params, ek)
            raise InvalidKeData(self.method, "OpenSSL rejected the encapsulation key") from None
        return ct, secret

    def _decapsulate(self, ct: bytes) -> bytes:
        return self._key.decapsulate(ct)

    def close(self) -> None:
        super().close()
        self._key = None
