"""Engine snapshots and events rendered as charon's vici query module renders them.

``ike_body``/``child_body`` follow list_ike()/list_child() key for key and in order, so swanctl's
``--list-sas`` prints the same text for vicid as for charon. ``event_message`` maps each engine
event onto the vici event it stands for.
"""

from __future__ import annotations

from typing import Any

from vicid.ike.effects import (
    Alert,
    ChildRekey,
    ChildSaView,
    ChildUpDown,
    Event,
    IkeRekey,
    IkeSaView,
    IkeUpdate,
    IkeUpDown,
)
from vicid.vici.dispatcher import Body

# states in which list_child() adds the IPsec and statistics blocks
_INSTALLED_STATES = {"INSTALLED", "REKEYING", "REKEYED", "DELETING", "DELETED"}


def _algorithms(body: Body, view: IkeSaView | ChildSaView, prf: str | None = None) -> None:
    if view.encr_alg:
        body["encr-alg"] = view.encr_alg
        if view.encr_keysize:
            body["encr-keysize"] = view.encr_keysize
    if view.integ_alg:
        body["integ-alg"] = view.integ_alg
        if view.integ_keysize:
            body["integ-keysize"] = view.integ_keysize
    if prf:
        body["prf-alg"] = prf
    if view.ke_methods:
        body["dh-group"] = view.ke_methods[0]
    for n, method in enumerate(view.ke_methods[1:], 1):
        if method and method != "KE_NONE":
            body[f"ake{n}"] = method


def ike_body(view: IkeSaView, *, with_children: bool = False) -> Body:
    """The IKE_SA section of list-sa and the SA events (children only where charon adds them)."""
    body: Body = {
        "uniqueid": view.uniqueid, "version": view.version, "state": view.state,
        "local-host": view.local_host, "local-port": view.local_port, "local-id": view.local_id,
        "remote-host": view.remote_host, "remote-port": view.remote_port, "remote-id": view.remote_id,
    }
    if view.remote_eap_id and view.remote_eap_id != view.remote_id:
        body["remote-eap-id"] = view.remote_eap_id
    if view.initiator:
        body["initiator"] = "yes"
    body["initiator-spi"] = f"{view.initiator_spi:016x}"
    body["responder-spi"] = f"{view.responder_spi:016x}"
    for key, flag in (("nat-local", view.nat_local), ("nat-remote", view.nat_remote),
                      ("nat-fake", view.nat_fake), ("nat-any", view.nat_any)):
        if flag:
            body[key] = "yes"
    _algorithms(body, view, view.prf_alg)
    if view.state == "ESTABLISHED" and view.established is not None:
        body["established"] = view.established
        if view.rekey_time is not None:
            body["rekey-time"] = view.rekey_time
        if view.reauth_time is not None:
            body["reauth-time"] = view.reauth_time
    for key, values in (("local-vips", view.local_vips), ("remote-vips", view.remote_vips),
                        ("tasks-queued", view.tasks_queued), ("tasks-active", view.tasks_active),
                        ("tasks-passive", view.tasks_passive)):
        if values:
            body[key] = list(values)
    if with_children:
        body["child-sas"] = {f"{c.name}-{c.uniqueid}": child_body(c) for c in view.children}
    return body


def child_body(view: ChildSaView) -> Body:
    body: Body = {"name": view.name, "uniqueid": view.uniqueid, "reqid": view.reqid,
                  "state": view.state, "mode": view.mode}
    if view.state in _INSTALLED_STATES:
        body["protocol"] = view.protocol
        if view.encap:
            body["encap"] = "yes"
        body["spi-in"] = f"{view.spi_in:08x}"
        body["spi-out"] = f"{view.spi_out:08x}"
        _algorithms(body, view)
        if view.esn:
            body["esn"] = "1"
        _stats(body, view)
    body["local-ts"] = list(view.local_ts)
    body["remote-ts"] = list(view.remote_ts)
    return body


def _stats(body: Body, view: ChildSaView) -> None:
    body["bytes-in"] = view.bytes_in
    body["packets-in"] = view.packets_in
    if view.use_in is not None:
        body["use-in"] = view.use_in
    body["bytes-out"] = view.bytes_out
    body["packets-out"] = view.packets_out
    if view.use_out is not None:
        body["use-out"] = view.use_out
    if view.rekey_time is not None:
        body["rekey-time"] = view.rekey_time
    if view.life_time is not None:
        body["life-time"] = view.life_time
    body["install-time"] = view.install_time


def list_sa_event(view: IkeSaView, child: str | None = None, child_id: int | None = None) -> Body:
    """One list-sa event; child filters narrow child-sas but never drop the IKE_SA."""
    children = [c for c in view.children
                if (child is None or c.name == child) and (child_id is None or c.uniqueid == child_id)]
    body = ike_body(view)
    body["child-sas"] = {f"{c.name}-{c.uniqueid}": child_body(c) for c in children}
    return {view.name: body}


# the vici event each engine event becomes; the others (state changes) have none
EVENT_NAMES: dict[type, str] = {IkeUpDown: "ike-updown", ChildUpDown: "child-updown", IkeRekey: "ike-rekey",
                                ChildRekey: "child-rekey", IkeUpdate: "ike-update", Alert: "alert"}


def event_message(event: Event) -> tuple[str, Body] | None:
    """(vici event name, body) for an engine event, or None if vici has no such event."""
    if isinstance(event, IkeUpDown):
        body: Body = {"up": "yes"} if event.up else {}
        body[event.ike.name] = ike_body(event.ike)
        return "ike-updown", body
    if isinstance(event, ChildUpDown):
        ike = ike_body(event.ike)
        ike["child-sas"] = {f"{event.child.name}-{event.child.uniqueid}": child_body(event.child)}
        body = {"up": "yes"} if event.up else {}
        body[event.ike.name] = ike
        return "child-updown", body
    if isinstance(event, IkeRekey):
        return "ike-rekey", {event.old.name: {"old": ike_body(event.old), "new": ike_body(event.new)}}
    if isinstance(event, ChildRekey):
        ike = ike_body(event.ike)
        # unlike list-sa, the child section here is the plain child name (no -uniqueid)
        ike["child-sas"] = {event.old.name: {"old": child_body(event.old), "new": child_body(event.new)}}
        return "child-rekey", {event.ike.name: ike}
    if isinstance(event, IkeUpdate):
        # vici_query.c ike_update: the new endpoints first, then the IKE_SA
        return "ike-update", {"local-host": str(event.local[0]), "local-port": event.local[1],
                              "remote-host": str(event.remote[0]), "remote-port": event.remote[1],
                              event.ike.name: ike_body(event.ike)}
    if isinstance(event, Alert):
        body = {"type": event.type}
        if event.ike is not None:
            body["ike-sa"] = {event.ike.name: ike_body(event.ike)}
        return "alert", body
    return None


def control_log_body(group: str, level: int, msg: str, ike_name: str = "", ike_id: int = 0) -> dict[str, Any]:
    body: dict[str, Any] = {"group": group, "level": level}
    if ike_name:
        body["ikesa-name"] = ike_name
        body["ikesa-uniqueid"] = ike_id
    body["msg"] = msg
    return body
