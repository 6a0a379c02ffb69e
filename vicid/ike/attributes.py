"""What the engine asks of whoever hands out virtual IPs and configuration attributes.

charon's ``attribute_manager`` asks its providers (vici's pools among them) for an address per
requested virtual IP, gives leases back when an IKE_SA goes, and collects the attributes a
pool defines for the addresses it assigned. The engine sees only this small protocol, so it
never imports the configuration layer that keeps the pools (``vicid.config.pools``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from vicid.identity import Identification
from vicid.ike.effects import Endpoint, IpAddress

LogLine = Callable[[str], None]  # one charon CFG level-1 line, logged in the IKE_SA's context


class AttributeProvider(Protocol):
    """charon's ``attribute_provider_t``, as the vici plugin implements it."""

    def acquire_address(
        self, pools: Sequence[str], identity: Identification, requested: IpAddress, peer: Endpoint, log: LogLine
    ) -> IpAddress | None:
        """An address for IDENTITY from the first of POOLS that has one (``requested`` is the
        address the peer asked for, or the unspecified address); None if no pool can."""
        ...

    def release_address(self, pools: Sequence[str], address: IpAddress, identity: Identification, log: LogLine) -> bool:
        """The IKE_SA holding ADDRESS for IDENTITY is gone; True if a pool knew the lease."""
        ...

    def responder_attributes(self, pools: Sequence[str], vips: Sequence[IpAddress]) -> list[tuple[int, bytes]]:
        """(attribute type, value) of the pools among POOLS that assigned one of VIPS."""
        ...
