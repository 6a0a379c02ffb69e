"""The fetches the shell runs for the engine, one per answer however many IKE_SAs wait (see :mod:`vicid.ike.fetch`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from vicid.creds.fetching import FetchRequest

GRACE = 2.0  # seconds past a fetch's timeout before the engine stops waiting for the shell


@dataclass
class _Pending:
    request: FetchRequest
    deadline: float
    waiting: list[int] = field(default_factory=list)  # IKE_SA unique IDs


class FetchTable:
    """The fetches the shell is running for the engine, by fetch ID and by answer key."""

    def __init__(self) -> None:
        self._next = 1
        self.pending: dict[int, _Pending] = {}
        self._by_key: dict[tuple, int] = {}

    def request(self, uid: int, request: FetchRequest, now: float) -> tuple[int, bool]:
        """(fetch ID, whether it is new) for an IKE_SA that needs ``request`` answered."""
        fetch_id = self._by_key.get(request.key)
        if fetch_id is not None:
            pending = self.pending[fetch_id]
            if uid not in pending.waiting:
                pending.waiting.append(uid)
            return fetch_id, False
        fetch_id, self._next = self._next, self._next + 1
        self.pending[fetch_id] = _Pending(request, now + request.timeout + GRACE, [uid])
        self._by_key[request.key] = fetch_id
        return fetch_id, True

    def complete(self, fetch_id: int) -> _Pending | None:
        pending = self.pending.pop(fetch_id, None)
        if pending is not None:
            self._by_key.pop(pending.request.key, None)
        return pending

    def forget(self, uid: int) -> None:
        """An IKE_SA is gone: it waits for nothing (a fetch nobody waits for is dropped; its
        late answer is ignored)."""
        for fetch_id, pending in list(self.pending.items()):
            if uid in pending.waiting:
                pending.waiting.remove(uid)
                if not pending.waiting:
                    self.complete(fetch_id)

    def expired(self, now: float) -> list[int]:
        return [fid for fid, p in self.pending.items() if p.deadline <= now]

    def next_deadline(self) -> float | None:
        return min((p.deadline for p in self.pending.values()), default=None)
