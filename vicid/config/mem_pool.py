"""Lease accounting of one in-memory address pool, as charon's ``mem_pool.c``.

Addresses are offsets 1..size from the pool's base (only the last 32 bits vary). Leases are kept
per identity, in the order identities first got one: a list of *online* leases (offset plus the
peer's address and port, so a make-before-break reauthentication from the same endpoint gets its
online lease once more) and a list of *offline* ones. Acquiring runs in three passes over a
connection's pools, as vici's provider does: an existing lease of that identity (online from the
same endpoint, else the oldest offline one), else a never used address, else the oldest offline
lease of any identity (``reassign``). Releasing takes one online entry away; the lease goes
offline when no tunnel uses it any more.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import Enum, auto
from typing import Any

PeerKey = tuple[bytes, int]  # the peer's address and port (charon hashes both)
LogLine = Callable[[str], None]


class PoolOp(Enum):
    """charon's ``mem_pool_op_t``."""

    EXISTING = auto()
    NEW = auto()
    REASSIGN = auto()


@dataclass
class _Entry:
    identity: Any  # vicid.identity.Identification
    online: list[tuple[int, PeerKey | None]] = field(default_factory=list)
    offline: list[int] = field(default_factory=list)


def _key(identity: Any) -> tuple[int, bytes]:
    """charon hashes the identity's encoding; equal encodings share an entry."""
    return identity.type, identity.data


def _quiet(_line: str) -> None:
    pass


class MemPool:
    """Leases of one pool; ``base`` is the packed first address, ``size`` the address count."""

    def __init__(self, name: str, base: bytes, size: int) -> None:
        self.name, self.base, self.size = name, base, size
        self.unused = 0  # offsets 1..unused have been handed out at least once
        self._entries: dict[tuple[int, bytes], _Entry] = {}

    # --- offsets <-> addresses ------------------------------------------------------------------
    def address(self, offset: int) -> bytes:
        head, last = self.base[:-4], int.from_bytes(self.base[-4:], "big")
        return head + ((last + offset - 1) & 0xFFFFFFFF).to_bytes(4, "big")

    def offset(self, address: bytes) -> int:
        """The offset of ADDRESS, or 0 if it is not from this pool."""
        if len(address) != len(self.base) or address[:-4] != self.base[:-4]:
            return 0
        diff = int.from_bytes(address[-4:], "big") - int.from_bytes(self.base[-4:], "big")
        return diff + 1 if 0 <= diff < self.size else 0

    # --- counters and listing -------------------------------------------------------------------
    @property
    def online(self) -> int:
        return sum(len(e.online) for e in self._entries.values())

    @property
    def offline(self) -> int:
        return sum(len(e.offline) for e in self._entries.values())

    def leases(self) -> Iterator[tuple[Any, bytes, bool]]:
        """(identity, address, online) per lease: each identity's online leases, then offline."""
        for entry in self._entries.values():
            for offset, _ in entry.online:
                yield entry.identity, self.address(offset), True
            for offset in entry.offline:
                yield entry.identity, self.address(offset), False

    # --- acquire / release ----------------------------------------------------------------------
    def acquire(
        self, identity: Any, requested: bytes, op: PoolOp, peer: PeerKey | None, log: LogLine = _quiet
    ) -> bytes | None:
        """An address for IDENTITY by OP, or None (``acquire_address``)."""
        if len(requested) != len(self.base):
            return None
        if op is PoolOp.EXISTING:
            offset = self._existing(identity, requested, peer, log)
        elif op is PoolOp.NEW:
            offset = self._new(identity, peer, log)
        else:
            offset = self._reassigned(identity, peer, log)
            if not offset:
                log(f"pool '{self.name}' is full, unable to assign address")
        return self.address(offset) if offset else None

    def _existing(self, identity: Any, requested: bytes, peer: PeerKey | None, log: LogLine) -> int:
        entry = self._entries.get(_key(identity))
        if entry is None:
            return 0
        if peer is not None:
            wanted = 0 if not any(requested) else self.offset(requested)
            for offset, endpoint in entry.online:
                if endpoint == peer and (not any(requested) or offset == wanted):
                    entry.online.append((offset, endpoint))  # one more user of that lease
                    log(f"reassigning online lease to '{identity}'")
                    return offset
        if entry.offline:
            offset = entry.offline.pop(0)
            entry.online.append((offset, peer))
            log(f"reassigning offline lease to '{identity}'")
            return offset
        return 0

    def _new(self, identity: Any, peer: PeerKey | None, log: LogLine) -> int:
        if self.unused >= self.size:
            return 0
        self.unused += 1
        self._entry(identity).online.append((self.unused, peer))
        log(f"assigning new lease to '{identity}'")
        return self.unused

    def _reassigned(self, identity: Any, peer: PeerKey | None, log: LogLine) -> int:
        offset = 0
        for key, entry in list(self._entries.items()):
            if entry.offline:
                offset = entry.offline.pop(0)
                log(f"reassigning existing offline lease by '{entry.identity}' to '{identity}'")
            if not entry.online and not entry.offline:
                del self._entries[key]
            if offset:
                break
        if offset:
            self._entry(identity).online.append((offset, peer))
        return offset

    def _entry(self, identity: Any) -> _Entry:
        key = _key(identity)
        entry = self._entries.get(key)
        if entry is None:
            entry = self._entries[key] = _Entry(identity)
        return entry

    def release(self, address: bytes, identity: Any, log: LogLine = _quiet) -> bool:
        """One tunnel of IDENTITY no longer uses ADDRESS (``release_address``); True if found."""
        entry = self._entries.get(_key(identity))
        if entry is None:
            return False
        offset = self.offset(address)
        users = [i for i, (o, _) in enumerate(entry.online) if o == offset]
        if not users:
            return False
        del entry.online[users[0]]
        if len(users) == 1:  # no tunnel uses the lease any more
            entry.offline.append(offset)
            log(f"lease {_text(address)} by '{identity}' went offline")
        return True


def _text(address: bytes) -> str:
    from vicid.identity import inet_ntop

    return inet_ntop(address)
