"""order_payloads ranks each payload by the first row it matches in one pass; that must equal
charon's procedure of moving the matching payloads row by row (random messages, every table)."""

from __future__ import annotations

import random

from vicid.ike.payload_order import PAYLOAD_ORDER, order_payloads
from vicid.ike.wire.enums import ExchangeType, NotifyType, PayloadType
from vicid.ike.wire.notify import NotifyPayload
from vicid.ike.wire.payloads import KePayload, NoncePayload, VendorIdPayload
from vicid.ike.wire.proposals import SaPayload


def _row_by_row(exchange: int, is_request: bool, payloads: list) -> list:
    def matches(p, ptype: int, notify: int) -> bool:
        return p.payload_type == ptype and (ptype != PayloadType.NOTIFY or not notify or p.notify_type == notify)

    rest, out = list(payloads), []
    for ptype, notify in PAYLOAD_ORDER.get((exchange, is_request), ()):
        out += [p for p in rest if matches(p, ptype, notify)]
        rest = [p for p in rest if not matches(p, ptype, notify)]
    return out + rest[::-1]


def test_one_pass_equals_row_by_row():
    notifies = [
        NotifyType.COOKIE,
        NotifyType.NAT_DETECTION_SOURCE_IP,
        NotifyType.MOBIKE_SUPPORTED,
        NotifyType.INITIAL_CONTACT,
        NotifyType.REKEY_SA,
        NotifyType.USE_TRANSPORT_MODE,
        40000,
    ]
    makers = [
        lambda: SaPayload(()),
        lambda: KePayload(31, b"k"),
        lambda: NoncePayload(b"n" * 16),
        lambda: VendorIdPayload(b"v"),
        *[lambda t=t: NotifyPayload(t) for t in notifies],
    ]
    rnd = random.Random(7)
    for key in [*PAYLOAD_ORDER, (ExchangeType.IKE_SESSION_RESUME, True)]:
        for _ in range(300):
            payloads = [rnd.choice(makers)() for _ in range(rnd.randint(0, 10))]
            assert [id(p) for p in order_payloads(*key, payloads)] == [id(p) for p in _row_by_row(*key, payloads)]
