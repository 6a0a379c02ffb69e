"""vici pool commands: load-pool, unload-pool, get-pools (``vici_attribute.c``)."""

from __future__ import annotations

from typing import Any

from vicid.config import ext
from vicid.config.pools import PoolError, PoolStore, address_text, parse_pool
from vicid.config.values import printable
from vicid.vici.commands.config import reply
from vicid.vici.dispatcher import Body, Dispatcher, Request

_TRUE = {"yes", "true", "enabled", "1"}
_FALSE = {"no", "false", "disabled", "0"}


def pool_store(state: Any) -> PoolStore:
    if state.pools is None:
        state.pools = PoolStore()
    return state.pools


def _get_str(request: Request, key: str) -> str | None:
    """``get_str``: a printable key/value, else None."""
    value = request.body.get(key)
    if isinstance(value, bytes | bytearray) and printable(bytes(value)):
        return bytes(value).decode("ascii")
    return None


def _get_bool(request: Request, key: str, default: bool) -> bool:
    """``get_bool``: settings-style booleans; empty or unknown values give the default."""
    text = _get_str(request, key)
    if not text:
        return default
    word = text[:15].lower()
    return True if word in _TRUE else False if word in _FALSE else default


def load_pool(state: Any, request: Request) -> Body:
    """Pools are parsed and merged one by one; earlier ones stay when a later one fails."""
    store = pool_store(state)
    for name, section in request.body.items():
        if not isinstance(section, dict):
            continue  # top-level key/values and lists are ignored
        try:
            store.merge(parse_pool(name, section))
        except PoolError as exc:
            return reply(str(exc))
    return reply()


def unload_pool(state: Any, request: Request) -> Body:
    name = _get_str(request, "name")
    if name is None:
        return reply("missing pool name to unload")
    try:
        pool_store(state).unload(name)
    except PoolError as exc:
        return reply(str(exc))
    return reply()


def get_pools(state: Any, request: Request) -> Body:
    with_leases = _get_bool(request, "leases", False)
    wanted = _get_str(request, "name")
    body: Body = {}
    for pool in pool_store(state).pools():
        if wanted is not None and pool.name != wanted:
            continue
        section: Body = {
            "base": address_text(pool.base),
            "size": str(pool.size),
            "online": str(pool.online),
            "offline": str(pool.offline),
        }
        if with_leases:
            section["leases"] = {
                str(i): {"address": address_text(lease.address),
                         "identity": ext.identity_text(lease.identity),
                         "status": "online" if lease.online else "offline"}
                for i, lease in enumerate(pool.leases)
            }
        body[pool.name] = section
    return body


def register(dispatcher: Dispatcher) -> None:
    dispatcher.add_command("load-pool", load_pool)
    dispatcher.add_command("unload-pool", unload_pool)
    dispatcher.add_command("get-pools", get_pools)
