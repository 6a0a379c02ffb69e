"""Lease accounting of virtual IP pools (charon's mem_pool.c semantics, vici_attribute.c passes)."""

from __future__ import annotations

from ipaddress import ip_address

from hypothesis import given, settings
from hypothesis import strategies as st

from vicid.config.mem_pool import MemPool, PoolOp
from vicid.config.pools import PoolStore, parse_pool
from vicid.identity import Identification

ANY4, ANY6 = ip_address("0.0.0.0"), ip_address("::")
CAROL, DAVE, EVE = (Identification.from_string(n) for n in ("carol@example.org", "dave@example.org", "eve"))
AT_CAROL, AT_DAVE, AT_EVE = ((ip_address(a), 4500) for a in ("192.0.2.3", "192.0.2.4", "192.0.2.5"))


def store(*pools: tuple[str, str], **attrs: list[bytes]) -> PoolStore:
    s = PoolStore()
    for name, addrs in pools:
        s.merge(parse_pool(name, {"addrs": addrs.encode(), **attrs}))
    return s


class Lines(list):
    def __call__(self, line: str) -> None:
        self.append(line)


def leases(s: PoolStore, name: str) -> list[tuple[str, str, bool]]:
    from vicid.identity import inet_ntop

    return [(str(lease.identity), inet_ntop(lease.address), lease.online) for lease in s.get(name).leases]


def test_new_leases_in_order_and_same_identity_gets_its_address_back() -> None:
    s, log = store(("p", "10.3.0.0/28")), Lines()
    assert s.acquire_address(["p"], CAROL, ANY4, AT_CAROL, log) == ip_address("10.3.0.1")
    assert s.acquire_address(["p"], DAVE, ANY4, AT_DAVE, log) == ip_address("10.3.0.2")
    assert log == ["assigning new lease to 'carol@example.org'", "assigning new lease to 'dave@example.org'"]
    assert s.release_address(["p"], ip_address("10.3.0.1"), CAROL, log)
    assert log[-1] == "lease 10.3.0.1 by 'carol@example.org' went offline"
    assert (s.get("p").online, s.get("p").offline) == (1, 1)
    # carol comes back from another port: her offline lease, not a new address
    assert s.acquire_address(["p"], CAROL, ANY4, (AT_CAROL[0], 1234), log) == ip_address("10.3.0.1")
    assert log[-1] == "reassigning offline lease to 'carol@example.org'"
    assert leases(s, "p") == [("carol@example.org", "10.3.0.1", True), ("dave@example.org", "10.3.0.2", True)]


def test_online_lease_is_shared_by_a_reauthentication_from_the_same_endpoint() -> None:
    s, log = store(("p", "10.3.0.0/28")), Lines()
    first = s.acquire_address(["p"], CAROL, ANY4, AT_CAROL, log)
    # make-before-break: the new IKE_SA asks for the address it has, from the same endpoint
    assert s.acquire_address(["p"], CAROL, first, AT_CAROL, log) == first
    assert log[-1] == "reassigning online lease to 'carol@example.org'"
    assert s.get("p").online == 2
    assert s.release_address(["p"], first, CAROL, log)  # the old IKE_SA goes: still online
    assert (s.get("p").online, s.get("p").offline) == (1, 0) and "went offline" not in log[-1]
    assert s.release_address(["p"], first, CAROL, log)
    assert (s.get("p").online, s.get("p").offline) == (0, 1)
    assert not s.release_address(["p"], first, CAROL, log)  # nothing online any more


def test_other_endpoint_while_online_gets_a_second_address() -> None:
    s = store(("p", "10.3.0.0/28"))
    assert s.acquire_address(["p"], CAROL, ANY4, AT_CAROL, Lines()) == ip_address("10.3.0.1")
    assert s.acquire_address(["p"], CAROL, ANY4, AT_DAVE, Lines()) == ip_address("10.3.0.2")
    assert leases(s, "p") == [("carol@example.org", "10.3.0.1", True), ("carol@example.org", "10.3.0.2", True)]


def test_exhausted_pool_reassigns_the_oldest_offline_lease_of_another_identity() -> None:
    s, log = store(("p", "10.3.0.1-10.3.0.2")), Lines()
    a = s.acquire_address(["p"], CAROL, ANY4, AT_CAROL, log)
    b = s.acquire_address(["p"], DAVE, ANY4, AT_DAVE, log)
    assert s.acquire_address(["p"], EVE, ANY4, AT_EVE, log) is None
    assert log[-1] == "pool 'p' is full, unable to assign address"
    s.release_address(["p"], a, CAROL, log)
    assert s.acquire_address(["p"], EVE, ANY4, AT_EVE, log) == a
    assert log[-1] == "reassigning existing offline lease by 'carol@example.org' to 'eve'"
    # carol's entry had nothing left and is gone; eve's lease is listed after dave's
    assert leases(s, "p") == [("dave@example.org", str(b), True), ("eve", str(a), True)]


