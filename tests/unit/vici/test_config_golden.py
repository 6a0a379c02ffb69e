"""load-conn/list-conns/get-pools against bodies captured from real charon 6.1 for the same configs.

The vici messages are built the way swanctl builds them (swanctl.md §4.1/§4.2): one load-conn per
connection, sections mirrored, list keys split on commas, everything else sent as text. The golden
files in tests/vectors/vici/ say how they were captured.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from vicid.config.values import tokens
from vicid.settings import Settings, parse_text
from vicid.state import DaemonState
from vicid.vici.commands import config as config_cmds
from vicid.vici.commands import pools as pool_cmds
from vicid.vici.dispatcher import Dispatcher, Request
from vicid.vici.wire import decode_message, encode_message

VECTORS = Path(__file__).resolve().parents[2] / "vectors" / "vici"

# swanctl's is_list_key(): these become vici lists at any depth (case-insensitive)
LIST_KEYS = {"local_addrs", "remote_addrs", "proposals", "esp_proposals", "ah_proposals",
             "local_ts", "remote_ts", "vips", "pools", "groups", "cert_policy"}


# --- helpers shared by the test_config_* modules ----------------------------------------------

def make_daemon() -> tuple[DaemonState, Dispatcher]:
    dispatcher = Dispatcher()
    config_cmds.register(dispatcher)
    pool_cmds.register(dispatcher)
    return DaemonState(settings=Settings()), dispatcher


def wire(body: dict[str, Any] | bytes) -> dict[str, Any]:
    """A body as the session hands it to handlers: through the real vici codec (handlers may
    also emit already encoded bodies)."""
    return decode_message(body if isinstance(body, bytes) else encode_message(body))


def text(value: Any) -> Any:
    """A decoded body with bytes as str, to compare with the JSON vectors."""
    if isinstance(value, dict):
        return {k: text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [text(v) for v in value]
    return value.decode("ascii") if isinstance(value, bytes) else value


def call(state: DaemonState, dispatcher: Dispatcher, command: str, body: dict[str, Any],
         ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Run one command; returns (response, streamed event bodies), both as they'd be on the wire."""
    events: list[dict[str, Any]] = []
    request = Request(command, wire(body), emit=lambda ev, b: events.append(text(wire(b))))
    response = dispatcher.commands[command](state, request)
    return text(wire(response)), events


def ordered(value: Any) -> Any:
    """Nested (key, value) lists: equality then also checks key order."""
    if isinstance(value, dict):
        return [(k, ordered(v)) for k, v in value.items()]
    if isinstance(value, list):
        return [ordered(v) for v in value]
    return value


def swanctl_body(section: dict[str, Any]) -> dict[str, Any]:
    """swanctl's translation of one settings section to a vici message section."""
    out: dict[str, Any] = {}
    for key, value in section.items():
        if isinstance(value, dict):
            out[key] = swanctl_body(value)
        elif not value:
            continue  # swanctl skips keys without a value
        elif key.lower() in LIST_KEYS:
            out[key] = list(tokens(value, ",", " "))
        else:
            out[key] = value
    return out


def settings_tree(settings: Settings, path: str) -> dict[str, Any]:
    """A settings section as a nested dict in file order (no inheritance needed here)."""
    tree: dict[str, Any] = dict(settings.items(path))
    for name in settings.sections(path):
        tree[name] = settings_tree(settings, f"{path}.{name}")
    return tree


def load_vector(name: str) -> dict[str, Any]:
    return json.loads((VECTORS / name).read_text())


