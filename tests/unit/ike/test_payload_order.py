"""Outgoing payload order as charon's message.c order tables."""

from __future__ import annotations

from vicid.ike.payload_order import order_payloads
from vicid.ike.wire.enums import ExchangeType, NotifyType
from vicid.ike.wire.notify import NotifyPayload
from vicid.ike.wire.payloads import KePayload, NoncePayload, VendorIdPayload
from vicid.ike.wire.proposals import SaPayload

N = NotifyType


def n(t: int) -> NotifyPayload:
    return NotifyPayload(t)


def test_ike_sa_init_request_order():
    sa, ke, nonce = SaPayload(()), KePayload(31, b"x"), NoncePayload(b"n" * 32)
    added = [n(N.IKEV2_FRAGMENTATION_SUPPORTED), sa, ke, nonce, n(N.REDIRECT_SUPPORTED),
             n(N.NAT_DETECTION_DESTINATION_IP), n(N.NAT_DETECTION_SOURCE_IP), n(N.COOKIE),
             VendorIdPayload(b"v")]
    ordered = order_payloads(ExchangeType.IKE_SA_INIT, True, added)
    assert ordered == [added[7], sa, ke, nonce, added[6], added[5], added[0], added[4], added[8]]


def test_payloads_without_rule_go_last_reversed():
    ordered = order_payloads(ExchangeType.IKE_INTERMEDIATE, True,
                             [VendorIdPayload(b"1"), n(N.COOKIE), KePayload(36, b""), VendorIdPayload(b"2")])
    assert [type(p).__name__ for p in ordered] == ["KePayload", "NotifyPayload", "VendorIdPayload",
                                                    "VendorIdPayload"]
    assert ordered[2].data == b"2" and ordered[3].data == b"1"
