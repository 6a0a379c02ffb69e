"""Completion of vici initiate/terminate requests, as charon's ``controller.c`` listeners decide.

A listener watches one IKE_SA and emits ``Completed(request_id, ok, errmsg)`` once:

* initiate with a CHILD_SA: any CHILD_SA of that IKE_SA installed -> ok; a CHILD_SA destroyed
  (after at most one INVALID_KE retry) or the IKE_SA destroyed -> failed;
* initiate without CHILD_SA: IKE_SA established -> ok, destroyed -> failed;
* terminate IKE_SA: destroyed -> ok; terminate CHILD_SA: destroyed after a proper delete -> ok.
"""

from __future__ import annotations

from vicid.ike.child import ChildSa, ChildState
from vicid.ike.context import EngineContext
from vicid.ike.effects import Completed
from vicid.ike.sa import IkeSa, Listener
from vicid.ike.sa_state import IkeState


class RequestListener(Listener):
    def __init__(self, ctx: EngineContext, request_id: int, errmsg: str) -> None:
        self.ctx = ctx
        self.request_id = request_id
        self.errmsg = errmsg
        self.done = False

    def finish(self, ok: bool) -> bool:
        """Emit Completed once; returns False so the SA unregisters the listener."""
        if not self.done:
            self.done = True
            self.ctx.emit(Completed(self.request_id, ok, None if ok else self.errmsg))
        return False


class InitiateListener(RequestListener):
    def __init__(self, ctx: EngineContext, request_id: int, kind: str, name: str, with_child: bool) -> None:
        super().__init__(ctx, request_id, f"establishing {kind} '{name}' failed")
        self.with_child = with_child

    def ike_state_change(self, sa: IkeSa, state: IkeState) -> bool:
        if state == IkeState.ESTABLISHED and not self.with_child:
            return self.finish(True)
        if state == IkeState.DESTROYING:
            return self.finish(False)
        return True

    def child_state_change(self, sa: IkeSa, child: ChildSa, state: ChildState) -> bool:
        if state == ChildState.INSTALLED:
            return self.finish(True)
        if state != ChildState.DESTROYING:
            return True
        if child.state == ChildState.RETRYING:
            return True  # another round with the KE method the responder asked for
        return self.finish(False)


class TerminateIkeListener(RequestListener):
    def ike_state_change(self, sa: IkeSa, state: IkeState) -> bool:
        return self.finish(True) if state == IkeState.DESTROYING else True


class TerminateChildListener(RequestListener):
    def ike_state_change(self, sa: IkeSa, state: IkeState) -> bool:
        return self.finish(False) if state == IkeState.DESTROYING else True

    def child_state_change(self, sa: IkeSa, child: ChildSa, state: ChildState) -> bool:
        if state != ChildState.DESTROYING:
            return True
        return self.finish(child.state == ChildState.DELETED)
