"""vici-loaded connections with charon's merge semantics (``merge_config``/``unload_conn``).

Order is charon's hashtable order: insertion order, a replaced config keeps its slot, an unloaded
and re-added one goes to the end (a ``dict`` does exactly this). Every change produces a
:class:`ConnChange` naming the children whose start actions the engine must run or undo; they are
passed to the registered listeners and kept in ``changes`` (the engine subscribes later).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal

from vicid.ike.config import ChildConfig, PeerConfig

ChangeKind = Literal["added", "updated", "replaced", "removed"]


@dataclass(frozen=True)
class ConnChange:
    """One store change and the start actions it implies (``run_start_actions`` & co.).

    ``undo`` children are handled with ``clear_start_actions`` (uninstall traps/shunts, close
    ``start`` CHILD_SAs), then ``start`` children with ``run_start_actions``. ``delete_ike``
    says whether IKE_SAs left without children may be deleted while undoing.
    """

    kind: ChangeKind
    peer: PeerConfig  # the config now stored (for "removed": the one removed)
    undo: tuple[ChildConfig, ...] = ()
    start: tuple[ChildConfig, ...] = ()
    undo_peer: PeerConfig | None = None  # whose children ``undo`` belong to, if not ``peer``
    delete_ike: bool = True


Listener = Callable[[ConnChange], None]


class ConnStore:
    """Connections loaded over vici, by name."""

    def __init__(self, history: int = 256) -> None:
        self._conns: dict[str, PeerConfig] = {}
        self.listeners: list[Listener] = []
        self.changes: deque[ConnChange] = deque(maxlen=history)
        # renderings of stored configs (e.g. encoded list-conn events) by name; an entry is valid
        # while its first element is the very object stored under that name (configs are frozen)
        self.render_cache: dict[str, tuple[PeerConfig, bytes]] = {}

    def __contains__(self, name: str) -> bool:
        return name in self._conns

    def __len__(self) -> int:
        return len(self._conns)

    def get(self, name: str) -> PeerConfig | None:
        return self._conns.get(name)

    def names(self) -> list[str]:
        """Names in charon's ``get-conns``/``list-conns`` order."""
        return list(self._conns)

    def configs(self) -> list[PeerConfig]:
        return list(self._conns.values())

    def merge(self, peer: PeerConfig) -> ConnChange:
        """Add, update (equal peer: only children replaced) or replace a connection."""
        found = self._conns.get(peer.name)
        if found is None:
            self._conns[peer.name] = peer
            change = ConnChange("added", peer, start=peer.children)
        elif found == peer:
            change = self._replace_children(found, peer)
        else:
            self._conns[peer.name] = peer  # same slot, as hashtable put() on an existing key
            change = ConnChange("replaced", peer, undo=found.children, start=peer.children,
                                undo_peer=found)
        self._emit(change)
        return change

    def _replace_children(self, found: PeerConfig, peer: PeerConfig) -> ConnChange:
        """``replace_child_cfgs``: keep the stored peer, take the new children; report the
        old children without an equal new one (removed) and new ones without an old match."""
        removed = list(found.children)
        added: list[ChildConfig] = []
        for child in peer.children:
            match = next((i for i, old in enumerate(removed) if old == child), None)
            if match is None:
                added.append(child)
            else:
                del removed[match]
        updated = replace(found, children=peer.children)
        self._conns[found.name] = updated
        initiate = any(c.start_action & 2 for c in added)  # ACTION_START
        return ConnChange("updated", updated, undo=tuple(removed), start=tuple(added),
                          delete_ike=not initiate)

    def unload(self, name: str) -> ConnChange | None:
        """Remove a connection; None if there is none of that name."""
        found = self._conns.pop(name, None)
        self.render_cache.pop(name, None)
        if found is None:
            return None
        change = ConnChange("removed", found, undo=found.children)
        self._emit(change)
        return change

    def _emit(self, change: ConnChange) -> None:
        self.changes.append(change)
        for listener in list(self.listeners):
            listener(change)
