"""Payload order of outgoing messages, as charon's ``message.c`` ``*_order`` tables.

charon sorts the payloads a message collected from its tasks before encoding: for each
``(payload type, notify type)`` row in turn it moves every matching payload (notify type 0
matches any notify) to the message, keeping the order in which tasks added them; payloads
without a row go last. Peers accept any order, but byte-identical messages make captures
and interop debugging much easier.
"""

from __future__ import annotations

from collections.abc import Sequence

from vicid.ike.wire.enums import ExchangeType as E
from vicid.ike.wire.enums import NotifyType as N
from vicid.ike.wire.enums import PayloadType as P
from vicid.ike.wire.payloads import Payload

Order = tuple[tuple[int, int], ...]

_SA_INIT_I: Order = (
    (P.NOTIFY, N.COOKIE), (P.SA, 0), (P.KE, 0), (P.NONCE, 0),
    (P.NOTIFY, N.NAT_DETECTION_SOURCE_IP), (P.NOTIFY, N.NAT_DETECTION_DESTINATION_IP),
    (P.NOTIFY, 0), (P.VENDOR_ID, 0))
_SA_INIT_R: Order = (
    (P.SA, 0), (P.KE, 0), (P.NONCE, 0), (P.NOTIFY, N.NAT_DETECTION_SOURCE_IP),
    (P.NOTIFY, N.NAT_DETECTION_DESTINATION_IP), (P.NOTIFY, N.HTTP_CERT_LOOKUP_SUPPORTED),
    (P.CERTREQ, 0), (P.NOTIFY, 0), (P.VENDOR_ID, 0))
_CHILD_NOTIFIES: Order = (
    (P.NOTIFY, N.IPCOMP_SUPPORTED), (P.NOTIFY, N.USE_TRANSPORT_MODE),
    (P.NOTIFY, N.ESP_TFC_PADDING_NOT_SUPPORTED), (P.NOTIFY, N.NON_FIRST_FRAGMENTS_ALSO))
_ADDRESSES: Order = (
    (P.NOTIFY, N.MOBIKE_SUPPORTED), (P.NOTIFY, N.ADDITIONAL_IP4_ADDRESS),
    (P.NOTIFY, N.ADDITIONAL_IP6_ADDRESS), (P.NOTIFY, N.NO_ADDITIONAL_ADDRESSES))
_AUTH_I: Order = (
    (P.IDi, 0), (P.CERT, 0), (P.NOTIFY, N.INITIAL_CONTACT),
    (P.NOTIFY, N.HTTP_CERT_LOOKUP_SUPPORTED), (P.CERTREQ, 0), (P.IDr, 0), (P.AUTH, 0),
    (P.EAP, 0), (P.CP, 0), *_CHILD_NOTIFIES, (P.SA, 0), (P.TSi, 0), (P.TSr, 0), *_ADDRESSES,
    (P.NOTIFY, 0), (P.VENDOR_ID, 0))
_AUTH_R: Order = (
    (P.IDr, 0), (P.CERT, 0), (P.AUTH, 0), (P.EAP, 0), (P.CP, 0), *_CHILD_NOTIFIES,
    (P.SA, 0), (P.TSi, 0), (P.TSr, 0), (P.NOTIFY, N.AUTH_LIFETIME), *_ADDRESSES,
    (P.NOTIFY, 0), (P.VENDOR_ID, 0))
_INFORMATIONAL: Order = (
    (P.NOTIFY, N.UPDATE_SA_ADDRESSES), (P.NOTIFY, N.NAT_DETECTION_SOURCE_IP),
    (P.NOTIFY, N.NAT_DETECTION_DESTINATION_IP), (P.NOTIFY, N.COOKIE2), (P.NOTIFY, 0),
    (P.DELETE, 0), (P.CP, 0))
_CREATE_CHILD_I: Order = (
    (P.NOTIFY, N.REKEY_SA), *_CHILD_NOTIFIES, (P.SA, 0), (P.NONCE, 0), (P.KE, 0),
    (P.TSi, 0), (P.TSr, 0), (P.NOTIFY, 0))
_CREATE_CHILD_R: Order = (
    *_CHILD_NOTIFIES, (P.SA, 0), (P.NONCE, 0), (P.KE, 0), (P.TSi, 0), (P.TSr, 0),
    (P.NOTIFY, N.ADDITIONAL_TS_POSSIBLE), (P.NOTIFY, 0))
_KE_ROUND: Order = ((P.KE, 0), (P.NOTIFY, 0))

PAYLOAD_ORDER: dict[tuple[int, bool], Order] = {
    (E.IKE_SA_INIT, True): _SA_INIT_I,
    (E.IKE_SA_INIT, False): _SA_INIT_R,
    (E.IKE_AUTH, True): _AUTH_I,
    (E.IKE_AUTH, False): _AUTH_R,
    (E.INFORMATIONAL, True): _INFORMATIONAL,
    (E.INFORMATIONAL, False): _INFORMATIONAL,
    (E.CREATE_CHILD_SA, True): _CREATE_CHILD_I,
    (E.CREATE_CHILD_SA, False): _CREATE_CHILD_R,
    (E.IKE_INTERMEDIATE, True): _KE_ROUND,
    (E.IKE_INTERMEDIATE, False): _KE_ROUND,
    (E.IKE_FOLLOWUP_KE, True): _KE_ROUND,
    (E.IKE_FOLLOWUP_KE, False): _KE_ROUND,
}
"""Per (exchange type, is request): the order rows of charon's message rules."""


def _first_rows(order: Order) -> dict[tuple[int, int], int]:
    """(payload type, notify type) -> the first row of ORDER with exactly that key."""
    rows: dict[tuple[int, int], int] = {}
    for n, key in enumerate(order):
        rows.setdefault(key, n)
    return rows


_NO_ROW = 1 << 30


def _lookup(order: Order) -> tuple[dict[int, int], dict[int, int], int]:
    """The rows of ORDER as plain-int tables: payload type -> row (non-notify payloads), notify
    type -> row (its own row or the any-notify row, whichever comes first), any-notify row."""
    rows = _first_rows(order)
    any_notify = rows.get((P.NOTIFY, 0), _NO_ROW)
    types = {int(ptype): row for (ptype, ntype), row in rows.items() if ptype != P.NOTIFY and ntype == 0}
    notifies = {int(ntype): min(row, any_notify) for (ptype, ntype), row in rows.items()
                if ptype == P.NOTIFY and ntype != 0}
    return types, notifies, any_notify


_ROWS = {(int(exchange), is_request): _lookup(order) for (exchange, is_request), order in PAYLOAD_ORDER.items()}
_NO_ORDER: tuple[dict[int, int], dict[int, int], int] = ({}, {}, _NO_ROW)
_NOTIFY = int(P.NOTIFY)


def order_payloads(exchange: int, is_request: bool, payloads: Sequence[Payload]) -> list[Payload]:
    """charon's ``order_payloads``: stable per row; payloads without a row go last, reversed.

    Each payload goes to the first row it matches (one pass, where charon moves the matching
    payloads row by row)."""
    types, notifies, any_notify = _ROWS.get((exchange, is_request), _NO_ORDER)
    ranked: list[tuple[int, int, Payload]] = []
    unranked: list[Payload] = []
    for n, p in enumerate(payloads):
        ptype = p.payload_type
        row = notifies.get(p.notify_type, any_notify) if ptype == _NOTIFY else types.get(ptype, _NO_ROW)
        if row == _NO_ROW:
            unranked.append(p)
        else:
            ranked.append((row, n, p))
    ranked.sort()
    unranked.reverse()
    return [t[2] for t in ranked] + unranked
