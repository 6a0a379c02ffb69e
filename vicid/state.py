"""The daemon's shared state that vici commands read and change.

One object, built at start-up by the shell and passed to every vici handler, so no command
reaches for a module-level global. Each store is owned by the module named beside it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class DaemonState:
    settings: Any  # vicid.settings.Settings
    ke: Any = None  # vicid.ike.ke.KeRegistry
    conns: Any = None  # vicid.config.store.ConnStore
    pools: Any = None  # vicid.config.pools.PoolStore
    creds: Any = None  # vicid.creds.store.CredStore
    started: float = 0.0  # wall-clock start (seconds since the epoch), for `stats`
    counters: Counter = field(default_factory=Counter)  # named drop/accept counters
    netdb: Any = None  # vicid.netdb lookups (protocol/service names) for traffic selectors
    plugins: list[str] = field(default_factory=list)  # what `stats` lists as loaded plugins
    engine: Any = None  # the IKE engine facade, once the daemon runs one
    # re-reads strongswan.conf; returns charon's errmsg on failure, None on success
    reload_settings: Callable[[], str | None] | None = None
