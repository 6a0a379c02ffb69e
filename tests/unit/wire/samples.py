"""One sample value per payload type, shared by the wire tests."""

from __future__ import annotations

from vicid.identity import IdType
from vicid.ike.wire.enums import (
    AuthMethod,
    EncrAlg,
    ExchangeType,
    IntegAlg,
    KeMethod,
    NotifyType,
    PrfAlg,
    ProtocolId,
    TransformType,
)
from vicid.ike.wire.header import IkeHeader
from vicid.ike.wire.notify import NotifyPayload
from vicid.ike.wire.payloads import (
    AuthPayload,
    CertPayload,
    CertreqPayload,
    CpAttribute,
    CpPayload,
    DeletePayload,
    EapPayload,
    IdiPayload,
    IdrPayload,
    KePayload,
    NoncePayload,
    UnknownPayload,
    VendorIdPayload,
)
from vicid.ike.wire.proposals import Proposal, SaPayload, TransformAttribute, transform
from vicid.ike.wire.selectors import (
    AddressRangeSelector,
    SecurityLabelSelector,
    TsiPayload,
    TsrPayload,
    UnknownSelector,
)

T = TransformType
SA = SaPayload((
    Proposal(1, ProtocolId.IKE, b"", (
        transform(T.ENCR, EncrAlg.AES_GCM_16, 256), transform(T.PRF, PrfAlg.PRF_HMAC_SHA2_384),
        transform(T.KE, KeMethod.CURVE_25519), transform(T.ADDKE1, KeMethod.ML_KEM_768),
        transform(T.ADDKE2, KeMethod.KE_NONE))),
    Proposal(2, ProtocolId.ESP, b"\x01\x02\x03\x04", (
        transform(T.ENCR, EncrAlg.AES_CBC, 128), transform(T.INTEG, IntegAlg.HMAC_SHA2_256_128),
        transform(T.ESN, 0),
        transform(T.ENCR, 1030).__class__(T.ENCR, 1030, (TransformAttribute(99, b"tlv"),)))),
))
TSI = TsiPayload((
    AddressRangeSelector(7, 0, 0, 65535, bytes([10, 0, 0, 0]), bytes([10, 0, 0, 255])),
    AddressRangeSelector(8, 6, 443, 443, bytes(16), b"\xff" * 16),
    SecurityLabelSelector(b"system_u:object_r:ipsec_spd_t:s0"),
    UnknownSelector(99, 1, b"xyz"),
))
TSR = TsrPayload((AddressRangeSelector(7, 17, 0xFFFF, 0, bytes(4), bytes(4)),))

ALL_PAYLOADS = [
    SA,
    KePayload(KeMethod.CURVE_25519, bytes(range(32))),
    IdiPayload(IdType.ID_FQDN, b"moon.strongswan.org"),
    IdrPayload(IdType.ID_IPV4_ADDR, bytes([192, 0, 2, 1]), b"\x01\x02\x03"),
    CertPayload(4, b"\x30\x82\x01\x00"),
    CertreqPayload(4, bytes(20) + b"\x11" * 20),
    AuthPayload(AuthMethod.PSK, b"\xaa" * 32),
    NoncePayload(b"\x5a" * 32),
    NotifyPayload(NotifyType.REKEY_SA, b"", ProtocolId.ESP, b"\xc0\xff\xee\x00"),
    NotifyPayload(NotifyType.COOKIE, b"c" * 64),
    DeletePayload(ProtocolId.ESP, (b"\x00\x00\x00\x01", b"\x00\x00\x00\x02")),
    DeletePayload(ProtocolId.IKE),
    VendorIdPayload(b"strongSwan"),
    TSI,
    TSR,
    CpPayload(1, (CpAttribute(1), CpAttribute(8, bytes(17)))),
    EapPayload(b"\x02\x07\x00\x06\x01\x41"),
    UnknownPayload(200, b"opaque", False),
]


def header(exchange: int = ExchangeType.IKE_AUTH, response: bool = False, mid: int = 1) -> IkeHeader:
    return IkeHeader(b"\x11" * 8, b"\x22" * 8, 0, exchange, mid, is_initiator=not response,
                     is_response=response)
