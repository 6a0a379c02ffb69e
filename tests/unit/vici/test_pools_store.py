"""PoolStore merge/unload rules that need leases (not reachable from a fresh charon)."""

from __future__ import annotations

from ipaddress import ip_address

import pytest

from vicid.config.pools import PoolError, PoolStore, parse_pool
from vicid.identity import Identification

CAROL = Identification.from_string("carol@example.org")
PEER = (ip_address("192.0.2.3"), 4500)


def lease(store: PoolStore, name: str) -> None:
    """carol takes an address from pool NAME (an online lease)."""
    assert store.acquire_address([name], CAROL, ip_address("0.0.0.0"), PEER, lambda _line: None)


def pool(addrs: str, **attrs: list[bytes]) -> dict:
    return {"addrs": addrs.encode(), **attrs}


def online_store() -> PoolStore:
    store = PoolStore()
    store.merge(parse_pool("p", pool("10.1.0.0/24")))
    store.merge(parse_pool("q", pool("10.2.0.0/24")))
    lease(store, "p")
    return store


def test_same_range_keeps_leases_and_takes_new_attributes() -> None:
    store = online_store()
    store.merge(parse_pool("p", pool("10.1.0.0/24", dns=[b"10.1.0.53"])))
    assert store.get("p").online == 1
    assert store.get("p").attributes == ((3, bytes([10, 1, 0, 53])),)
    assert store.names() == ["q", "p"]


def test_changed_range_with_online_leases_is_refused_and_moves_to_the_end() -> None:
    store = online_store()
    store.merge(parse_pool("q", pool("10.2.0.0/24")))
    with pytest.raises(PoolError, match=r"^vici pool p has online leases, unable to replace$"):
        store.merge(parse_pool("p", pool("10.1.0.0/25")))
    assert store.get("p").size == 254 and store.names() == ["q", "p"]


def test_unload_with_online_leases_is_refused() -> None:
    store = online_store()
    with pytest.raises(PoolError, match=r"^p has online leases, unable to unload$"):
        store.unload("p")
    assert store.names() == ["q", "p"]


def test_multiple_addrs_and_attribute_encodings() -> None:
    with pytest.raises(PoolError, match=r"^invalid attribute: foo$"):
        parse_pool("x", {"addrs": b"10.0.0.0/24", "foo": b"1"})
    p = parse_pool("x", pool("10.0.0.0/30", subnet=[b"10.0.0.0/8", b"2001:db8::/32"], **{"25": [b"raw"]}))
    assert p.attributes == (
        (13, bytes([10, 0, 0, 0, 255, 0, 0, 0])),
        (15, bytes.fromhex("20010db8000000000000000000000000") + bytes([32])),
        (25, b"raw"),
    )


def test_get_pools_lists_leases() -> None:
    from tests.unit.vici.test_config_golden import call, make_daemon

    state, dispatcher = make_daemon()
    call(state, dispatcher, "load-pool", {"p": {"addrs": "10.1.0.0/24"}})
    lease(state.pools, "p")
    got, _ = call(state, dispatcher, "get-pools", {"leases": "yes", "name": "p"})
    assert got == {"p": {"base": "10.1.0.1", "size": "254", "online": "1", "offline": "0", "leases": {
        "0": {"address": "10.1.0.1", "identity": "carol@example.org", "status": "online"}}}}
    got, _ = call(state, dispatcher, "unload-pool", {"name": "p"})
    assert got == {"success": "no", "errmsg": "p has online leases, unable to unload"}
