"""The KernelPort contract: what the shell awaits for each kernel effect, and what comes back.

The engine emits ``InstallChildSa`` / ``UpdateChildSa`` / ``DeleteChildSa`` / ``InstallPolicy`` /
``DeletePolicy`` in the order they must happen (inbound SA before the response that lets the peer
send, new SA before the old one goes). The shell awaits each one through :func:`execute` before it
looks at the next effect, so a port never reorders. Ports report SA lifetime expiries and acquires
for trap policies on their ``events`` channel; the shell feeds them to ``IkeSa.kernel_event``.

This module is pure (no trio, socket, os or time); the event types are the engine's inputs and live
with it (:mod:`vicid.ike.kernel_events`).
Two implementations exist, chosen like charon chooses its IPsec backend (:func:`select_kernel`):
``kernel-netlink`` (:mod:`vicid.kernel.xfrm`, the Linux XFRM layer) and ``kernel-libipsec``
(:mod:`vicid.datapath.port`, ESP in userspace over a TUN device, always UDP-encapsulated).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from vicid.ike.effects import (
    DeleteChildSa,
    DeletePolicy,
    DeleteVirtualIp,
    Effect,
    InstallChildSa,
    InstallPolicy,
    InstallVirtualIp,
    IpAddress,
    UpdateChildSa,
)
from vicid.ike.kernel_events import KernelAcquire as KernelAcquire  # re-exported for the ports
from vicid.ike.kernel_events import KernelEvent as KernelEvent
from vicid.ike.kernel_events import KernelExpire as KernelExpire
from vicid.ike.wire.enums import ProtocolId

log = logging.getLogger("vicid.kernel")

NETLINK = "kernel-netlink"
LIBIPSEC = "kernel-libipsec"
BACKENDS = (NETLINK, LIBIPSEC)


# --- events the ports send to the engine: defined with the engine, which takes them --------



@dataclass(frozen=True)
class SaUsage:
    """Counters of one SA, as charon's ``query_sa`` gives them for list-sas.

    ``idle`` is the number of seconds since the SA last carried a packet (charon renders
    ``use-in``/``use-out`` from it), or None if it never did.
    """

    bytes: int
    packets: int
    idle: float | None


@dataclass(frozen=True)
class KernelFeatures:
    """What the engine must adapt to (charon's ``kernel_feature_t``)."""

    requires_udp_encap: bool = False  # KERNEL_REQUIRE_UDP_ENCAPSULATION: fake NAT to force it
    esn: bool = True
    transport_mode: bool = True


class KernelError(Exception):
    """An effect could not be carried out; the message names the SA/policy, never a key."""


# --- the contract -------------------------------------------------------------------------------

@runtime_checkable
class EventChannel(Protocol):
    """The receive side of the events channel (a ``trio.MemoryReceiveChannel``)."""

    async def receive(self) -> KernelEvent: ...

    def __aiter__(self) -> Any: ...


@runtime_checkable
class KernelPort(Protocol):
    """An IPsec backend. Every method may raise :class:`KernelError`; none logs key material."""

    name: str  # "kernel-netlink", "kernel-libipsec", "fake"
    features: KernelFeatures
    events: EventChannel

    async def run(self, *, task_status: Any = ...) -> None:
        """Background work (event readers, forwarder); ``nursery.start(port.run)``."""

    async def apply(self, effect: Effect) -> None:
        """Carry out one kernel effect (dispatches to the methods below, see :func:`execute`)."""

    async def install_sa(self, sa: InstallChildSa) -> None: ...
    async def update_sa(self, sa: UpdateChildSa) -> None: ...
    async def delete_sa(self, sa: DeleteChildSa) -> None:
        """Deleting an SA that is already gone (hard expire) is not an error."""

    async def install_policy(self, policy: InstallPolicy) -> None:
        """Policies are reference counted per selector and direction, as in charon."""

    async def delete_policy(self, policy: DeletePolicy) -> None: ...

    async def query_sa(self, spi: int, protocol: int = ProtocolId.ESP,
                       dst: IpAddress | None = None) -> SaUsage: ...

    async def add_ip(self, vip: InstallVirtualIp) -> None:
        """Install a virtual IP we were assigned (reference counted)."""

    async def del_ip(self, vip: DeleteVirtualIp) -> None: ...

    async def aclose(self) -> None:
        """Remove everything this port installed (SAs, policies, routes, devices)."""


KERNEL_EFFECTS = (InstallChildSa, UpdateChildSa, DeleteChildSa, InstallPolicy, DeletePolicy, InstallVirtualIp,
                  DeleteVirtualIp)


async def execute(port: KernelPort, effect: Effect) -> None:
    """Carry out one kernel effect on PORT; the shell calls this in effect order."""
    match effect:
        case InstallChildSa():
            await port.install_sa(effect)
        case UpdateChildSa():
            await port.update_sa(effect)
        case DeleteChildSa():
            await port.delete_sa(effect)
        case InstallPolicy():
            await port.install_policy(effect)
        case DeletePolicy():
            await port.delete_policy(effect)
        case InstallVirtualIp():
            await port.add_ip(effect)
        case DeleteVirtualIp():
            await port.del_ip(effect)
        case _:
            raise TypeError(f"not a kernel effect: {type(effect).__name__}")


# --- backend selection --------------------------------------------------------------------------

SettingsGet = Callable[[str], "str | None"]
EspProbe = Callable[[], "str | None"]  # None if the kernel can hold ESP states, else why not


def _truthy(value: str | None) -> bool | None:
    """A plugin ``load`` value: yes/no/true/false or a priority number (non-zero loads)."""
    if value is None:
        return None
    v = value.strip().lower()
    if v in ("yes", "true", "enabled", "on"):
        return True
    if v in ("no", "false", "disabled", "off", "0"):
        return False
    return v.lstrip("-").isdigit() or None


def _from_load_list(load: str) -> str | None:
    """charon.load: the first kernel IPsec plugin listed registers first and wins."""
    for name in load.replace(",", " ").split():
        name = name.rstrip("!")
        if name in BACKENDS:
            return name
    return None


def configured_kernel(settings_get: SettingsGet, ns: str = "charon") -> tuple[str | None, str]:
    """The backend strongswan.conf asks for, with the reason, or (None, why it is open)."""
    load = settings_get(f"{ns}.load")
    if load:
        chosen = _from_load_list(load)
        if chosen:
            return chosen, f"first IPsec backend in {ns}.load"
        return None, f"{ns}.load names neither {NETLINK} nor {LIBIPSEC}"
    libipsec = _truthy(settings_get(f"{ns}.plugins.{LIBIPSEC}.load"))
    netlink = _truthy(settings_get(f"{ns}.plugins.{NETLINK}.load"))
    if libipsec:
        return LIBIPSEC, f"{ns}.plugins.{LIBIPSEC}.load"
    if netlink is False:
        return LIBIPSEC, f"{ns}.plugins.{NETLINK}.load = no"
    if netlink:
        return NETLINK, f"{ns}.plugins.{NETLINK}.load"
    return None, "no kernel plugin configured"


def select_kernel(settings_get: SettingsGet, probe_esp: EspProbe | None = None, ns: str = "charon") -> str:
    """Choose ``kernel-netlink`` or ``kernel-libipsec`` and log one line saying why.

    strongswan.conf decides first (``charon.load`` order, else ``charon.plugins.kernel-*.load``),
    as charon's plugin loader would. Otherwise PROBE_ESP tells whether the kernel can hold ESP
    states (this host's cannot); without a probe kernel-netlink is assumed, charon's default.
    """
    chosen, why = configured_kernel(settings_get, ns)
    if chosen:
        log.info("using %s as IPsec backend (%s)", chosen, why)
        return chosen
    if probe_esp is None:
        log.info("using %s as IPsec backend (%s, charon's default)", NETLINK, why)
        return NETLINK
    problem = probe_esp()
    if problem is None:
        log.info("using %s as IPsec backend (%s; the kernel accepts ESP SAs)", NETLINK, why)
        return NETLINK
    log.info("using %s as IPsec backend: the kernel has no ESP (%s), ESP runs in userspace over "
             "TUN and is always UDP-encapsulated", LIBIPSEC, problem)
    return LIBIPSEC
