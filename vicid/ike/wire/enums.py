"""IANA IKEv2 code points (RFC 7296, 7383, 9242, 9370 and the IANA registries).

Member names follow strongSwan's enum names (``%N`` renderings), so ``KeMethod.CURVE_25519.name``
is the text charon prints in ``list-sas`` and ``get-algorithms``.
"""

from __future__ import annotations

from enum import IntEnum


class ExchangeType(IntEnum):
    IKE_SA_INIT = 34
    IKE_AUTH = 35
    CREATE_CHILD_SA = 36
    INFORMATIONAL = 37
    IKE_SESSION_RESUME = 38
    IKE_INTERMEDIATE = 43  # RFC 9242
    IKE_FOLLOWUP_KE = 44  # RFC 9370


class PayloadType(IntEnum):
    NONE = 0
    SA = 33
    KE = 34
    IDi = 35
    IDr = 36
    CERT = 37
    CERTREQ = 38
    AUTH = 39
    NONCE = 40
    NOTIFY = 41
    DELETE = 42
    VENDOR_ID = 43
    TSi = 44
    TSr = 45
    SK = 46
    CP = 47
    EAP = 48
    GSPM = 49
    SKF = 53  # RFC 7383


class ProtocolId(IntEnum):
    NONE = 0
    IKE = 1
    AH = 2
    ESP = 3


class TransformType(IntEnum):
    ENCR = 1
    PRF = 2
    INTEG = 3
    KE = 4  # "D-H group" before RFC 9370
    ESN = 5
    ADDKE1 = 6
    ADDKE2 = 7
    ADDKE3 = 8
    ADDKE4 = 9
    ADDKE5 = 10
    ADDKE6 = 11
    ADDKE7 = 12


ADDKE_TYPES: tuple[TransformType, ...] = tuple(TransformType(t) for t in range(6, 13))


class EncrAlg(IntEnum):
    DES_IV64 = 1
    DES_CBC = 2
    _3DES_CBC = 3  # charon prints "3DES_CBC"; see encr_name()
    RC5_CBC = 4
    IDEA_CBC = 5
    CAST_CBC = 6
    BLOWFISH_CBC = 7
    _3IDEA = 8
    DES_IV32 = 9
    NULL = 11
    AES_CBC = 12
    AES_CTR = 13
    AES_CCM_8 = 14
    AES_CCM_12 = 15
    AES_CCM_16 = 16
    AES_GCM_8 = 18
    AES_GCM_12 = 19
    AES_GCM_16 = 20
    NULL_AES_GMAC = 21
    CAMELLIA_CBC = 23
    CAMELLIA_CTR = 24
    CAMELLIA_CCM_8 = 25
    CAMELLIA_CCM_12 = 26
    CAMELLIA_CCM_16 = 27
    CHACHA20_POLY1305 = 28
    UNDEFINED = 1024
    DES_ECB = 1025
    SERPENT_CBC = 1026
    TWOFISH_CBC = 1027
    RC2_CBC = 1028
    AES_ECB = 1029
    AES_CFB = 1030


AEAD_ALGS = frozenset({
    EncrAlg.AES_CCM_8, EncrAlg.AES_CCM_12, EncrAlg.AES_CCM_16,
    EncrAlg.AES_GCM_8, EncrAlg.AES_GCM_12, EncrAlg.AES_GCM_16,
    EncrAlg.NULL_AES_GMAC, EncrAlg.CAMELLIA_CCM_8, EncrAlg.CAMELLIA_CCM_12,
    EncrAlg.CAMELLIA_CCM_16, EncrAlg.CHACHA20_POLY1305,
})


def encr_name(alg: int) -> str:
    """charon's name for an encryption algorithm (``3DES_CBC``, not the Python-safe member name)."""
    try:
        return EncrAlg(alg).name.lstrip("_")
    except ValueError:
        return str(alg)


class PrfAlg(IntEnum):
    PRF_HMAC_MD5 = 1
    PRF_HMAC_SHA1 = 2
    PRF_HMAC_TIGER = 3
    PRF_AES128_XCBC = 4
    PRF_HMAC_SHA2_256 = 5
    PRF_HMAC_SHA2_384 = 6
    PRF_HMAC_SHA2_512 = 7
    PRF_AES128_CMAC = 8
    PRF_UNDEFINED = 1024
    PRF_FIPS_SHA1_160 = 1025
    PRF_FIPS_DES = 1026
    PRF_KEYED_SHA1 = 1027
    PRF_CAMELLIA128_XCBC = 1028


