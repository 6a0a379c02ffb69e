"""Inbound ESP for SPIs we handed out but have not installed yet ("larval" SAs). Pure.

A peer may send on a new CHILD_SA as soon as it has sent the response that creates it. In a
make-before-break reauthentication charon's libipsec (and XFRM) move outbound traffic to the
newest SA of a reqid at once, so the first packets on the new SA can reach us before the IKE_AUTH
response they follow: the initiator cannot install its inbound SA earlier, it learns the chosen
proposal only from that response. XFRM drops such packets (its larval state has no keys). We
keep a few, briefly, and process them once the SA is installed; only for SPIs the engine has
allocated, so traffic for deleted SAs is still dropped at once.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from vicid.ike.effects import Endpoint

HOLD_LIMIT = 64  # packets held over all SPIs (a flood only displaces older ones)
HOLD_TIME = 1.0  # seconds a packet may wait for its SA (covers a loaded engine's IKE round)


class LarvalQueue:
    """Packets waiting for the inbound SA of their SPI."""

    def __init__(
        self, reserved: Callable[[int], bool] | None = None, limit: int = HOLD_LIMIT, hold_time: float = HOLD_TIME
    ) -> None:
        self.reserved = reserved  # does the engine hold this SPI for a CHILD_SA being set up?
        self.limit = limit
        self.hold_time = hold_time
        self.expired = 0  # packets whose SA never came (or that a full queue pushed out)
        self._held: deque[tuple[float, int, bytes, Endpoint, Endpoint]] = deque()

    def __len__(self) -> int:
        return len(self._held)

    def hold(self, spi: int, data: bytes, src: Endpoint, dst: Endpoint, now: float) -> bool:
        """Keep DATA if SPI is allocated but not installed; False means drop it as usual."""
        if self.reserved is None or not self.reserved(spi):
            return False
        self._expire(now)
        if len(self._held) >= self.limit:
            self._held.popleft()
            self.expired += 1
        self._held.append((now + self.hold_time, spi, data, src, dst))
        return True

    def release(self, spi: int, now: float) -> list[tuple[bytes, Endpoint, Endpoint]]:
        """The packets held for SPI (its inbound SA is now installed), oldest first."""
        self._expire(now)
        if not self._held:
            return []
        found = [(data, src, dst) for _, s, data, src, dst in self._held if s == spi]
        if found:
            self._held = deque(entry for entry in self._held if entry[1] != spi)
        return found

    def _expire(self, now: float) -> None:
        held = self._held
        while held and held[0][0] <= now:
            held.popleft()
            self.expired += 1
