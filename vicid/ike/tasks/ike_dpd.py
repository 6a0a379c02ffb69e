"""Liveness checks: an empty INFORMATIONAL (RFC 7296 §1.4). As responder every INFORMATIONAL no
other task claims is answered with an empty response (``ike_dpd.c``)."""

from __future__ import annotations

from vicid.ike.messages import InMessage, OutMessage
from vicid.ike.tasks.base import Status, Task, TaskKind


class IkeDpd(Task):
    kind = TaskKind.IKE_DPD

    def build(self, msg: OutMessage) -> Status:
        return Status.NEED_MORE if self.initiator else Status.SUCCESS

    def process(self, msg: InMessage) -> Status:
        return Status.SUCCESS if self.initiator else Status.NEED_MORE
