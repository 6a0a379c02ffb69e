"""Marks the IKE_SA established once IKE_AUTH authenticated both peers (``ike_establish.c``)."""

from __future__ import annotations

from vicid.ike.messages import InMessage, OutMessage
from vicid.ike.sa_state import Cond, IkeState
from vicid.ike.tasks.base import Status, Task, TaskKind
from vicid.ike.wire.enums import ExchangeType


class IkeEstablish(Task):
    kind = TaskKind.IKE_ESTABLISH

    def _establish(self) -> None:
        sa = self.sa
        sa.log("IKE", 0, f"IKE_SA {sa.name}[{sa.uniqueid}] established between "
                         f"{sa.my_host[0]}[{sa.my_id}]...{sa.other_host[0]}[{sa.other_id}]")
        sa.set_state(IkeState.ESTABLISHED)
        sa.ike_updown(True)

    def _ready(self, exchange: int) -> bool:
        return exchange == ExchangeType.IKE_AUTH and self.sa.has(Cond.AUTHENTICATED)

    def build(self, msg: OutMessage) -> Status:
        if self.initiator or not self._ready(msg.exchange):
            return Status.NEED_MORE
        self._establish()
        return Status.SUCCESS

    def process(self, msg: InMessage) -> Status:
        if not self.initiator or not self._ready(msg.exchange):
            return Status.NEED_MORE
        self._establish()
        return Status.SUCCESS
