"""IKE_SA deletion with an INFORMATIONAL exchange (RFC 7296 §1.4.1, ``ike_delete.c``).

    HDR, SK {D(IKE)} -->
                     <-- HDR, SK {}

The initiator destroys the SA once the (empty) response arrives; the responder sends the
response and is then destroyed. A late AUTHENTICATION_FAILED notify is handled the same way.
"""

from __future__ import annotations

from vicid.ike.messages import InMessage, OutMessage
from vicid.ike.sa_state import Cond, IkeState
from vicid.ike.tasks.base import Status, Task, TaskKind
from vicid.ike.wire.enums import ExchangeType, NotifyType, ProtocolId
from vicid.ike.wire.payloads import DeletePayload


def _between(sa) -> str:
    return (f"IKE_SA {sa.name}[{sa.uniqueid}] between {sa.my_host[0]}[{sa.my_id}]..."
            f"{sa.other_host[0]}[{sa.other_id}]")


class IkeDelete(Task):
    kind = TaskKind.IKE_DELETE

    def __init__(self, sa, initiator: bool) -> None:
        super().__init__(sa, initiator)
        self.rekeyed = False

    def build(self, msg: OutMessage) -> Status:
        sa = self.sa
        if not self.initiator:
            sa.log("IKE", 0, "IKE_SA deleted")
            if not self.rekeyed:
                sa.ike_updown(False)
            return Status.DESTROY_ME
        sa.log("IKE", 0, f"deleting {_between(sa)}")
        msg.add(DeletePayload(ProtocolId.IKE))
        self.rekeyed = sa.state == IkeState.REKEYED
        sa.set_state(IkeState.DELETING)
        sa.log("IKE", 1, f"sending DELETE for IKE_SA {sa.name}[{sa.uniqueid}]")
        return Status.NEED_MORE

    def process(self, msg: InMessage) -> Status:
        sa = self.sa
        if self.initiator:
            sa.log("IKE", 0, "IKE_SA deleted")
            if not self.rekeyed:
                sa.ike_updown(False)
            return Status.DESTROY_ME
        sa.log("IKE", 1, f"received DELETE for IKE_SA {sa.name}[{sa.uniqueid}]")
        sa.log("IKE", 0, f"deleting {_between(sa)}")
        if msg.exchange == ExchangeType.INFORMATIONAL and msg.notify(NotifyType.AUTHENTICATION_FAILED):
            sa.alert("local-auth-failed")
        state = sa.state
        if state == IkeState.REKEYING and self._after_rekey_collision():
            self.rekeyed = True  # the peer did not notice a collision and deletes the old SA
        elif state in (IkeState.ESTABLISHED, IkeState.REKEYING):
            sa.set_state(IkeState.DELETING)
            if not sa.has(Cond.REAUTHENTICATING):
                sa.reestablish()  # close_action of the CHILD_SAs
            return Status.NEED_MORE
        self.rekeyed = self.rekeyed or state == IkeState.REKEYED
        sa.set_state(IkeState.DELETING)
        return Status.NEED_MORE

    def _after_rekey_collision(self) -> bool:
        return any(t.kind == TaskKind.IKE_REKEY and getattr(t, "did_collide", lambda: False)()
                   for t in self.sa.tm.active)