class IntegAlg(IntEnum):
    NONE = 0
    HMAC_MD5_96 = 1
    HMAC_SHA1_96 = 2
    DES_MAC = 3
    KPDK_MD5 = 4
    AES_XCBC_96 = 5
    HMAC_MD5_128 = 6
    HMAC_SHA1_160 = 7
    AES_CMAC_96 = 8
    AES_128_GMAC = 9
    AES_192_GMAC = 10
    AES_256_GMAC = 11
    HMAC_SHA2_256_128 = 12
    HMAC_SHA2_384_192 = 13
    HMAC_SHA2_512_256 = 14
    UNDEFINED = 1024
    HMAC_SHA1_128 = 1025
    HMAC_SHA2_256_96 = 1026
    HMAC_SHA2_256_256 = 1027
    HMAC_SHA2_384_384 = 1028
    HMAC_SHA2_512_512 = 1029
    CAMELLIA_XCBC_96 = 1030


class KeMethod(IntEnum):
    """Transform Type 4 (and ADDKE1..7) IDs; names as strongSwan's key_exchange_method_names."""

    KE_NONE = 0
    MODP_768 = 1
    MODP_1024 = 2
    MODP_1536 = 5
    MODP_2048 = 14
    MODP_3072 = 15
    MODP_4096 = 16
    MODP_6144 = 17
    MODP_8192 = 18
    ECP_256 = 19
    ECP_384 = 20
    ECP_521 = 21
    MODP_1024_160 = 22
    MODP_2048_224 = 23
    MODP_2048_256 = 24
    ECP_192 = 25
    ECP_224 = 26
    ECP_224_BP = 27
    ECP_256_BP = 28
    ECP_384_BP = 29
    ECP_512_BP = 30
    CURVE_25519 = 31
    CURVE_448 = 32
    GOST3410_256 = 33
    GOST3410_512 = 34
    ML_KEM_512 = 35
    ML_KEM_768 = 36
    ML_KEM_1024 = 37
    MODP_NULL = 1024
    MODP_CUSTOM = 65536


def ke_name(method: int) -> str:
    """charon's name for a KE method; private-use IDs without a name print as their number."""
    try:
        return KeMethod(method).name
    except ValueError:
        return str(method)


class Esn(IntEnum):
    NO_EXT_SEQ = 0
    EXT_SEQ = 1


class AuthMethod(IntEnum):
    RSA_SIG = 1
    PSK = 2
    DSS = 3
    ECDSA_256 = 9
    ECDSA_384 = 10
    ECDSA_521 = 11
    GSPM = 12
    NULL = 13
    DIGITAL_SIGNATURE = 14  # RFC 7427