def load_conf(state: DaemonState, dispatcher: Dispatcher, conns: dict[str, Any],
              pools: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """swanctl --load-all: one load-conn per connection, one load-pool per pool; the replies."""
    replies = {}
    for name, section in conns.items():
        replies[name] = call(state, dispatcher, "load-conn", {name: swanctl_body(section)})[0]
    for name, section in pools.items():
        body = {k: (v if k == "addrs" else list(tokens(v, ",", " "))) for k, v in section.items()}
        replies[f"pool:{name}"] = call(state, dispatcher, "load-pool", {name: body})[0]
    return replies


# --- the configurations -------------------------------------------------------------------------

MOON_PQ = {
    "version": "2",
    "local_addrs": "192.0.2.2",
    "remote_addrs": "192.0.2.3",
    "fragmentation": "yes",
    "proposals": "aes256gcm16-sha512-x25519-ke1_mlkem768, aes256gcm16-sha512-x25519-ke1_mlkem768-"
                 "ke2_mlkem1024, aes256gcm16-sha512-modp8192-ke1_mlkem1024, aes256gcm16-sha512-x25519",
    "local": {"auth": "psk", "id": "moon.example.org"},
    "remote": {"auth": "psk", "id": "carol.example.org"},
    "children": {"net": {
        "local_ts": "198.51.100.0/24",
        "remote_ts": "203.0.113.0/24",
        "esp_proposals": "aes256gcm16-x25519-ke1_mlkem768, aes256gcm16-x25519-ke1_mlkem768-ke2_mlkem1024, "
                         "aes256gcm16-modp8192-ke1_mlkem1024, aes256gcm16-x25519",
        "start_action": "none",
    }},
}
MOON_POOLS = {
    "vpn4": {"addrs": "10.3.0.0/24", "dns": "10.3.0.1, 2001:db8::53", "split_include": "198.51.100.0/24"},
    "vpn6": {"addrs": "2001:db8:3::/120", "dns": "2001:db8::53"},
    "range": {"addrs": "10.4.0.10-10.4.0.20"},
}


def carol_conns() -> dict[str, Any]:
    """carol's swanctl.conf with ``pq3 : connections.pq`` inheritance resolved as swanctl does."""
    pq = {
        "version": "2",
        "local_addrs": "192.0.2.3",
        "remote_addrs": "192.0.2.2",
        "fragmentation": "yes",
        "proposals": "aes256gcm16-sha512-x25519-ke1_mlkem768",
        "local": {"auth": "psk", "id": "carol.example.org"},
        "remote": {"auth": "psk", "id": "moon.example.org"},
        "children": {"net": {"local_ts": "203.0.113.0/24", "remote_ts": "198.51.100.0/24",
                             "esp_proposals": "aes256gcm16-x25519-ke1_mlkem768"}},
    }

    def derived(ike: str, esp: str) -> dict[str, Any]:
        net = {"esp_proposals": esp, "local_ts": "203.0.113.0/24", "remote_ts": "198.51.100.0/24"}
        base = {k: v for k, v in pq.items() if k not in ("proposals", "children")}
        return {"proposals": ike, **base, "children": {"net": net}}

    return {
        "pq": pq,
        "pq3": derived("aes256gcm16-sha512-x25519-ke1_mlkem768-ke2_mlkem1024",
                       "aes256gcm16-x25519-ke1_mlkem768-ke2_mlkem1024"),
        "big": derived("aes256gcm16-sha512-modp8192-ke1_mlkem1024", "aes256gcm16-modp8192-ke1_mlkem1024"),
        "classic": derived("aes256gcm16-sha512-x25519", "aes256gcm16-x25519"),
    }


def rich_conf() -> tuple[dict[str, Any], dict[str, Any]]:
    settings = Settings(parse_text((VECTORS / "swanctl-rich.conf").read_text()))
    return settings_tree(settings, "connections"), settings_tree(settings, "pools")


CONFIGS = {
    "moon": lambda: ({"pq": MOON_PQ}, MOON_POOLS),
    "carol": lambda: (carol_conns(), {}),
    "rich": rich_conf,
}


# --- tests --------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_list_conns_equals_charon(name: str) -> None:
    golden = load_vector(f"list-conn-{name}.json")
    state, dispatcher = make_daemon()
    conns, pools = CONFIGS[name]()
    replies = load_conf(state, dispatcher, conns, pools)
    assert all(r["success"] == "yes" for k, r in replies.items() if not k.startswith("pool:"))
    response, events = call(state, dispatcher, "list-conns", {})
    assert response == {}
    assert len(events) == len(golden["list-conn"])
    for ours, theirs in zip(events, golden["list-conn"], strict=True):
        assert ordered(ours) == ordered(theirs)


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_get_conns_and_pools_equal_charon(name: str) -> None:
    golden = load_vector(f"list-conn-{name}.json")
    state, dispatcher = make_daemon()
    conns, pools = CONFIGS[name]()
    load_conf(state, dispatcher, conns, pools)
    assert call(state, dispatcher, "get-conns", {})[0] == golden["get-conns"]
    if "get-pools" in golden and pools:
        got = call(state, dispatcher, "get-pools", {"leases": "yes"})[0]
        assert ordered(got) == ordered(golden["get-pools"])


def test_rich_pool_with_empty_range_fails_like_swanctl_saw() -> None:
    state, dispatcher = make_daemon()
    _, pools = rich_conf()
    replies = load_conf(state, dispatcher, {}, pools)
    assert replies["pool:pnonnet"] == {"success": "no", "errmsg": "invalid addrs value: 10.5.0.7/29"}
    assert [k for k, r in replies.items() if r["success"] == "yes"] == [
        "pool:p4", "pool:p6", "pool:prange", "pool:psmall"]


def test_list_conns_filter_by_ike() -> None:
    state, dispatcher = make_daemon()
    load_conf(state, dispatcher, carol_conns(), {})
    _, events = call(state, dispatcher, "list-conns", {"ike": "big"})
    assert [next(iter(e)) for e in events] == ["big"]
    _, events = call(state, dispatcher, "list-conns", {"ike": "nope"})
    assert events == []


def test_list_conn_event_is_registered() -> None:
    _, dispatcher = make_daemon()
    assert "list-conn" in dispatcher.events
    assert {"load-conn", "unload-conn", "get-conns", "list-conns", "load-pool", "unload-pool",
            "get-pools"} <= set(dispatcher.commands)
