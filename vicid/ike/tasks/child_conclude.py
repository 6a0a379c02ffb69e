"""How a rekeyed or deleted CHILD_SA ends (``child_rekey.c``/``child_delete.c`` helpers both tasks share)."""

from __future__ import annotations

from enum import Enum, auto
from typing import TYPE_CHECKING

from vicid.ike.child import ChildSa, ChildState
from vicid.ike.config import Action
from vicid.ike.ts import ts_list_str

if TYPE_CHECKING:
    from vicid.ike.sa import IkeSa


class Collision(Enum):
    """``child_rekey_collision_t``: how a received DELETE relates to an active rekeying."""

    NONE = auto()
    OLD = auto()  # the DELETE names the SA we are rekeying
    PEER = auto()  # the DELETE names the replacement the peer created in a collision


def child_name(child: ChildSa) -> str:
    return f"{child.name}{{{child.uniqueid}}}"


def conclude_rekeying(sa: IkeSa, old: ChildSa, new: ChildSa) -> None:
    """``child_rekey_conclude_rekeying``: outbound traffic moves to the new SA, then the
    ``child-rekey`` event."""
    for effect in new.install_outbound():
        sa.ctx.emit(effect)
    sa.log("IKE", 0, f"outbound CHILD_SA {child_name(new)} established with SPIs {new.spis_text} and TS "
                     f"{ts_list_str(new.my_ts)} === {ts_list_str(new.other_ts)}")
    for effect in old.remove_outbound():
        sa.ctx.emit(effect)
    sa.log("IKE", 0, f"rekeyed CHILD_SA {child_name(old)} with SPIs {old.spis_text} with {child_name(new)} "
                     f"with SPIs {new.spis_text}")
    sa.child_rekey(old, new)


def conclude_linked(sa: IkeSa, old: ChildSa) -> None:
    """Conclude a passive rekeying via the link between old and new SA (``child_delete.c``)."""
    new = old.rekey_sa
    old.rekey_sa = None
    if new is not None:
        new.rekey_sa = None
        conclude_rekeying(sa, old, new)


def destroy_and_reestablish(sa: IkeSa, child: ChildSa, *, updown: bool = True, action: bool = True,
                            forced: int = 0) -> None:
    """``destroy_and_reestablish_internal``: DELETED, down event, close_action, destroyed."""
    sa.set_child_state(child, ChildState.DELETED)
    if updown:
        sa.child_updown(child, False)
    sa.log("IKE", 1, f"CHILD_SA {child_name(child)} closed")
    what = forced or child.config.close_action
    if action and what & Action.TRAP:
        sa.install_trap(child.config)
    if action and what & Action.START:
        sa.recreate_child(child)
    sa.destroy_child(child)


def destroy_rekeyed(sa: IkeSa, child: ChildSa) -> None:
    """``child_delete_destroy_rekeyed``: the old inbound SA lingers ``delete_rekeyed_delay``
    seconds for packets still in flight."""
    for effect in child.remove_outbound():
        sa.ctx.emit(effect)
    sa.set_child_state(child, ChildState.DELETED)
    delay = sa.ctx.settings.delete_rekeyed_delay
    expire = child.expire_at
    if delay and (expire is None or sa.now + delay < expire):
        sa.log("IKE", 1, f"delay closing of inbound CHILD_SA {child_name(child)} for {delay}s")
        sa.schedule_child_destroy(child, delay)
    elif expire is not None and sa.now < expire:
        sa.log("IKE", 1, f"let rekeyed inbound CHILD_SA {child_name(child)} expire naturally in "
                         f"{int(expire - sa.now)}s")
        sa.schedule_child_destroy(child, expire - sa.now)
    else:
        destroy_and_reestablish(sa, child, updown=False, action=False)
