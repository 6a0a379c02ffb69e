"""strongSwan's static proposal keywords (``proposal_keywords_static.txt``, 153 entries).

Each keyword maps to ``(transform type, algorithm id, key length in bits)``. Lookup is exact and
case-sensitive, like charon's gperf table. ``keN_<ke keyword>`` tokens are handled by the parser
in :mod:`vicid.ike.proposal`, not listed here. Plugins add key-exchange keywords at start-up
through :func:`register_token` (charon's ``proposal_keywords_t.register_token``); the static
table always wins over them.
"""

from __future__ import annotations

from vicid.ike.wire.enums import TransformType as T

KEYWORDS: dict[str, tuple[T, int, int]] = {
    'null': (T.ENCR, 11, 0),  # ENCR_NULL
    'des': (T.ENCR, 2, 0),  # ENCR_DES
    '3des': (T.ENCR, 3, 0),  # ENCR_3DES
    'aes': (T.ENCR, 12, 128),  # ENCR_AES_CBC
    'aes128': (T.ENCR, 12, 128),  # ENCR_AES_CBC
    'aes192': (T.ENCR, 12, 192),  # ENCR_AES_CBC
    'aes256': (T.ENCR, 12, 256),  # ENCR_AES_CBC
    'aes128ctr': (T.ENCR, 13, 128),  # ENCR_AES_CTR
    'aes192ctr': (T.ENCR, 13, 192),  # ENCR_AES_CTR
    'aes256ctr': (T.ENCR, 13, 256),  # ENCR_AES_CTR
    'aes128ccm8': (T.ENCR, 14, 128),  # ENCR_AES_CCM_ICV8
    'aes128ccm64': (T.ENCR, 14, 128),  # ENCR_AES_CCM_ICV8
    'aes128ccm12': (T.ENCR, 15, 128),  # ENCR_AES_CCM_ICV12
    'aes128ccm96': (T.ENCR, 15, 128),  # ENCR_AES_CCM_ICV12
    'aes128ccm16': (T.ENCR, 16, 128),  # ENCR_AES_CCM_ICV16
    'aes128ccm128': (T.ENCR, 16, 128),  # ENCR_AES_CCM_ICV16
    'aes128ccm': (T.ENCR, 16, 128),  # ENCR_AES_CCM_ICV16
    'aes192ccm8': (T.ENCR, 14, 192),  # ENCR_AES_CCM_ICV8
    'aes192ccm64': (T.ENCR, 14, 192),  # ENCR_AES_CCM_ICV8
    'aes192ccm12': (T.ENCR, 15, 192),  # ENCR_AES_CCM_ICV12
    'aes192ccm96': (T.ENCR, 15, 192),  # ENCR_AES_CCM_ICV12
    'aes192ccm16': (T.ENCR, 16, 192),  # ENCR_AES_CCM_ICV16
    'aes192ccm128': (T.ENCR, 16, 192),  # ENCR_AES_CCM_ICV16
    'aes192ccm': (T.ENCR, 16, 192),  # ENCR_AES_CCM_ICV16
    'aes256ccm8': (T.ENCR, 14, 256),  # ENCR_AES_CCM_ICV8
    'aes256ccm64': (T.ENCR, 14, 256),  # ENCR_AES_CCM_ICV8
    'aes256ccm12': (T.ENCR, 15, 256),  # ENCR_AES_CCM_ICV12
    'aes256ccm96': (T.ENCR, 15, 256),  # ENCR_AES_CCM_ICV12
    'aes256ccm16': (T.ENCR, 16, 256),  # ENCR_AES_CCM_ICV16
    'aes256ccm128': (T.ENCR, 16, 256),  # ENCR_AES_CCM_ICV16
    'aes256ccm': (T.ENCR, 16, 256),  # ENCR_AES_CCM_ICV16
    'aes128gcm8': (T.ENCR, 18, 128),  # ENCR_AES_GCM_ICV8
    'aes128gcm64': (T.ENCR, 18, 128),  # ENCR_AES_GCM_ICV8
    'aes128gcm12': (T.ENCR, 19, 128),  # ENCR_AES_GCM_ICV12
    'aes128gcm96': (T.ENCR, 19, 128),  # ENCR_AES_GCM_ICV12
    'aes128gcm16': (T.ENCR, 20, 128),  # ENCR_AES_GCM_ICV16
    'aes128gcm128': (T.ENCR, 20, 128),  # ENCR_AES_GCM_ICV16
    'aes128gcm': (T.ENCR, 20, 128),  # ENCR_AES_GCM_ICV16
    'aes192gcm8': (T.ENCR, 18, 192),  # ENCR_AES_GCM_ICV8
    'aes192gcm64': (T.ENCR, 18, 192),  # ENCR_AES_GCM_ICV8
    'aes192gcm12': (T.ENCR, 19, 192),  # ENCR_AES_GCM_ICV12
    'aes192gcm96': (T.ENCR, 19, 192),  # ENCR_AES_GCM_ICV12
    'aes192gcm16': (T.ENCR, 20, 192),  # ENCR_AES_GCM_ICV16
    'aes192gcm128': (T.ENCR, 20, 192),  # ENCR_AES_GCM_ICV16
    'aes192gcm': (T.ENCR, 20, 192),  # ENCR_AES_GCM_ICV16
    'aes256gcm8': (T.ENCR, 18, 256),  # ENCR_AES_GCM_ICV8
    'aes256gcm64': (T.ENCR, 18, 256),  # ENCR_AES_GCM_ICV8
    'aes256gcm12': (T.ENCR, 19, 256),  # ENCR_AES_GCM_ICV12
    'aes256gcm96': (T.ENCR, 19, 256),  # ENCR_AES_GCM_ICV12
    'aes256gcm16': (T.ENCR, 20, 256),  # ENCR_AES_GCM_ICV16
    'aes256gcm128': (T.ENCR, 20, 256),  # ENCR_AES_GCM_ICV16
    'aes256gcm': (T.ENCR, 20, 256),  # ENCR_AES_GCM_ICV16
    'aes128gmac': (T.ENCR, 21, 128),  # ENCR_NULL_AUTH_AES_GMAC
    'aes192gmac': (T.ENCR, 21, 192),  # ENCR_NULL_AUTH_AES_GMAC
    'aes256gmac': (T.ENCR, 21, 256),  # ENCR_NULL_AUTH_AES_GMAC
    'chacha20poly1305': (T.ENCR, 28, 0),  # ENCR_CHACHA20_POLY1305
    'chacha20poly1305compat': (T.ENCR, 28, 256),  # ENCR_CHACHA20_POLY1305
    'blowfish': (T.ENCR, 7, 128),  # ENCR_BLOWFISH
    'blowfish128': (T.ENCR, 7, 128),  # ENCR_BLOWFISH
    'blowfish192': (T.ENCR, 7, 192),  # ENCR_BLOWFISH
    'blowfish256': (T.ENCR, 7, 256),  # ENCR_BLOWFISH
    'camellia': (T.ENCR, 23, 128),  # ENCR_CAMELLIA_CBC
    'camellia128': (T.ENCR, 23, 128),  # ENCR_CAMELLIA_CBC
    'camellia192': (T.ENCR, 23, 192),  # ENCR_CAMELLIA_CBC
    'camellia256': (T.ENCR, 23, 256),  # ENCR_CAMELLIA_CBC
    'camellia128ctr': (T.ENCR, 24, 128),  # ENCR_CAMELLIA_CTR
    'camellia192ctr': (T.ENCR, 24, 192),  # ENCR_CAMELLIA_CTR
    'camellia256ctr': (T.ENCR, 24, 256),  # ENCR_CAMELLIA_CTR
    'camellia128ccm8': (T.ENCR, 25, 128),  # ENCR_CAMELLIA_CCM_ICV8
    'camellia128ccm64': (T.ENCR, 25, 128),  # ENCR_CAMELLIA_CCM_ICV8
    'camellia128ccm12': (T.ENCR, 26, 128),  # ENCR_CAMELLIA_CCM_ICV12
    'camellia128ccm96': (T.ENCR, 26, 128),  # ENCR_CAMELLIA_CCM_ICV12
    'camellia128ccm16': (T.ENCR, 27, 128),  # ENCR_CAMELLIA_CCM_ICV16
    'camellia128ccm128': (T.ENCR, 27, 128),  # ENCR_CAMELLIA_CCM_ICV16
    'camellia192ccm8': (T.ENCR, 25, 192),  # ENCR_CAMELLIA_CCM_ICV8
    'camellia192ccm64': (T.ENCR, 25, 192),  # ENCR_CAMELLIA_CCM_ICV8
    'camellia192ccm12': (T.ENCR, 26, 192),  # ENCR_CAMELLIA_CCM_ICV12
    'camellia192ccm96': (T.ENCR, 26, 192),  # ENCR_CAMELLIA_CCM_ICV12
    'camellia192ccm16': (T.ENCR, 27, 192),  # ENCR_CAMELLIA_CCM_ICV16
    'camellia192ccm128': (T.ENCR, 27, 192),  # ENCR_CAMELLIA_CCM_ICV16
    'camellia256ccm8': (T.ENCR, 25, 256),  # ENCR_CAMELLIA_CCM_ICV8
    'camellia256ccm64': (T.ENCR, 25, 256),  # ENCR_CAMELLIA_CCM_ICV8
    'camellia256ccm12': (T.ENCR, 26, 256),  # ENCR_CAMELLIA_CCM_ICV12
    'camellia256ccm96': (T.ENCR, 26, 256),  # ENCR_CAMELLIA_CCM_ICV12
    'camellia256ccm16': (T.ENCR, 27, 256),  # ENCR_CAMELLIA_CCM_ICV16
    'camellia256ccm128': (T.ENCR, 27, 256),  # ENCR_CAMELLIA_CCM_ICV16
    'cast128': (T.ENCR, 6, 128),  # ENCR_CAST
    'serpent': (T.ENCR, 1026, 128),  # ENCR_SERPENT_CBC
    'serpent128': (T.ENCR, 1026, 128),  # ENCR_SERPENT_CBC
    'serpent192': (T.ENCR, 1026, 192),  # ENCR_SERPENT_CBC
    'serpent256': (T.ENCR, 1026, 256),  # ENCR_SERPENT_CBC
    'twofish': (T.ENCR, 1027, 128),  # ENCR_TWOFISH_CBC
    'twofish128': (T.ENCR, 1027, 128),  # ENCR_TWOFISH_CBC
    'twofish192': (T.ENCR, 1027, 192),  # ENCR_TWOFISH_CBC
    'twofish256': (T.ENCR, 1027, 256),  # ENCR_TWOFISH_CBC
    'sha': (T.INTEG, 2, 0),  # AUTH_HMAC_SHA1_96
    'sha1': (T.INTEG, 2, 0),  # AUTH_HMAC_SHA1_96
    'sha1_160': (T.INTEG, 7, 0),  # AUTH_HMAC_SHA1_160
    'sha256': (T.INTEG, 12, 0),  # AUTH_HMAC_SHA2_256_128
    'sha2_256': (T.INTEG, 12, 0),  # AUTH_HMAC_SHA2_256_128
    'sha256_96': (T.INTEG, 1026, 0),  # AUTH_HMAC_SHA2_256_96
    'sha2_256_96': (T.INTEG, 1026, 0),  # AUTH_HMAC_SHA2_256_96
    'sha384': (T.INTEG, 13, 0),  # AUTH_HMAC_SHA2_384_192
    'sha2_384': (T.INTEG, 13, 0),  # AUTH_HMAC_SHA2_384_192
    'sha512': (T.INTEG, 14, 0),  # AUTH_HMAC_SHA2_512_256
    'sha2_512': (T.INTEG, 14, 0),  # AUTH_HMAC_SHA2_512_256
    'md5': (T.INTEG, 1, 0),  # AUTH_HMAC_MD5_96
    'md5_128': (T.INTEG, 6, 0),  # AUTH_HMAC_MD5_128
    'aesxcbc': (T.INTEG, 5, 0),  # AUTH_AES_XCBC_96
    'camelliaxcbc': (T.INTEG, 1030, 0),  # AUTH_CAMELLIA_XCBC_96
    'aescmac': (T.INTEG, 8, 0),  # AUTH_AES_CMAC_96
    'prfsha1': (T.PRF, 2, 0),  # PRF_HMAC_SHA1
    'prfsha256': (T.PRF, 5, 0),  # PRF_HMAC_SHA2_256
    'prfsha384': (T.PRF, 6, 0),  # PRF_HMAC_SHA2_384
    'prfsha512': (T.PRF, 7, 0),  # PRF_HMAC_SHA2_512
    'prfmd5': (T.PRF, 1, 0),  # PRF_HMAC_MD5
    'prfaesxcbc': (T.PRF, 4, 0),  # PRF_AES128_XCBC
    'prfcamelliaxcbc': (T.PRF, 1028, 0),  # PRF_CAMELLIA128_XCBC
    'prfaescmac': (T.PRF, 8, 0),  # PRF_AES128_CMAC
    'none': (T.KE, 0, 0),  # KE_NONE
    'modpnone': (T.KE, 0, 0),  # KE_NONE
    'modpnull': (T.KE, 1024, 0),  # MODP_NULL
    'modp768': (T.KE, 1, 0),  # MODP_768_BIT
    'modp1024': (T.KE, 2, 0),  # MODP_1024_BIT
    'modp1536': (T.KE, 5, 0),  # MODP_1536_BIT
    'modp2048': (T.KE, 14, 0),  # MODP_2048_BIT
    'modp3072': (T.KE, 15, 0),  # MODP_3072_BIT
    'modp4096': (T.KE, 16, 0),  # MODP_4096_BIT
    'modp6144': (T.KE, 17, 0),  # MODP_6144_BIT
    'modp8192': (T.KE, 18, 0),  # MODP_8192_BIT
    'ecp192': (T.KE, 25, 0),  # ECP_192_BIT
    'ecp224': (T.KE, 26, 0),  # ECP_224_BIT
    'ecp256': (T.KE, 19, 0),  # ECP_256_BIT
    'ecp384': (T.KE, 20, 0),  # ECP_384_BIT
    'ecp521': (T.KE, 21, 0),  # ECP_521_BIT
    'modp1024s160': (T.KE, 22, 0),  # MODP_1024_160
    'modp2048s224': (T.KE, 23, 0),  # MODP_2048_224
    'modp2048s256': (T.KE, 24, 0),  # MODP_2048_256
    'ecp224bp': (T.KE, 27, 0),  # ECP_224_BP
    'ecp256bp': (T.KE, 28, 0),  # ECP_256_BP
    'ecp384bp': (T.KE, 29, 0),  # ECP_384_BP
    'ecp512bp': (T.KE, 30, 0),  # ECP_512_BP
    'curve25519': (T.KE, 31, 0),  # CURVE_25519
    'x25519': (T.KE, 31, 0),  # CURVE_25519
    'curve448': (T.KE, 32, 0),  # CURVE_448
    'x448': (T.KE, 32, 0),  # CURVE_448
    'gost256': (T.KE, 33, 0),  # GOST3410_256
    'gost512': (T.KE, 34, 0),  # GOST3410_512
    'mlkem512': (T.KE, 35, 0),  # ML_KEM_512
    'mlkem768': (T.KE, 36, 0),  # ML_KEM_768
    'mlkem1024': (T.KE, 37, 0),  # ML_KEM_1024
    'noesn': (T.ESN, 0, 0),  # NO_EXT_SEQ_NUMBERS
    'esn': (T.ESN, 1, 0),  # EXT_SEQ_NUMBERS
}


# keywords plugins registered at run time (KE methods a third-party plugin provides)
_REGISTERED: dict[str, tuple[T, int, int]] = {}


def register_token(name: str, ttype: T, alg: int, keysize: int = 0) -> bool:
    """Add a run-time keyword; False if the static table or an earlier plugin already has it."""
    if name in KEYWORDS or name in _REGISTERED:
        return False
    _REGISTERED[name] = (ttype, alg, keysize)
    return True


def lookup_keyword(name: str) -> tuple[T, int, int] | None:
    """charon's ``get_token`` order: the static table first, then registered tokens."""
    return KEYWORDS.get(name) or _REGISTERED.get(name)