class NotifyType(IntEnum):
    # errors (< 16384)
    UNSUPPORTED_CRITICAL_PAYLOAD = 1
    INVALID_IKE_SPI = 4
    INVALID_MAJOR_VERSION = 5
    INVALID_SYNTAX = 7
    INVALID_MESSAGE_ID = 9
    INVALID_SPI = 11
    NO_PROPOSAL_CHOSEN = 14
    INVALID_KE_PAYLOAD = 17
    AUTHENTICATION_FAILED = 24
    SINGLE_PAIR_REQUIRED = 34
    NO_ADDITIONAL_SAS = 35
    INTERNAL_ADDRESS_FAILURE = 36
    FAILED_CP_REQUIRED = 37
    TS_UNACCEPTABLE = 38
    INVALID_SELECTORS = 39
    UNACCEPTABLE_ADDRESSES = 40
    UNEXPECTED_NAT_DETECTED = 41
    USE_ASSIGNED_HoA = 42
    TEMPORARY_FAILURE = 43
    CHILD_SA_NOT_FOUND = 44
    INVALID_GROUP_ID = 45
    AUTHORIZATION_FAILED = 46
    STATE_NOT_FOUND = 47  # RFC 9370
    TS_MAX_QUEUE = 48
    # status (>= 16384)
    INITIAL_CONTACT = 16384
    SET_WINDOW_SIZE = 16385
    ADDITIONAL_TS_POSSIBLE = 16386
    IPCOMP_SUPPORTED = 16387
    NAT_DETECTION_SOURCE_IP = 16388
    NAT_DETECTION_DESTINATION_IP = 16389
    COOKIE = 16390
    USE_TRANSPORT_MODE = 16391
    HTTP_CERT_LOOKUP_SUPPORTED = 16392
    REKEY_SA = 16393
    ESP_TFC_PADDING_NOT_SUPPORTED = 16394
    NON_FIRST_FRAGMENTS_ALSO = 16395
    MOBIKE_SUPPORTED = 16396
    ADDITIONAL_IP4_ADDRESS = 16397
    ADDITIONAL_IP6_ADDRESS = 16398
    NO_ADDITIONAL_ADDRESSES = 16399
    UPDATE_SA_ADDRESSES = 16400
    COOKIE2 = 16401
    NO_NATS_ALLOWED = 16402
    AUTH_LIFETIME = 16403
    MULTIPLE_AUTH_SUPPORTED = 16404
    ANOTHER_AUTH_FOLLOWS = 16405
    REDIRECT_SUPPORTED = 16406
    REDIRECT = 16407
    REDIRECTED_FROM = 16408
    EAP_ONLY_AUTHENTICATION = 16417
    CHILDLESS_IKEV2_SUPPORTED = 16418
    IKEV2_MESSAGE_ID_SYNC_SUPPORTED = 16420
    IKEV2_MESSAGE_ID_SYNC = 16422
    IKEV2_FRAGMENTATION_SUPPORTED = 16430  # RFC 7383
    SIGNATURE_HASH_ALGORITHMS = 16431  # RFC 7427
    USE_PPK = 16435
    PPK_IDENTITY = 16436
    NO_PPK_AUTH = 16437
    INTERMEDIATE_EXCHANGE_SUPPORTED = 16438  # RFC 9242
    ADDITIONAL_KEY_EXCHANGE = 16441  # RFC 9370
    USE_AGGFRAG = 16442
    SA_RESOURCE_INFO = 16444
    USE_BEET_MODE = 40961


class CfgType(IntEnum):
    """CFG Type of a Configuration payload (RFC 7296 §3.15)."""

    CFG_REQUEST = 1
    CFG_REPLY = 2
    CFG_SET = 3
    CFG_ACK = 4


class ConfigAttr(IntEnum):
    """Configuration attribute types (RFC 7296 §3.15.1 and charon's ``attributes.h``)."""

    INTERNAL_IP4_ADDRESS = 1
    INTERNAL_IP4_NETMASK = 2
    INTERNAL_IP4_DNS = 3
    INTERNAL_IP4_NBNS = 4
    INTERNAL_ADDRESS_EXPIRY = 5
    INTERNAL_IP4_DHCP = 6
    APPLICATION_VERSION = 7
    INTERNAL_IP6_ADDRESS = 8
    INTERNAL_IP6_NETMASK = 9
    INTERNAL_IP6_DNS = 10
    INTERNAL_IP6_NBNS = 11
    INTERNAL_IP6_DHCP = 12
    INTERNAL_IP4_SUBNET = 13
    SUPPORTED_ATTRIBUTES = 14
    INTERNAL_IP6_SUBNET = 15
    MIP6_HOME_PREFIX = 16
    INTERNAL_IP6_LINK = 17
    INTERNAL_IP6_PREFIX = 18
    HOME_AGENT_ADDRESS = 19
    P_CSCF_IP4_ADDRESS = 20  # RFC 7651
    P_CSCF_IP6_ADDRESS = 21
    FTT_KAT = 22
    EXT_SRC_IP4_NAT_INFO = 23
    TIMEOUT_PERIOD_FOR_DPD = 24
    INTERNAL_DNS_DOMAIN = 25  # RFC 8598
    INTERNAL_DNSSEC_TA = 26
    INTERNAL_IP4_SERVER = 23456  # Microsoft
    INTERNAL_IP6_SERVER = 23457
    UNITY_SPLIT_INCLUDE = 28676  # Cisco Unity
    UNITY_LOCAL_LAN = 28678


def config_attr_name(attr_type: int) -> str:
    """charon's ``configuration_attribute_type_names`` rendering (the number if unknown)."""
    try:
        return ConfigAttr(attr_type).name
    except ValueError:
        return str(attr_type)
