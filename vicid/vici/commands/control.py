"""Control commands, as charon's vici_control.c answers them.

initiate, terminate, rekey, redirect, install, uninstall, reload-settings. Until the IKE engine is
wired in, initiate fails with a clear reason and the SA-selecting commands find no SAs (which is
true: none exist), with charon's own messages.
"""

from __future__ import annotations

import ipaddress
import logging
from typing import Any

from vicid.vici.commands.creds import reply
from vicid.vici.dispatcher import Body, Deferred, Dispatcher, Request

log = logging.getLogger("vicid.vici")


def _control_log(req: Request, msg: str, level: int = 1) -> None:
    if req.registered("control-log"):
        req.emit("control-log", {"group": "CFG", "level": level, "msg": msg})


def _find_configs(state: Any, child: str | None, ike: str | None) -> tuple[Any, Any] | None:
    """(peer, child) as charon's find_child_cfg/find_peer_cfg pick them: with ``ike`` that
    connection; otherwise the first connection that has a child of that name."""
    conns = state.conns
    if conns is None:
        return None
    if ike:  # names are unique: a lookup, not a scan of every connection (100k in the benchmark)
        peer = conns.get(ike)
        if peer is None:
            return None
        if not child:
            return peer, None
        found = peer.child(child)
        return (peer, found) if found is not None else None
    for peer in conns.configs():
        if ike and peer.name != ike:
            continue
        if not child:
            return peer, None
        found = peer.child(child)
        if found is not None:
            return peer, found
    return None


def initiate(state: Any, req: Request) -> Body | Deferred:
    child, ike = req.str("child"), req.str("ike")
    if not child and not ike:
        return reply("missing configuration name")
    kind, name = ("CHILD_SA", child) if child else ("IKE_SA", ike)
    found = _find_configs(state, child, ike)
    if found is None:
        return reply(f"{kind} config '{name}' not found")
    engine = getattr(state, "engine", None)
    if engine is None:
        msg = f"establishing {kind} '{name}' failed"
        _control_log(req, f"{msg}: vicid runs without its IKE engine")
        log.info("initiate %s '%s' refused: no IKE engine", kind, name)
        return reply(msg)
    return engine.initiate(req, *found)


def terminate(state: Any, req: Request) -> Body | Deferred:
    if not any(req.str(k) for k in ("child", "child-id", "ike", "ike-id")):
        return reply("missing terminate selector")
    engine = getattr(state, "engine", None)
    if engine is None:
        return {"success": "no", "matches": 0, "terminated": 0, "errmsg": "no matching SAs to terminate found"}
    return engine.terminate(req)


def rekey(state: Any, req: Request) -> Body:
    if not any(req.str(k) for k in ("child", "child-id", "ike", "ike-id")):
        return reply("missing rekey selector")
    engine = getattr(state, "engine", None)
    if engine is None:
        return {"success": "no", "matches": 0, "errmsg": "no matching SAs to rekey found"}
    return engine.rekey(req)


def redirect(state: Any, req: Request) -> Body:
    gateway = req.str("gateway")
    if not gateway:
        return reply("missing target gateway")
    peer_ip = req.str("peer-ip")
    if peer_ip and not _valid_peer_ip(peer_ip):
        return reply("invalid peer IP selector")
    if not any(req.str(k) for k in ("ike", "ike-id", "peer-ip", "peer-id")):
        return reply("missing redirect selector")
    return {"success": "no", "matches": 0, "errmsg": "no matching SAs to redirect found"}


def _valid_peer_ip(text: str) -> bool:
    try:
        if "-" in text:
            low, high = text.split("-", 1)
            ipaddress.ip_address(low)
            ipaddress.ip_address(high)
        else:
            ipaddress.ip_network(text, strict=False)
        return True
    except ValueError:
        return False


def install(state: Any, req: Request) -> Body:
    child = req.str("child")
    if not child:
        return reply("missing configuration name")
    found = _find_configs(state, child, req.str("ike"))
    if found is None or found[1] is None:
        return reply("configuration name not found")
    engine = getattr(state, "engine", None)
    if engine is None or not engine.install_trap(*found):
        return reply(f"installing policy '{child}' failed")
    return reply(None)


def uninstall(state: Any, req: Request) -> Body:
    child = req.str("child")
    if not child:
        return reply("missing configuration name")
    engine = getattr(state, "engine", None)
    if engine is None or not engine.uninstall_trap(req.str("ike"), child):
        return reply(f"policy '{child}' not found")
    return reply(None)


def reload_settings(state: Any, req: Request) -> Body:
    reload = getattr(state, "reload_settings", None)
    error = reload() if reload is not None else None
    return reply(error)


def register(dispatcher: Dispatcher) -> None:
    for name, handler in [
        ("initiate", initiate), ("terminate", terminate), ("rekey", rekey), ("redirect", redirect),
        ("install", install), ("uninstall", uninstall), ("reload-settings", reload_settings),
    ]:
        dispatcher.add_command(name, handler)
    dispatcher.add_event("control-log")
