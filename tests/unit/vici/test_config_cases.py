"""Crafted load-conn/unload-conn/load-pool/get-pools requests vs real charon 6.1's answers.

tests/vectors/vici/load-conn-cases.json holds each request and what charon replied, plus its
get-conns/list-conns (or get-pools) right after, starting from an empty store every time.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.vici.test_config_golden import call, load_vector, make_daemon, ordered

CASES = load_vector("load-conn-cases.json")["cases"]


def request_body(value: Any) -> Any:
    """The JSON request as sent: ``hex:`` strings were raw bytes."""
    if isinstance(value, dict):
        return {k: request_body(v) for k, v in value.items()}
    if isinstance(value, list):
        return [request_body(v) for v in value]
    if isinstance(value, str) and value.startswith("hex:"):
        return bytes.fromhex(value[4:])
    return value


def by_kind(kind: str) -> list[Any]:
    picked = [c for c in CASES if c.get("command", "load-conn") == kind and "request" in c]
    return [pytest.param(c, id=c["case"]) for c in picked]


@pytest.mark.parametrize("case", by_kind("load-conn"))
def test_load_conn_like_charon(case: dict[str, Any]) -> None:
    state, dispatcher = make_daemon()
    response, _ = call(state, dispatcher, "load-conn", request_body(case["request"]))
    assert response == case["response"]
    assert call(state, dispatcher, "get-conns", {})[0] == case["get-conns"]
    _, events = call(state, dispatcher, "list-conns", {})
    assert ordered(events) == ordered(case["list-conn"])


@pytest.mark.parametrize("case", by_kind("unload-conn"))
def test_unload_conn_like_charon(case: dict[str, Any]) -> None:
    state, dispatcher = make_daemon()
    call(state, dispatcher, "load-conn", {"t": {}})
    response, _ = call(state, dispatcher, "unload-conn", request_body(case["request"]))
    assert response == case["response"]


@pytest.mark.parametrize("case", by_kind("load-pool"))
def test_load_pool_like_charon(case: dict[str, Any]) -> None:
    state, dispatcher = make_daemon()
    response, _ = call(state, dispatcher, "load-pool", request_body(case["request"]))
    assert response == case["response"]
    got = call(state, dispatcher, "get-pools", {"leases": "yes"})[0]
    assert ordered(got) == ordered(case["get-pools"])


def test_order_after_reloads_and_unloads_like_charon() -> None:
    """get-conns/get-pools order: replace keeps the slot, unload+load and pool reloads move to the end."""
    (sequence,) = [c["sequence"] for c in CASES if c["case"] == "ordering"]
    state, dispatcher = make_daemon()
    for step in sequence:
        response, _ = call(state, dispatcher, step["command"], request_body(step["request"]))
        assert ordered(response) == ordered(step["response"]), step
        assert call(state, dispatcher, "get-conns", {})[0] == step["get-conns"], step
        assert list(call(state, dispatcher, "get-pools", {})[0]) == step["pools"], step
