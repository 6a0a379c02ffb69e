"""ML-KEM (FIPS 203) parameters and the encapsulation-key check both ML-KEM plugins share."""

from __future__ import annotations

from dataclasses import dataclass

from vicid.ke import InvalidKeData, KeMethodInfo

Q = 3329  # FIPS 203 modulus


@dataclass(frozen=True)
class MlKemParams:
    method: int
    k: int  # module rank
    ciphertext_size: int

    @property
    def encaps_key_size(self) -> int:
        return 384 * self.k + 32  # ByteEncode12(t) || rho

    @property
    def info(self) -> KeMethodInfo:
        return KeMethodInfo(self.method, f"mlkem{_LEVEL[self.k]}", is_kem=True)


_LEVEL = {2: 512, 3: 768, 4: 1024}

ML_KEM: dict[int, MlKemParams] = {
    35: MlKemParams(35, 2, 768),
    36: MlKemParams(36, 3, 1088),
    37: MlKemParams(37, 4, 1568),
}


def check_encaps_key(params: MlKemParams, ek: bytes) -> None:
    """FIPS 203 §7.2 modulus check: every 12-bit coefficient of ek's vector part is < q.

    ByteEncode12 packs two coefficients into three bytes, so checking each pair is the same
    as decoding and re-encoding and comparing, as the standard phrases it.
    """
    t = ek[: 384 * params.k]
    for i in range(0, len(t), 3):
        b0, b1, b2 = t[i], t[i + 1], t[i + 2]
        if (b0 | (b1 & 0x0F) << 8) >= Q or (b1 >> 4 | b2 << 4) >= Q:
            raise InvalidKeData(params.method, "encapsulation key fails the FIPS 203 modulus check")
