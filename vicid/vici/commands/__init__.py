"""vici command modules, grouped as charon groups them; ``register_all`` wires every one."""

from __future__ import annotations

from vicid.vici.dispatcher import Dispatcher


def register_all(dispatcher: Dispatcher) -> Dispatcher:
    from vicid.vici.commands import authority, config, control, creds, pools, query

    for module in (query, control, config, creds, authority, pools):
        module.register(dispatcher)
    dispatcher.add_event("log")
    return dispatcher
