"""Build the KernelPort strongswan.conf asks for (or the host supports), as charon loads one plugin."""

from __future__ import annotations

from collections.abc import Callable

from vicid.datapath.forwarder import SendEsp, SendEspBatch, SendEspNowait
from vicid.datapath.port import LibipsecOptions, LibipsecPort
from vicid.kernel.port import LIBIPSEC, EspProbe, KernelPort, SettingsGet, select_kernel
from vicid.kernel.xfrm import XfrmPort, probe_kernel_esp


def create_kernel_port(settings_get: SettingsGet, send_esp: SendEsp, *, ns: str = "charon",
                       probe: EspProbe | None = probe_kernel_esp,
                       netns: str | None = None, send_nowait: SendEspNowait | None = None,
                       send_batch: SendEspBatch | None = None) -> KernelPort:
    """``kernel-libipsec`` sends ESP through SEND_ESP (the shell's UDP 4500 socket) and wants
    the shell to pass received ESP to ``port.receive_esp``; ``kernel-netlink`` needs neither
    (the kernel decapsulates on the 4500 socket once UDP_ENCAP_ESPINUDP is set on it).
    SEND_NOWAIT, if given, is the datapath's non-blocking fast path to the same socket, SEND_BATCH
    one for a burst of datagrams to one peer (UDP GSO)."""
    opts = LibipsecOptions.from_settings(settings_get, ns)
    backend = select_kernel(settings_get, _in_netns(probe, netns), ns)
    if backend == LIBIPSEC:
        return LibipsecPort(send_esp, opts, netns=netns, send_nowait=send_nowait, send_batch=send_batch)
    return XfrmPort(netns, install_routes=opts.install_routes, routing_table=opts.routing_table,
                    routing_table_prio=opts.routing_table_prio, install_virtual_ip=opts.install_virtual_ip)


def _in_netns(probe: EspProbe | None, netns: str | None) -> Callable[[], str | None] | None:
    if probe is None or netns is None:
        return probe
    return lambda: probe_kernel_esp(netns)
