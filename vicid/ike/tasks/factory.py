"""Which tasks an incoming request creates (``process_request()``) and what ``queue_ike()``,
``queue_child()`` and the delete helpers queue as initiator."""

from __future__ import annotations

from typing import TYPE_CHECKING

from vicid.ike.child import ChildSa
from vicid.ike.config import ChildConfig
from vicid.ike.messages import InMessage
from vicid.ike.tasks.base import Task, TaskKind
from vicid.ike.tasks.child_create import ChildCreateInitiator, ChildCreateResponder
from vicid.ike.tasks.child_delete import ChildDeleteInitiator, ChildDeleteResponder
from vicid.ike.tasks.child_rekey import ChildRekeyResponder
from vicid.ike.tasks.ike_auth import IkeAuthInitiator, IkeAuthResponder
from vicid.ike.tasks.ike_cert_post import IkeCertPost
from vicid.ike.tasks.ike_cert_pre import IkeCertPre
from vicid.ike.tasks.ike_config import IkeConfigInitiator, IkeConfigResponder
from vicid.ike.tasks.ike_delete import IkeDelete
from vicid.ike.tasks.ike_dpd import IkeDpd
from vicid.ike.tasks.ike_establish import IkeEstablish
from vicid.ike.tasks.ike_init import IkeInitInitiator, IkeInitResponder
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
    from vicid.ike.sa import IkeState

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
    from vicid.ike.sa import IkeState

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


def queue_ike(sa: IkeSa) -> None:
    """``queue_ike()``: the tasks that set up the IKE_SA, unless already queued."""
    tm = sa.tm
    for task in (IkeVendor(sa, True), IkeInitInitiator(sa), IkeNatd(sa, True), IkeCertPre(sa, True),
                 IkeAuthInitiator(sa), IkeCertPost(sa, True), IkeConfigInitiator(sa), IkeMobike(sa, True),
                 IkeEstablish(sa, True)):
        if not tm.has(tm.queued, task.kind):
            tm.queue(task)


def queue_child(sa: IkeSa, config: ChildConfig, reqid: int = 0) -> None:
    task = ChildCreateInitiator(sa, config)
    if reqid:
        task.reqid = reqid
        sa.ctx.reqids.ref(reqid)
    sa.tm.queue(task)


def queue_ike_delete(sa: IkeSa) -> None:
    sa.tm.queue(IkeDelete(sa, True))


def queue_child_delete(sa: IkeSa, child: ChildSa) -> None:
    sa.tm.queue(ChildDeleteInitiator(sa, child))


__all__ = ["TaskKind", "passive_tasks", "queue_child", "queue_child_delete", "queue_ike",
           "queue_ike_delete"]
