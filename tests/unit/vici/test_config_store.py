"""ConnStore merge semantics (charon's merge_config / replace_child_cfgs / unload_conn) and the
change records the engine will use to run or undo start actions."""

from __future__ import annotations

from vicid.config.load_conn import parse_conn
from vicid.config.store import ConnChange, ConnStore
from vicid.ike.config import Action


def conn(name: str = "gw", **children: dict) -> dict:
    return {"version": b"2", "remote_addrs": [b"192.0.2.1"],
            "children": {k: {kk: (vv if isinstance(vv, list) else vv.encode()) for kk, vv in v.items()}
                         for k, v in children.items()}}


def load(store: ConnStore, name: str, body: dict) -> ConnChange:
    return store.merge(parse_conn(name, body))


def test_new_connection_is_added_and_all_children_started() -> None:
    store = ConnStore()
    change = load(store, "gw", conn(a={"start_action": "trap"}, b={}))
    assert change.kind == "added"
    assert [c.name for c in change.start] == ["a", "b"] and change.undo == ()
    assert change.start[0].start_action == Action.TRAP


def test_equal_peer_only_replaces_children() -> None:
    store = ConnStore()
    load(store, "gw", conn(a={}, b={"mode": "transport"}))
    first = store.get("gw")
    change = load(store, "gw", conn(b={"mode": "transport"}, c={"start_action": "start"}))
    assert change.kind == "updated"
    assert [c.name for c in change.undo] == ["a"]  # no equal child in the new config
    assert [c.name for c in change.start] == ["c"]  # b is equal to the old b: untouched
    assert change.delete_ike is False  # a child is about to be initiated: keep IKE_SAs
    assert [c.name for c in store.get("gw").children] == ["b", "c"]
    assert store.get("gw") == first  # the peer part compares equal


def test_child_equality_ignores_the_name() -> None:
    store = ConnStore()
    load(store, "gw", conn(a={"rekey_time": "1h"}))
    change = load(store, "gw", conn(renamed={"rekey_time": "1h"}))
    assert change.kind == "updated" and change.undo == () and change.start == ()
    assert [c.name for c in store.get("gw").children] == ["renamed"]


def test_changed_peer_replaces_in_place_and_restarts_everything() -> None:
    store = ConnStore()
    load(store, "a", conn(x={}))
    load(store, "b", conn())
    change = load(store, "a", {**conn(x={}, y={}), "version": b"1"})
    assert change.kind == "replaced"
    assert [c.name for c in change.undo] == ["x"] and change.undo_peer.version == 2
    assert [c.name for c in change.start] == ["x", "y"]
    assert store.names() == ["a", "b"]


def test_unload_and_reload_moves_to_the_end() -> None:
    store = ConnStore()
    for name in "abc":
        load(store, name, conn())
    change = store.unload("b")
    assert change is not None and change.kind == "removed"
    assert store.unload("b") is None
    load(store, "b", conn())
    assert store.names() == ["a", "c", "b"]


def test_dscp_and_dpd_timeout_are_not_part_of_equality() -> None:
    store = ConnStore()
    load(store, "gw", conn())
    change = load(store, "gw", {**conn(), "dscp": b"101", "dpd_timeout": b"30"})
    assert change.kind == "updated"
    assert store.get("gw").dscp == 0  # charon keeps the stored peer_cfg/ike_cfg


def test_listeners_and_history_see_every_change() -> None:
    store = ConnStore()
    seen: list[str] = []
    store.listeners.append(lambda ch: seen.append(f"{ch.kind}:{ch.peer.name}"))
    load(store, "gw", conn())
    load(store, "gw", conn())
    store.unload("gw")
    assert seen == ["added:gw", "updated:gw", "removed:gw"]
    assert [c.kind for c in store.changes] == ["added", "updated", "removed"]


def test_failed_load_leaves_the_store_alone() -> None:
    from tests.unit.vici.test_config_golden import call, make_daemon

    state, dispatcher = make_daemon()
    call(state, dispatcher, "load-conn", {"gw": {"version": "2"}})
    before = state.conns.get("gw")
    reply, _ = call(state, dispatcher, "load-conn", {"gw": {"version": "1", "mobike": "perhaps"}})
    assert reply == {"success": "no", "errmsg": "invalid value for: mobike, config discarded"}
    assert state.conns.get("gw") is before and state.conns.changes[-1].kind == "added"
