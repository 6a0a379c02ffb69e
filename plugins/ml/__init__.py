"""``ml`` plugin: ML-KEM-512/768/1024 (methods 35-37, FIPS 203) on ``pqcrypto``.

pqcrypto 1.0 draws its own randomness for key generation and encapsulation, so these objects
take no seed (seeded tests use the ``openssl`` plugin or ``vicid_plugins.testing``).
"""

from __future__ import annotations

from types import ModuleType

from vicid_plugins._mlkem import ML_KEM, MlKemParams, check_encaps_key

from vicid.ke import KeFactory, KemKeyExchange, KePlugin, KeSeedUnsupported, Settings

_MODULES = {35: "ml_kem_512", 36: "ml_kem_768", 37: "ml_kem_1024"}


def _backend(method: int) -> ModuleType:
    from pqcrypto import kem  # imported late: a missing pqcrypto disables only this plugin

    return getattr(kem, _MODULES[method])


class PqcryptoMlKem(KemKeyExchange):
    """ML-KEM through pqcrypto; the role follows the call order (see KemKeyExchange)."""

    def __init__(self, params: MlKemParams, backend: ModuleType) -> None:
        super().__init__(params.method)
        self._params = params
        self._backend = backend
        self.encaps_key_size = params.encaps_key_size
        self.ciphertext_size = params.ciphertext_size
        self._dk: bytes | None = None

    @classmethod
    def with_decaps_key(cls, method: int, dk: bytes) -> PqcryptoMlKem:
        """An initiator holding a given (expanded, FIPS 203) decapsulation key: the seam for
        decapsulation vectors, since pqcrypto cannot derive keys from a seed."""
        params = ML_KEM[method]
        ke = cls(params, _backend(method))
        ek_at = 384 * params.k  # dk = dk_PKE || ek || H(ek) || z
        ke._dk = bytes(dk)
        ke._adopt_key_pair(ke._dk[ek_at : ek_at + params.encaps_key_size])
        return ke

    def _keygen(self) -> bytes:
        ek, self._dk = self._backend.keygen()
        return bytes(ek)

    def _check_encaps_key(self, ek: bytes) -> None:
        check_encaps_key(self._params, ek)

    def _encapsulate(self, ek: bytes) -> tuple[bytes, bytes]:
        ct, ss = self._backend.encaps(ek)
        return bytes(ct), bytes(ss)

    def _decapsulate(self, ct: bytes) -> bytes:
        assert self._dk is not None
        return bytes(self._backend.decaps(self._dk, ct))

    def close(self) -> None:
        super().close()
        self._dk = None


def create(method: int, *, seed: bytes | None = None) -> PqcryptoMlKem | None:
    if method not in ML_KEM:
        return None
    if seed is not None:
        raise KeSeedUnsupported("pqcrypto takes no seed for ML-KEM")
    return PqcryptoMlKem(ML_KEM[method], _backend(method))


class MlPlugin(KePlugin):
    default_priority = 2

    def factories(self, settings: Settings) -> list[KeFactory]:
        _backend(35)  # fail here, logged by the registry, if pqcrypto is broken
        return [
            KeFactory(
                create,
                provides=tuple(p.info for p in ML_KEM.values()),
                requires=("pqcrypto>=1.0",),
            )
        ]


PLUGIN = MlPlugin(description="ML-KEM (FIPS 203) via pqcrypto")
