"""Traffic selectors: vici parsing, %R rendering, narrowing (charon 6.1 behaviour)."""

import ipaddress

import charon61_cases as charon
import pytest
from hypothesis import given
from hypothesis import strategies as st

from vicid import netdb
from vicid.ike.ts import (
    BUILTIN_NETDB,
    TrafficSelector,
    TsError,
    TsType,
    parse_ts,
    remove_duplicate_ts,
    select_ts,
    ts_list_str,
)


def _render(value, db=None):
    try:
        return parse_ts(value, db).render(db)
    except TsError:
        return None


@pytest.mark.parametrize(("value", "expected"), sorted(charon.TS.items()))
def test_render_matches_charon61_builtin_names(value, expected):
    assert _render(value) == expected


@pytest.mark.parametrize(("value", "expected"), sorted(charon.TS.items()))
def test_render_matches_charon61_system_netdb(value, expected):
    assert _render(value, netdb.system()) == expected


@pytest.mark.parametrize("value", charon.TS_REJECTED)
def test_rejected_like_charon61(value):
    with pytest.raises(TsError):
        parse_ts(value)


def test_parse_fields():
    ts = parse_ts("10.0.0.1-10.0.0.5[udp/500-4500]")
    assert (ts.ts_type, ts.protocol, ts.from_port, ts.to_port) == (TsType.TS_IPV4_ADDR_RANGE, 17, 500, 4500)
    assert ts.from_addr == bytes([10, 0, 0, 1]) and ts.to_addr == bytes([10, 0, 0, 5])
    icmp = parse_ts("0.0.0.0/0[icmp/3]")
    assert (icmp.from_port, icmp.to_port) == (0x300, 0x300)
    dyn = parse_ts("dynamic")
    assert dyn.dynamic and dyn.netbits == 0 and dyn.is_host()
    assert parse_ts("::/0").ts_type == TsType.TS_IPV6_ADDR_RANGE
    assert str(TrafficSelector.create_dynamic(58, 135, 136)) == "dynamic[ipv6-icmp/135-136]"


def test_netdb_parsers():
    protos = netdb.parse_protocols("# c\ntcp\t6\tTCP\t# comment\nudp 17 UDP\n\nbogus x\n")
    assert protos == (("tcp", 6, ("TCP",)), ("udp", 17, ("UDP",)))
    servs = netdb.parse_services("http 80/tcp www # WorldWideWeb\nisakmp 500/udp\nbad 99999/tcp\n")
    assert servs == (("http", 80, "tcp", ("www",)), ("isakmp", 500, "udp", ()))
    db = netdb.load(netdb.Path("/nonexistent/p"), netdb.Path("/nonexistent/s"))
    assert db == BUILTIN_NETDB
    assert BUILTIN_NETDB.port_by_name("http") == 80 and BUILTIN_NETDB.service_name(500) == "isakmp"


# --- narrowing -----------------------------------------------------------------------------------

def test_get_subset_examples():
    a, b = parse_ts("10.0.0.0/16"), parse_ts("10.0.1.0/24[tcp/80]")
    assert str(a.get_subset(b)) == "10.0.1.0/24[tcp/http]"
    assert parse_ts("10.0.0.0/24[tcp]").get_subset(parse_ts("10.0.0.0/24[udp]")) is None
    assert parse_ts("10.0.0.0/24").get_subset(parse_ts("::/0")) is None
    assert parse_ts("dynamic").get_subset(parse_ts("0.0.0.0/0")) is None
    r = parse_ts("10.0.0.5-10.0.0.20").intersect(parse_ts("10.0.0.0/29"))
    assert str(r) == "10.0.0.5..10.0.0.7"
    assert str(parse_ts("0.0.0.0/0[tcp/opaque]").get_subset(parse_ts("0.0.0.0/0"))) == "0.0.0.0/0[tcp/OPAQUE]"
    assert parse_ts("10.0.1.0/24").is_subset(parse_ts("10.0.0.0/16"))
    assert not parse_ts("10.0.0.0/16").is_subset(parse_ts("10.0.1.0/24"))


def test_select_ts_with_dynamic_and_narrowing():
    host = ipaddress.ip_address("192.0.2.2")
    ours = [parse_ts("dynamic"), parse_ts("10.1.0.0/16")]
    result, narrowed = select_ts(ours, None, [host])
    assert ts_list_str(result) == "192.0.2.2/32 10.1.0.0/16" and not narrowed
    theirs = [parse_ts("0.0.0.0/0[tcp]")]
    result, narrowed = select_ts(ours, theirs, [host])
    assert ts_list_str(result) == "192.0.2.2/32[tcp] 10.1.0.0/16[tcp]" and narrowed
    result, narrowed = select_ts([parse_ts("10.0.0.0/8")], [parse_ts("10.0.0.0/8")])
    assert ts_list_str(result) == "10.0.0.0/8" and not narrowed
    # transport mode forces our addresses into regular selectors containing them
    result, _ = select_ts([parse_ts("192.0.2.0/24"), parse_ts("10.0.0.0/8")], None, [host], force_dynamic=True)
    assert ts_list_str(result) == "192.0.2.2/32"


def test_remove_duplicates():
    items = [parse_ts("10.0.0.0/24"), parse_ts("10.0.0.0/8"), parse_ts("10.0.0.0/8"), parse_ts("11.0.0.0/8")]
    assert ts_list_str(remove_duplicate_ts(items)) == "10.0.0.0/8 11.0.0.0/8"


v4 = st.builds(lambda a, n: TrafficSelector.from_subnet(a.packed, n), st.ip_addresses(v=4), st.integers(0, 32))
ports = st.tuples(st.integers(0, 0xFFFF), st.integers(0, 0xFFFF)).map(sorted)
selectors = st.builds(
    lambda ts, proto, pr: TrafficSelector.create(ts.ts_type, ts.from_addr, ts.to_addr, proto, *pr),
    v4, st.sampled_from([0, 6, 17]), ports)


@given(selectors, selectors)
def test_intersection_is_commutative_and_contained(a, b):
    ab, ba = a.intersect(b), b.intersect(a)
    assert (ab is None) == (ba is None)
    if ab is not None:
        assert ab.equals(ba)
        assert ab.is_subset(a) and ab.is_subset(b)
        assert ab.intersect(a).equals(ab)


@given(selectors)
def test_self_intersection_and_render_round_trip(a):
    assert a.intersect(a).equals(a) and a.is_subset(a)
    again = parse_ts(a.render(BUILTIN_NETDB).replace("..", "-"), BUILTIN_NETDB)
    assert again.equals(a)


@given(st.ip_addresses(v=6), st.integers(0, 128))
def test_ipv6_subnet_round_trip(addr, bits):
    ts = TrafficSelector.from_subnet(addr.packed, bits)
    assert ts.netbits == bits
    if "." in str(ts):
        # like charon: a '.' selects IPv4 parsing, so "::ffff:1.2.3.4" can't be read back
        with pytest.raises(TsError):
            parse_ts(str(ts))
    else:
        assert parse_ts(str(ts)).equals(ts)
    assert ts.includes(ts.from_addr) and ts.includes(ts.to_addr)