def test_each_pass_runs_over_all_pools_before_the_next() -> None:
    s = store(("a", "10.3.0.1-10.3.0.1"), ("b", "10.4.0.0/24"))
    log = Lines()
    assert s.acquire_address(["a", "b"], CAROL, ANY4, AT_CAROL, log) == ip_address("10.3.0.1")
    assert s.acquire_address(["a", "b"], DAVE, ANY4, AT_DAVE, log) == ip_address("10.4.0.1")
    s.release_address(["a", "b"], ip_address("10.4.0.1"), DAVE, log)
    # dave's offline lease in b wins over a reassignment in a
    assert s.acquire_address(["a", "b"], DAVE, ANY4, AT_DAVE, log) == ip_address("10.4.0.1")


def test_family_must_match_and_ipv6_pools_use_the_last_32_bits() -> None:
    s = store(("v4", "10.3.0.0/24"), ("v6", "2001:db8:1::/120"))
    assert s.acquire_address(["v4"], CAROL, ANY6, AT_CAROL, Lines()) is None
    assert s.acquire_address(["v4", "v6"], CAROL, ANY6, AT_CAROL, Lines()) == ip_address("2001:db8:1::1")
    assert s.get("v6").size == 254


def test_responder_attributes_come_from_the_pools_that_assigned() -> None:
    s = PoolStore()
    s.merge(parse_pool("a", {"addrs": b"10.3.0.0/24", "dns": [b"10.3.0.53"], "nbns": [b"10.3.0.54"]}))
    s.merge(parse_pool("b", {"addrs": b"10.4.0.0/24", "dns": [b"10.4.0.53"]}))
    vip = s.acquire_address(["a", "b"], CAROL, ANY4, AT_CAROL, Lines())
    assert s.responder_attributes(["a", "b"], [vip]) == [(3, bytes([10, 3, 0, 53])), (4, bytes([10, 3, 0, 54]))]
    assert s.responder_attributes(["b"], [vip]) == []


def test_unload_refused_while_online_then_allowed_once_offline() -> None:
    import pytest

    from vicid.config.pools import PoolError

    s = store(("p", "10.3.0.0/28"))
    vip = s.acquire_address(["p"], CAROL, ANY4, AT_CAROL, Lines())
    with pytest.raises(PoolError, match=r"^p has online leases, unable to unload$"):
        s.unload("p")
    s.release_address(["p"], vip, CAROL, Lines())
    s.unload("p")
    assert s.names() == []


def test_mem_pool_offsets() -> None:
    pool = MemPool("p", bytes([10, 3, 0, 1]), 3)
    assert [pool.address(i) for i in (1, 3)] == [bytes([10, 3, 0, 1]), bytes([10, 3, 0, 3])]
    assert pool.offset(bytes([10, 3, 0, 4])) == 0 and pool.offset(bytes([10, 3, 0, 0])) == 0
    assert pool.acquire(CAROL, bytes(16), PoolOp.NEW, None) is None  # wrong family


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(0, 3), st.integers(0, 1)), max_size=40))
def test_random_acquire_release_keeps_the_books(ops):
    """Any sequence of acquires and releases: every address belongs to at most one identity,
    lies in the pool, and each identity's online count matches the tunnels it holds."""
    s = store(("p", "10.3.0.1-10.3.0.4"))
    ids = [Identification.from_string(f"user{i}@example.org") for i in range(4)]
    held: list[tuple[int, object]] = []  # (identity index, address) per tunnel we hold
    for acquire, who, port in ops:
        if acquire:
            vip = s.acquire_address(["p"], ids[who], ANY4, (AT_CAROL[0], 4500 + port), Lines())
            if vip is not None:
                held.append((who, vip))
        elif held:
            who, vip = held.pop(who % len(held))
            assert s.release_address(["p"], vip, ids[who], Lines())
    owners: dict[bytes, str] = {}
    for lease in s.get("p").leases:
        assert owners.setdefault(lease.address, str(lease.identity)) == str(lease.identity)
        assert bytes([10, 3, 0, 1]) <= lease.address <= bytes([10, 3, 0, 4])
    assert s.get("p").online == len(held)
