"""list-policies lists installed traps as charon's vici_query.c does: a ``list-policy`` event per
trap ("conn/child" with child, reqid, ike, mode, local-ts, remote-ts), filtered by ike/child."""

from __future__ import annotations

import time

from tests.shell.test_vici_package import CONN

TRAP_NET = {
    "net": {"local_ts": ["198.51.100.0/24"], "remote_ts": ["203.0.113.0/24"]},
    "host": {"local_ts": ["192.0.2.2/32[tcp]"], "remote_ts": ["192.0.2.3/32[tcp]"], "mode": "transport"},
}


def policies(session, **filters) -> list[dict]:
    return list(session.list_policies({"trap": "yes", "drop": "yes", "pass": "yes", **filters}))


def wait_policies(session, count: int) -> list[dict]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        found = policies(session)
        if len(found) == count:
            return found
        time.sleep(0.05)
    raise AssertionError(f"expected {count} trap policies, got {policies(session)}")


def test_traps_are_listed_like_charon(vicid):
    session = vicid.session()
    children = {name: {**child, "esp_proposals": ["aes256gcm16"]} for name, child in TRAP_NET.items()}
    session.load_conn({"gw": {**CONN["gw"], "children": children}})
    assert policies(session) == []
    session.install({"child": "net"})
    session.install({"child": "host", "ike": "gw"})
    listed = wait_policies(session, 2)
    by_name = {name: body for event in listed for name, body in event.items()}
    assert by_name["gw/net"] == {
        "child": b"net",
        "reqid": b"1",
        "ike": b"gw",
        "mode": b"TUNNEL",
        "local-ts": [b"198.51.100.0/24"],
        "remote-ts": [b"203.0.113.0/24"],
    }
    assert by_name["gw/host"]["mode"] == b"TRANSPORT"
    assert by_name["gw/host"]["local-ts"] == [b"192.0.2.2/32[tcp]"]
    assert by_name["gw/host"]["reqid"] == b"2"
    # filters, and what charon answers without "trap" (shunts only)
    assert [list(e) for e in policies(session, child="host")] == [["gw/host"]]
    assert policies(session, ike="other") == []
    assert list(session.list_policies({"drop": "yes", "pass": "yes"})) == []
    session.uninstall({"child": "net"})
    assert [list(e) for e in wait_policies(session, 1)] == [["gw/host"]]
    session.transport.close()
