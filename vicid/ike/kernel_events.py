"""What a kernel backend reports to the engine: lifetime expiries and acquires (charon's
``kernel_listener_t``). The ports in vicid/kernel and vicid/datapath send them; the shell hands
them to ``IkeSaManager.kernel_event``."""

from __future__ import annotations

from dataclasses import dataclass

from vicid.ike.effects import IpAddress
from vicid.ike.ts import TrafficSelector
from vicid.ike.wire.enums import ProtocolId


@dataclass(frozen=True)
class KernelExpire:
    """A soft (rekey) or hard (delete) lifetime of one installed SA ran out.

    After a hard expire the SA is already gone from the backend, as with XFRM.
    """

    spi: int
    hard: bool
    protocol: int = ProtocolId.ESP
    dst: IpAddress | None = None
    reqid: int = 0


@dataclass(frozen=True)
class KernelAcquire:
    """Traffic hit a trap (or SA-less IPsec) policy: the engine should negotiate ``reqid``.

    ``src_ts``/``dst_ts`` narrow to the packet that triggered it (host selectors) where the
    backend knows it, as charon passes them on for TS narrowing; else they are None.
    """

    reqid: int
    src_ts: TrafficSelector | None = None
    dst_ts: TrafficSelector | None = None


KernelEvent = KernelExpire | KernelAcquire
