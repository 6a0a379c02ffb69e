"""Completes a make-before-break reauthentication (``ike_reauth_complete.c``): queued on the
new IKE_SA after its CHILD_SAs, it deletes the old IKE_SA once the new one is up. It starts
no exchange of its own."""

from __future__ import annotations

from vicid.ike.messages import EXCHANGE_UNDEFINED, OutMessage
from vicid.ike.tasks.base import Status, Task, TaskKind


class IkeReauthComplete(Task):
    kind = TaskKind.IKE_REAUTH_COMPLETE

    def __init__(self, sa, old_uniqueid: int) -> None:
        super().__init__(sa, True)
        self.old_uniqueid = old_uniqueid

    def build(self, msg: OutMessage) -> Status:
        from vicid.ike.jobs import DeleteIkeJob

        msg.exchange = EXCHANGE_UNDEFINED
        self.sa.ctx.schedule(self.sa.now, DeleteIkeJob(self.old_uniqueid))
        return Status.SUCCESS
