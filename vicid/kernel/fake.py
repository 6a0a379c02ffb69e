"""A recording in-memory KernelPort for engine and shell tests.

It keeps the effects it was given (``calls``, in order), the SAs and policies currently
installed, and lets a test inject expire/acquire events or make the next call fail. The
assertion helpers read like charon's ``assert_ipsec_sas_installed`` /
``assert_policies_installed`` from its exchange tests.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import trio

from vicid.ike.effects import (
    DeleteChildSa,
    DeletePolicy,
    DeleteVirtualIp,
    Direction,
    Effect,
    InstallChildSa,
    InstallPolicy,
    InstallVirtualIp,
    IpAddress,
    UpdateChildSa,
)
from vicid.ike.wire.enums import ProtocolId
from vicid.kernel.port import KernelError, KernelEvent, KernelFeatures, SaUsage, execute


def _pkey(direction: Direction, local_ts: object, remote_ts: object, kind: str) -> tuple:
    return (direction, str(local_ts), str(remote_ts), kind)


class FakeKernel:
    """KernelPort double: records, never touches the system."""

    name = "fake"

    def __init__(self, features: KernelFeatures | None = None, event_buffer: int = 100) -> None:
        self.features = features or KernelFeatures()
        self.calls: list[Effect] = []
        self.sas: dict[int, InstallChildSa] = {}
        self.policies: Counter[tuple] = Counter()
        self.usage: dict[int, SaUsage] = {}
        self.vips: Counter[IpAddress] = Counter()  # virtual IPs and their references
        self._fail: dict[type, str] = {}
        self._events_send, self.events = trio.open_memory_channel[KernelEvent](event_buffer)
        self.closed = False

    # --- KernelPort -----------------------------------------------------------------------------
    async def run(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        await trio.sleep_forever()

    def _record(self, effect: Effect) -> None:
        self.calls.append(effect)
        reason = self._fail.pop(type(effect), None)
        if reason is not None:
            raise KernelError(reason)

    async def apply(self, effect: Effect) -> None:
        """One kernel effect, in the engine's order (the shell's entry point)."""
        await execute(self, effect)

    async def install_sa(self, sa: InstallChildSa) -> None:
        self.install_sa_now(sa)

    def install_sa_now(self, sa: InstallChildSa) -> None:
        """Synchronous install, as the userspace backend offers: the engine learns a failure at once."""
        self._record(sa)
        if sa.spi in self.sas:
            raise KernelError(f"SA {sa.spi:08x} exists already")
        self.sas[sa.spi] = sa

    async def update_sa(self, sa: UpdateChildSa) -> None:
        self._record(sa)
        if sa.spi not in self.sas:
            raise KernelError(f"no SA {sa.spi:08x}")

    async def delete_sa(self, sa: DeleteChildSa) -> None:
        self._record(sa)
        self.sas.pop(sa.spi, None)

    async def install_policy(self, policy: InstallPolicy) -> None:
        self._record(policy)
        self.policies[_pkey(policy.direction, policy.local_ts, policy.remote_ts, policy.kind)] += 1

    async def delete_policy(self, policy: DeletePolicy) -> None:
        self._record(policy)
        key = _pkey(policy.direction, policy.local_ts, policy.remote_ts, policy.kind)
        if self.policies[key] <= 0:
            raise KernelError(f"no policy {policy.local_ts} === {policy.remote_ts} {policy.direction.value}")
        self.policies[key] -= 1
        if not self.policies[key]:
            del self.policies[key]

    async def add_ip(self, vip: InstallVirtualIp) -> None:
        self._record(vip)
        self.vips[vip.address] += 1

    async def del_ip(self, vip: DeleteVirtualIp) -> None:
        self._record(vip)
        if self.vips[vip.address] <= 1:
            self.vips.pop(vip.address, None)
        else:
            self.vips[vip.address] -= 1

    async def query_sa(self, spi: int, protocol: int = ProtocolId.ESP, dst: IpAddress | None = None) -> SaUsage:
        if spi not in self.sas:
            raise KernelError(f"no SA {spi:08x}")
        return self.usage.get(spi, SaUsage(0, 0, None))

    async def aclose(self) -> None:
        self.closed = True
        self.sas.clear()
        self.policies.clear()
        self.vips.clear()

    # --- test controls --------------------------------------------------------------------------
    def fail_next(self, effect_type: type, reason: str = "injected failure") -> None:
        """Make the next call for EFFECT_TYPE raise KernelError (after recording it)."""
        self._fail[effect_type] = reason

    def inject(self, event: KernelEvent) -> None:
        """Deliver an expire/acquire to whoever reads ``events``."""
        self._events_send.send_nowait(event)

    def set_usage(self, spi: int, bytes: int, packets: int, idle: float | None = 0.0) -> None:
        self.usage[spi] = SaUsage(bytes, packets, idle)

    # --- assertions -----------------------------------------------------------------------------
    def kinds(self) -> list[str]:
        """The recorded calls as short names: ``["install_sa in 0000c001", "install_policy out", ...]``."""
        out = []
        for c in self.calls:
            match c:
                case InstallChildSa():
                    out.append(f"install_sa {'in' if c.inbound else 'out'} {c.spi:08x}")
                case DeleteChildSa():
                    out.append(f"delete_sa {'in' if c.inbound else 'out'} {c.spi:08x}")
                case UpdateChildSa():
                    out.append(f"update_sa {c.spi:08x}")
                case InstallPolicy():
                    out.append(f"install_policy {c.direction.value}")
                case DeletePolicy():
                    out.append(f"delete_policy {c.direction.value}")
                case InstallVirtualIp():
                    out.append(f"add_ip {c.address}")
                case DeleteVirtualIp():
                    out.append(f"del_ip {c.address}")
        return out

    def assert_sas_installed(self, *spis: int) -> None:
        """Exactly these SPIs are installed (charon's assert_ipsec_sas_installed)."""
        have, want = sorted(self.sas), sorted(spis)
        assert have == want, f"installed SAs {[f'{s:08x}' for s in have]} != {[f'{s:08x}' for s in want]}"

    def assert_policies_installed(self, count: int) -> None:
        total = sum(self.policies.values())
        assert total == count, f"{total} policies installed, expected {count}: {dict(self.policies)}"

    def assert_installed_before(self, first: str, then: str) -> None:
        """Call named FIRST (prefix of a :meth:`kinds` entry) precedes THEN."""
        kinds = self.kinds()
        i = next((n for n, k in enumerate(kinds) if k.startswith(first)), None)
        j = next((n for n, k in enumerate(kinds) if k.startswith(then)), None)
        assert i is not None and j is not None and i < j, f"{first!r} not before {then!r} in {kinds}"

    def sa(self, spi: int) -> InstallChildSa:
        return self.sas[spi]
