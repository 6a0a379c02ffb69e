"""ENCR / INTEG / PRF transform registry: key, IV, ICV, salt and block sizes (RFC 7296 §3.3.2).

Sizes are in bytes unless a name says bits. Only algorithms ``cryptography`` implements are
listed; proposal selection must treat everything else as unsupported.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from vicid.ike.wire.enums import EncrAlg, IntegAlg, PrfAlg


class Mode(Enum):
    CBC = "cbc"
    CTR = "ctr"
    GCM = "gcm"
    CCM = "ccm"
    CHACHA20_POLY1305 = "chacha20-poly1305"
    NULL = "null"
    GMAC = "gmac"


@dataclass(frozen=True, slots=True)
class EncrInfo:
    alg: EncrAlg
    mode: Mode
    key_bits: tuple[int, ...]  # allowed Key Length attribute values; () = attribute forbidden
    default_key_bits: int  # used when no attribute is sent (e.g. ChaCha20: 256)
    iv_size: int
    block_size: int  # padding granularity for the SK payload (1 for stream/AEAD modes)
    icv_size: int = 0  # AEAD tag length; 0 for non-AEAD
    salt_size: int = 0  # extra key bytes appended to the cipher key (RFC 4106/4309/5930/7634)

    @property
    def is_aead(self) -> bool:
        return self.mode in (Mode.GCM, Mode.CCM, Mode.CHACHA20_POLY1305, Mode.GMAC)

    def key_size(self, key_bits: int | None) -> int:
        """Bytes of keying material: cipher key plus salt/nonce (RFC 7296 §2.14)."""
        bits = key_bits if key_bits else self.default_key_bits
        if self.key_bits and bits not in self.key_bits:
            raise ValueError(f"{self.alg.name} has no {bits}-bit key")
        return bits // 8 + self.salt_size


_AES = (128, 192, 256)


def _gcm(alg: EncrAlg, icv: int) -> EncrInfo:
    return EncrInfo(alg, Mode.GCM, _AES, 0, 8, 1, icv, 4)  # RFC 4106 / 5282


def _ccm(alg: EncrAlg, icv: int) -> EncrInfo:
    return EncrInfo(alg, Mode.CCM, _AES, 0, 8, 1, icv, 3)  # RFC 4309 / 5282


ENCR: dict[int, EncrInfo] = {
    EncrAlg.AES_CBC: EncrInfo(EncrAlg.AES_CBC, Mode.CBC, _AES, 0, 16, 16),  # RFC 3602
    EncrAlg.AES_CTR: EncrInfo(EncrAlg.AES_CTR, Mode.CTR, _AES, 0, 8, 1, 0, 4),  # RFC 5930
    EncrAlg.AES_GCM_8: _gcm(EncrAlg.AES_GCM_8, 8),
    EncrAlg.AES_GCM_12: _gcm(EncrAlg.AES_GCM_12, 12),
    EncrAlg.AES_GCM_16: _gcm(EncrAlg.AES_GCM_16, 16),
    EncrAlg.AES_CCM_8: _ccm(EncrAlg.AES_CCM_8, 8),
    EncrAlg.AES_CCM_12: _ccm(EncrAlg.AES_CCM_12, 12),
    EncrAlg.AES_CCM_16: _ccm(EncrAlg.AES_CCM_16, 16),
    EncrAlg.CHACHA20_POLY1305: EncrInfo(  # RFC 7634: no Key Length attribute
        EncrAlg.CHACHA20_POLY1305, Mode.CHACHA20_POLY1305, (), 256, 8, 1, 16, 4),
    EncrAlg.NULL_AES_GMAC: EncrInfo(EncrAlg.NULL_AES_GMAC, Mode.GMAC, _AES, 0, 8, 1, 16, 4),  # ESP
    EncrAlg.NULL: EncrInfo(EncrAlg.NULL, Mode.NULL, (), 0, 0, 1),  # ESP only
}


@dataclass(frozen=True, slots=True)
class IntegInfo:
    alg: IntegAlg
    mac: str  # "hmac-<hash>", "xcbc" or "cmac"
    key_size: int
    icv_size: int


INTEG: dict[int, IntegInfo] = {
    IntegAlg.HMAC_MD5_96: IntegInfo(IntegAlg.HMAC_MD5_96, "hmac-md5", 16, 12),  # RFC 2403
    IntegAlg.HMAC_SHA1_96: IntegInfo(IntegAlg.HMAC_SHA1_96, "hmac-sha1", 20, 12),  # RFC 2404
    IntegAlg.AES_XCBC_96: IntegInfo(IntegAlg.AES_XCBC_96, "xcbc", 16, 12),  # RFC 3566
    IntegAlg.AES_CMAC_96: IntegInfo(IntegAlg.AES_CMAC_96, "cmac", 16, 12),  # RFC 4494
    IntegAlg.HMAC_SHA2_256_128: IntegInfo(IntegAlg.HMAC_SHA2_256_128, "hmac-sha256", 32, 16),
    IntegAlg.HMAC_SHA2_384_192: IntegInfo(IntegAlg.HMAC_SHA2_384_192, "hmac-sha384", 48, 24),
    IntegAlg.HMAC_SHA2_512_256: IntegInfo(IntegAlg.HMAC_SHA2_512_256, "hmac-sha512", 64, 32),
}  # RFC 4868 for the SHA-2 variants


@dataclass(frozen=True, slots=True)
class PrfInfo:
    alg: PrfAlg
    mac: str
    key_size: int  # preferred key size = SK_d/SK_p length (RFC 7296 §2.13)
    output_size: int
    fixed_key: bool = False  # XCBC/CMAC: 128-bit key (nonces truncated for SKEYSEED)


PRF: dict[int, PrfInfo] = {
    PrfAlg.PRF_HMAC_MD5: PrfInfo(PrfAlg.PRF_HMAC_MD5, "hmac-md5", 16, 16),
    PrfAlg.PRF_HMAC_SHA1: PrfInfo(PrfAlg.PRF_HMAC_SHA1, "hmac-sha1", 20, 20),
    PrfAlg.PRF_AES128_XCBC: PrfInfo(PrfAlg.PRF_AES128_XCBC, "xcbc", 16, 16, True),  # RFC 4434
    PrfAlg.PRF_HMAC_SHA2_256: PrfInfo(PrfAlg.PRF_HMAC_SHA2_256, "hmac-sha256", 32, 32),
    PrfAlg.PRF_HMAC_SHA2_384: PrfInfo(PrfAlg.PRF_HMAC_SHA2_384, "hmac-sha384", 48, 48),
    PrfAlg.PRF_HMAC_SHA2_512: PrfInfo(PrfAlg.PRF_HMAC_SHA2_512, "hmac-sha512", 64, 64),
    PrfAlg.PRF_AES128_CMAC: PrfInfo(PrfAlg.PRF_AES128_CMAC, "cmac", 16, 16, True),  # RFC 4615
}


def encr_info(alg: int) -> EncrInfo:
    try:
        return ENCR[alg]
    except KeyError:
        raise ValueError(f"unsupported encryption algorithm {alg}") from None


def integ_info(alg: int) -> IntegInfo:
    try:
        return INTEG[alg]
    except KeyError:
        raise ValueError(f"unsupported integrity algorithm {alg}") from None


def prf_info(alg: int) -> PrfInfo:
    try:
        return PRF[alg]
    except KeyError:
        raise ValueError(f"unsupported PRF {alg}") from None
