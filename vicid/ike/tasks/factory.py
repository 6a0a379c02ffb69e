"""Which tasks an incoming request creates (``process_request()``); what the IKE_SA queues as
initiator is :class:`~vicid.ike.task_manager.TaskManager`'s ``queue_*()``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from vicid.ike.messages import InMessage
from vicid.ike.sa_state import IkeState
from vicid.ike.tasks.base import Task, TaskKind
from vicid.ike.tasks.child_create import ChildCreateResponder
from vicid.ike.tasks.child_delete import ChildDeleteResponder
from vicid.ike.tasks.child_rekey import ChildRekeyResponder
from vicid.ike.tasks.ike_auth import IkeAuthResponder
from vicid.ike.tasks.ike_cert_post import IkeCertPost
from vicid.ike.tasks.ike_cert_pre import IkeCertPre
from vicid.ike.tasks.ike_config import IkeConfigResponder
from vicid.ike.tasks.ike_delete import IkeDelete
from vicid.ike.tasks.ike_dpd import IkeDpd
from vicid.ike.tasks.ike_establish import IkeEstablish
from vicid.ike.tasks.ike_init import IkeInitResponder
from vicid.ike.tasks.ike_mobike import IkeMobike
from vicid.ike.tasks.ike_natd import IkeNatd
from vicid.ike.tasks.ike_rekey import IkeRekeyResponder
from vicid.ike.tasks.ike_vendor import IkeVendor
from vicid.ike.wire.enums import ExchangeType, NotifyType, PayloadType, ProtocolId

if TYPE_CHECKING:
    from vicid.ike.sa import IkeSa

E, N = ExchangeType, NotifyType


def _init_tasks(sa: IkeSa) -> list[Task]:
    return [IkeVendor(sa, False), IkeInitResponder(sa), IkeNatd(sa, False), IkeCertPre(sa, False), IkeAuthResponder(sa),
            IkeCertPost(sa, False), IkeConfigResponder(sa), IkeMobike(sa, False), IkeEstablish(sa, False),
            ChildCreateResponder(sa)]


def _create_child_tasks(sa: IkeSa, msg: InMessage) -> list[Task] | None:
    if sa.state in (IkeState.CREATED, IkeState.CONNECTING):
        sa.log("IKE", 1, "received CREATE_CHILD_SA request for unestablished IKE_SA, rejected")
        return None
    rekey = any(n.notify_type == N.REKEY_SA and n.protocol_id in (ProtocolId.AH, ProtocolId.ESP)
                for n in msg.notifies())
    ts = msg.get(PayloadType.TSi) is not None or msg.get(PayloadType.TSr) is not None
    if not ts:
        return [IkeRekeyResponder(sa)]
    return [ChildRekeyResponder(sa)] if rekey else [ChildCreateResponder(sa)]


_MOBIKE_NOTIFIES = {N.ADDITIONAL_IP4_ADDRESS, N.ADDITIONAL_IP6_ADDRESS, N.NO_ADDITIONAL_ADDRESSES,
                    N.UPDATE_SA_ADDRESSES, N.NO_NATS_ALLOWED, N.UNACCEPTABLE_ADDRESSES,
                    N.UNEXPECTED_NAT_DETECTED, N.COOKIE2, N.NAT_DETECTION_SOURCE_IP,
                    N.NAT_DETECTION_DESTINATION_IP}


def _informational_task(sa: IkeSa, msg: InMessage) -> Task:
    for p in msg.message.all_payloads():
        if p.payload_type == PayloadType.NOTIFY and sa.state != IkeState.REKEYED:
            if p.notify_type in _MOBIKE_NOTIFIES:
                return IkeMobike(sa, False)
            if p.notify_type in (N.INVALID_SYNTAX, N.AUTHENTICATION_FAILED):
                return IkeDelete(sa, False)
        elif p.payload_type == PayloadType.DELETE:
            if p.protocol_id == ProtocolId.IKE:
                return IkeDelete(sa, False)
            return ChildDeleteResponder(sa)
    return IkeDpd(sa, False)


def passive_tasks(sa: IkeSa, msg: InMessage) -> list[Task] | None:
    """The responder tasks for a new request, in charon's order; None rejects the request."""
    if msg.exchange == E.IKE_SA_INIT:
        return _init_tasks(sa)
    if msg.exchange == E.CREATE_CHILD_SA:
        return _create_child_tasks(sa, msg)
    if msg.exchange == E.INFORMATIONAL:
        return [_informational_task(sa, msg)]
    return []


__all__ = ["TaskKind", "passive_tasks"]
