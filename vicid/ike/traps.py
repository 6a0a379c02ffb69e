"""Trap policies (``start_action = trap``, ``dpd_action``/``close_action = trap``), as charon's
``trap_manager.c`` keeps them: one per (connection, child), with a reqid of its own, installed
as ``trap`` policies so the first matching packet makes the kernel report an acquire. The
CHILD_SA negotiated for that acquire reuses the trap's reqid.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import ip_address

from vicid.ike.config import ChildConfig, IpsecMode, PeerConfig
from vicid.ike.context import EngineContext
from vicid.ike.effects import DeletePolicy, Direction, Endpoint, InstallPolicy
from vicid.ike.log_mirror import stdlib_log
from vicid.ike.ts import select_ts


def endpoint_of(addrs: str, port: int) -> Endpoint | None:
    """The first literal IP address of a local_addrs/remote_addrs list (no %any, no ranges)."""
    for text in (t.strip() for t in addrs.split(",")):
        try:
            return ip_address(text), port
        except ValueError:
            continue
    return None


@dataclass
class Trap:
    peer: PeerConfig
    child: ChildConfig
    reqid: int
    policies: list[InstallPolicy] = field(default_factory=list)
    pending: int = 0  # unique ID of the IKE_SA an acquire started
    local_ts: tuple = ()  # the selectors the policies cover (list-policies shows them)
    remote_ts: tuple = ()


class TrapTable:
    """Installed traps by (connection, child) name; effects go to the engine's queue."""

    def __init__(self, ctx: EngineContext) -> None:
        self.ctx = ctx
        self._traps: dict[tuple[str, str], Trap] = {}

    def __iter__(self):
        return iter(list(self._traps.values()))

    def by_reqid(self, reqid: int) -> Trap | None:
        return next((t for t in self._traps.values() if t.reqid == reqid), None)

    def find(self, peer: str, child: str) -> Trap | None:
        return self._traps.get((peer, child))

    def install(self, peer: PeerConfig, child: ChildConfig) -> bool:
        """``trap_manager->install``; False (and a log line) if it cannot be routed."""
        key = (peer.name, child.name)
        if key in self._traps:
            return True
        me = endpoint_of(peer.local_addrs, 0)
        other = endpoint_of(peer.remote_addrs, 0)
        if other is None or me is None:
            stdlib_log("CFG", 1, f"installing trap failed, remote address unknown for '{child.name}'")
            return False
        transport = child.mode == IpsecMode.TRANSPORT and not child.proxy_mode
        my_ts = select_ts(list(child.local_ts), None, [me[0]], transport)[0]
        other_ts = select_ts(list(child.remote_ts), None, [other[0]], transport)[0]
        key_ts = (tuple(my_ts), tuple(other_ts), child.mark_in, child.mark_out, child.if_id_in,
                  child.if_id_out)
        reqid = child.reqid or self.ctx.reqids.acquire(key_ts)
        trap = Trap(peer, child, reqid, local_ts=tuple(my_ts), remote_ts=tuple(other_ts))
        mode = child.mode.name
        for mine in my_ts:
            for theirs in other_ts:
                for direction, src, dst in ((Direction.OUT, me[0], other[0]), (Direction.IN, other[0], me[0]),
                                            (Direction.FWD, other[0], me[0])):
                    if direction == Direction.FWD and child.mode == IpsecMode.TRANSPORT:
                        continue
                    trap.policies.append(InstallPolicy(reqid, direction, mine, theirs, mode, src, dst, 0,
                                                       3, child.priority, kind="trap"))
        for effect in trap.policies:
            self.ctx.emit(effect)
        self._traps[key] = trap
        stdlib_log("CFG", 1, f"installed trap policy for '{child.name}' with reqid {{{reqid}}}")
        return True

    def uninstall(self, peer: str, child: str) -> bool:
        trap = self._traps.pop((peer, child), None)
        if trap is None:
            return False
        for p in trap.policies:
            self.ctx.emit(DeletePolicy(p.reqid, p.direction, p.local_ts, p.remote_ts, kind="trap"))
        if not trap.child.reqid:
            self.ctx.reqids.release(trap.reqid)
        return True
