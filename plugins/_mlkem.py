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


# low nibble of a byte: the top four bits of the first coefficient of a ByteEncode12 pair
_LOW_NIBBLE = bytes(b & 0x0F for b in range(256))


def check_encaps_key(params: MlKemParams, ek: bytes) -> None:
    """FIPS 203 §7.2 modulus check: every 12-bit coefficient of ek's vector part is < q.

    ByteEncode12 packs two coefficients into three bytes b0 b1 b2: c0 = b0 | (b1 & 15) << 8 and
    c1 = b1 >> 4 | b2 << 4, so checking each pair is the same as decoding, re-encoding and
    comparing, as the standard phrases it. q = 0xD01, so c0 >= q exactly when its high nibble
    (b1 & 15) is above 0xD, or is 0xD with b0 != 0; c1 >= q when b2 is above 0xD0, or is 0xD0
    with b1 >> 4 != 0. The byte columns are checked with C-speed slicing, max() and find();
    only the rare borderline bytes are looked at one by one (a per-pair Python loop cost more
    than the ML-KEM operation itself).
    """
    t = ek[: 384 * params.k]
    b0, b1, b2 = t[0::3], t[1::3], t[2::3]
    high0 = b1.translate(_LOW_NIBBLE)
    bad = max(high0, default=0) > 0x0D or max(b2, default=0) > 0xD0
    i = high0.find(0x0D)
    while not bad and i >= 0:
        bad = b0[i] != 0
        i = high0.find(0x0D, i + 1)
    i = b2.find(0xD0)
    while not bad and i >= 0:
        bad = b1[i] >> 4 != 0
        i = b2.find(0xD0, i + 1)
    if bad:
        raise InvalidKeData(params.method, "encapsulation key fails the FIPS 203 modulus check")
