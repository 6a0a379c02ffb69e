"""One IKE_SA: a sans-I/O object with inputs that take ``now`` and effects as output.

Inputs: :meth:`IkeSa.receive` (one datagram routed here by the manager), :meth:`handle_timer`,
:meth:`initiate`, :meth:`delete`, :meth:`delete_child`. Outputs go to the shared ordered effect
queue of the :class:`~vicid.ike.context.EngineContext`; :meth:`next_deadline` tells when the
SA wants :meth:`handle_timer` (retransmission, half-open timeout, hard lifetime).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from ipaddress import ip_address

from vicid.identity import Identification
from vicid.ike.auth_info import AuthRounds
from vicid.ike.child import ChildSa, ChildState
from vicid.ike.config import ChildConfig, Fragmentation, PeerConfig
from vicid.ike.context import EngineContext
from vicid.ike.crypto.fragments import fragment
from vicid.ike.crypto.sk import protect
from vicid.ike.effects import (
    Alert,
    ChildRekey,
    ChildStateChange,
    ChildUpDown,
    DeleteVirtualIp,
    Endpoint,
    IkeRekey,
    IkeSaView,
    IkeStateChange,
    IkeUpdate,
    IkeUpDown,
    InstallVirtualIp,
    IpAddress,
    Log,
    QueryInboundUse,
    SendDatagram,
    UpdateChildSa,
)
from vicid.ike.ike_keymat import IkeKeymat
from vicid.ike.log_mirror import LOG_TARGETS, log_target, stdlib_record
from vicid.ike.proposal import Proposal
from vicid.ike.sa_state import Cond, Ext, IkeState
from vicid.ike.task_types import Status, TaskKind
from vicid.ike.wire.enums import IntegAlg, KeMethod, PrfAlg, TransformType, encr_name
from vicid.ike.wire.message import Message
from vicid.ike.wire.natt import IKE_PORT, add_non_esp_marker, needs_non_esp_marker


class Listener:
    """Bus listener hooks the controller uses for vici request completion."""

    def ike_state_change(self, sa: IkeSa, state: IkeState) -> bool:
        """Return False to unregister."""
        return True

    def child_state_change(self, sa: IkeSa, child: ChildSa, state: ChildState) -> bool:
        return True


@dataclass
class Timers:
    established: float | None = None
    rekey: float | None = None
    reauth: float | None = None
    delete: float | None = None
    half_open: float | None = None
    dpd: float | None = None


def _ep(host: Endpoint) -> str:
    """charon's ``%#H``: address[port]."""
    return f"{host[0]}[{host[1]}]"


def _host_text(host: Endpoint) -> str:
    return "%any" if not int(host[0]) else str(host[0])


class IkeSa:
    """An IKE_SA (charon ``ike_sa_t``) plus its task manager."""

    def __init__(self, ctx: EngineContext, *, initiator: bool, spi_i: bytes, spi_r: bytes,
                 my_host: Endpoint, other_host: Endpoint, peer_cfg: PeerConfig | None = None,
                 ike_cfg: PeerConfig | None = None, now: float = 0.0) -> None:
        self.ctx = ctx
        self.uniqueid = ctx.ike_uniqueid()
        self.initiator = initiator
        self.spi_i, self.spi_r = spi_i, spi_r
        self.my_host, self.other_host = my_host, other_host
        self.ike_cfg: PeerConfig | None = ike_cfg or peer_cfg
        self.peer_cfg: PeerConfig | None = peer_cfg
        self.state = IkeState.CREATED
        self.my_id: Identification = Identification.any()
        self.other_id: Identification = Identification.any()
        self.proposal: Proposal | None = None
        self.keymat = IkeKeymat(ctx.rng, initiator)
        self.extensions: set[Ext] = set()
        self.conditions: set[Cond] = set()
        self.children: list[ChildSa] = []
        self.listeners: list[Listener] = []
        self.timers = Timers()
        self.now = now
        self.nat_detection_dest: bytes = b""
        self.auth = AuthRounds()  # authentication rounds (ike_auth, ike_cert_pre/post)
        self.my_vips: list[IpAddress] = []  # virtual IPs we got (ike_config), installed
        self.other_vips: list[IpAddress] = []  # virtual IPs we assigned to the peer (leases)
        self.config_attributes: list[tuple[int, bytes]] = []  # other attributes we received
        self.tm = ctx.new_task_manager(self)  # a TaskManager: the manager hands its class down
        self.destroyed = False
        self.inbound_at = now  # last authenticated message from the peer (DPD)
        self.esp_inbound_at = -math.inf  # last inbound ESP on a CHILD_SA, as the backend told us
        self.esp_query_pending = False  # a QueryInboundUse awaits its answer
        self.keyingtry = 0

    # --- identity / names -------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.peer_cfg.name if self.peer_cfg else "(unnamed)"

    @property
    def my_spi(self) -> bytes:
        return self.spi_i if self.initiator else self.spi_r

    @property
    def nat_any(self) -> bool:
        return bool(self.conditions & {Cond.NAT_HERE, Cond.NAT_THERE, Cond.NAT_FAKE})

    def has(self, cond: Cond) -> bool:
        return cond in self.conditions

    def set_condition(self, cond: Cond, value: bool) -> None:
        if value:
            self.conditions.add(cond)
        else:
            self.conditions.discard(cond)

    def supports(self, ext: Ext) -> bool:
        return ext in self.extensions

    # --- effects ------------------------------------------------------------------------------
    def log(self, group: str, level: int, msg: str) -> None:
        """A charon log line: Log effect (control-log) and stdlib logging."""
        ctx = self.ctx
        ctx.touched.add(self.uniqueid)
        if level <= ctx.control_log_level:
            ctx.emit(Log(group, level, msg, self.name, self.uniqueid))
        logger, pylevel = LOG_TARGETS.get((group, level)) or log_target(group, level)
        if logger.isEnabledFor(pylevel):
            stdlib_record(logger, pylevel, level, msg, (self.name, self.uniqueid))

    def logs(self, group: str, level: int) -> bool:
        """Does anyone take such a line? (guards lines that cost something to build; like a
        logged line, asking marks the SA as changed for the manager's index)"""
        ctx = self.ctx
        ctx.touched.add(self.uniqueid)
        if level <= ctx.control_log_level:  # ctx.logs(), inlined: asked ~30 times per handshake
            return True
        logger, pylevel = LOG_TARGETS.get((group, level)) or log_target(group, level)
        return logger.isEnabledFor(pylevel)

    def _wants(self, event: type) -> bool:
        """Does the shell take this event? (the SA counts as changed either way)"""
        self.ctx.touched.add(self.uniqueid)
        return self.ctx.wants_event(event)

    def drop(self, reason: str) -> None:
        self.ctx.drop(reason)

    def alert(self, kind: str) -> None:
        if self._wants(Alert):
            self.ctx.emit(Alert(kind, self.view(self.now)))

    def send(self, packets: Sequence[bytes], src: Endpoint, dst: Endpoint) -> None:
        """SendDatagram per packet; the non-ESP marker unless one port is 500 (RFC 3948 §2.2)."""
        marker = needs_non_esp_marker(src[1], dst[1])
        logs = self.logs("NET", 1)
        for packet in packets:
            if logs:
                self.log("NET", 1, f"sending packet: from {_ep(src)} to {_ep(dst)} ({len(packet)} bytes)")
            self.ctx.emit(SendDatagram(add_non_esp_marker(packet) if marker else packet, src, dst))

    def protect(self, message: Message, src: Endpoint, dst: Endpoint) -> list[bytes]:
        """SK-protect ``message``, as SKF fragments when fragmentation is in use (RFC 7383)."""
        cipher = self.keymat.outbound
        assert cipher is not None
        if not self.use_fragmentation():
            return [protect(message, cipher, self.keymat.next_iv())]
        ipv6 = dst[0].version == 6
        return fragment(message, cipher, self.keymat.next_iv,
                        fragment_size=self.ctx.settings.fragment_size_for(ipv6), ipv6=ipv6,
                        non_esp_marker=needs_non_esp_marker(src[1], dst[1]))

    def use_fragmentation(self) -> bool:
        mode = self.ike_cfg.fragmentation if self.ike_cfg else Fragmentation.YES
        return mode == Fragmentation.FORCE or (mode == Fragmentation.YES and self.supports(Ext.FRAGMENTATION))

    # --- state and events ---------------------------------------------------------------------
    def set_state(self, state: IkeState) -> None:
        if self.logs("IKE", 2):
            self.log("IKE", 2, f"IKE_SA {self.name}[{self.uniqueid}] state change: "
                               f"{self.state.value} => {state.value}")
        if state == IkeState.ESTABLISHED and self.state in (IkeState.CONNECTING, IkeState.PASSIVE):
            self.timers.half_open = None
            self._schedule_lifetimes()
        if self._wants(IkeStateChange):
            self.ctx.emit(IkeStateChange(self.view(self.now), state.value))
        self.state = state
        self.listeners = [lst for lst in self.listeners if lst.ike_state_change(self, state)]

    def _schedule_lifetimes(self) -> None:
        """Rekey/reauth/over times as charon's ``set_state(IKE_ESTABLISHED)`` logs them."""
        cfg, t = self.peer_cfg, self.timers
        t.established = self.now
        if cfg is None:
            return
        rekey, reauth = self._jittered(cfg.rekey_time, cfg), self._jittered(cfg.reauth_time, cfg)
        if rekey:
            t.rekey = self.now + rekey
            self.log("IKE", 1, f"scheduling rekeying in {rekey}s")
        if reauth:
            t.reauth = self.now + reauth
            self.log("IKE", 1, f"scheduling reauthentication in {reauth}s")
        first = min(x for x in (t.rekey, t.reauth) if x is not None) if (t.rekey or t.reauth) else None
        if first is not None:
            t.delete = first + cfg.over_time
            self.log("IKE", 1, f"maximum IKE_SA lifetime {int(t.delete - self.now)}s")
        if cfg.dpd_delay:
            t.dpd = self.now + cfg.dpd_delay
            self.inbound_at = self.now  # peers may delay the DELETE after a rekeying

    def _jittered(self, seconds: int, cfg: PeerConfig) -> int:
        if not seconds or not cfg.rand_time:
            return seconds
        return seconds - int(self.ctx.rng.random() * cfg.rand_time)

    def ike_updown(self, up: bool) -> None:
        """Bus ``ike_updown``; a down event implicitly downs all CHILD_SAs (``bus.c``)."""
        wants = self._wants
        ike_event, child_events = wants(IkeUpDown), not up and wants(ChildUpDown)
        if not ike_event and not child_events:
            return
        view = self.view(self.now)
        if ike_event:
            self.ctx.emit(IkeUpDown(view, up))
        if not child_events:
            return
        for child in self.children:
            if child.state not in (ChildState.REKEYED, ChildState.DELETED):
                self.ctx.emit(ChildUpDown(view, child.view(self.now), False))

    def child_updown(self, child: ChildSa, up: bool) -> None:
        if self._wants(ChildUpDown):
            self.ctx.emit(ChildUpDown(self.view(self.now), child.view(self.now), up))

    def set_child_state(self, child: ChildSa, state: ChildState) -> None:
        if child.state == state:
            return
        if self.logs("CHD", 2):
            self.log("CHD", 2, f"CHILD_SA {child.name}{{{child.uniqueid}}} state change: "
                               f"{child.state.value} => {state.value}")
        if self._wants(ChildStateChange):
            self.ctx.emit(ChildStateChange(self.view(self.now), child.view(self.now), state.value))
        self.listeners = [lst for lst in self.listeners if lst.child_state_change(self, child, state)]
        child.state = state

    # --- hosts --------------------------------------------------------------------------------
    def float_ports(self) -> None:
        """Switch to UDP 4500 after NAT detection (``float_ports()``)."""
        settings = self.ctx.settings
        if self.other_host[1] == IKE_PORT or self.my_host[1] == IKE_PORT:
            self.other_host = (self.other_host[0], settings.port_nat_t)
        if self.my_host[1] == settings.port:
            self.my_host = (self.my_host[0], settings.port_nat_t)

    def update_hosts(self, me: Endpoint | None, other: Endpoint | None, *, force: bool = False,
                     force_local: bool = False) -> None:
        """Implicit address updates without MOBIKE (``update_hosts()``): forced for IKE_AUTH
        (ports change with NAT-T), otherwise the remote only behind a static NAT."""
        if self.supports(Ext.MOBIKE):
            return
        me, other = me or self.my_host, other or self.other_host
        virgin = not int(self.my_host[0]) or not int(self.other_host[0])
        new_me = me if (virgin or force or force_local) and me != self.my_host else None
        move_other = virgin or force or (self.has(Cond.NAT_THERE) and (
            not self.has(Cond.NAT_HERE) or not self.has(Cond.ORIGINAL_INITIATOR)))
        new_other = other if move_other and other != self.other_host else None
        self._apply_hosts(new_me, new_other, silent=virgin)

    def move_hosts(self, me: Endpoint, other: Endpoint) -> None:
        """An explicit MOBIKE address update (UPDATE_SA_ADDRESSES)."""
        self._apply_hosts(me if me != self.my_host else None,
                          other if other != self.other_host else None, silent=False)

    def _apply_hosts(self, new_me: Endpoint | None, new_other: Endpoint | None, silent: bool) -> None:
        if new_me is None and new_other is None:
            return
        level = 1 if self.state == IkeState.ESTABLISHED else 2
        if not silent and self._wants(IkeUpdate):
            self.ctx.emit(IkeUpdate(self.view(self.now), new_me or self.my_host, new_other or self.other_host))
        if new_me is not None:
            if self.logs("IKE", level):
                self.log("IKE", level, f"local endpoint changed from {_ep(self.my_host)} to {_ep(new_me)}")
            self.my_host = new_me
        if new_other is not None:
            if self.logs("IKE", level):
                self.log("IKE", level, f"remote endpoint changed from {_ep(self.other_host)} to {_ep(new_other)}")
            self.other_host = new_other
        for child in self.children:
            self._update_child(child)

    def _update_child(self, child: ChildSa) -> None:
        """``child_sa->update``: move both SAs of an installed CHILD_SA to the new endpoints."""
        old_me, old_other = child.my_host, child.other_host
        child.my_host, child.other_host, child.encap = self.my_host, self.other_host, self.nat_any
        if child.installed_in and old_me is not None:
            self.ctx.emit(UpdateChildSa(child.spi_in_int, child.protocol, old_me, self.other_host,
                                        self.my_host, child.encap))
        if child.installed_out and old_other is not None:
            self.ctx.emit(UpdateChildSa(child.spi_out_int, child.protocol, old_other, self.my_host,
                                        self.other_host, child.encap))
        if child.pending_out is not None:  # a registered outbound SA goes in with the new hosts
            child.pending_out = replace(child.pending_out, src=self.my_host, dst=self.other_host,
                                        encap=child.encap)

    def reset(self) -> None:
        """``ike_sa->reset(FALSE)``: retry IKE_SA_INIT with the same SPIi, new keys, MID 0."""
        if self.initiator:
            self.spi_r = bytes(8)
        self.set_state(IkeState.CREATED)
        self.keymat = IkeKeymat(self.ctx.rng, self.initiator)
        self.tm.reset(0, 0)
        self.tm.queue_ike()

    # --- virtual IPs --------------------------------------------------------------------------
    def other_eap_id(self) -> Identification:
        """``get_other_eap_id``: the peer's EAP identity if it used one, else its IKE identity."""
        return self.auth.remote_eap_identity or self.other_id

    def add_virtual_ip(self, local: bool, ip: IpAddress) -> None:
        """``add_virtual_ip``: ours is installed (on the TUN device / the IKE interface)."""
        if local:
            self.log("IKE", 1, f"installing new virtual IP {ip}")
            self.ctx.emit(InstallVirtualIp(ip, self.my_host[0]))
            self.my_vips.append(ip)
        else:
            self.other_vips.append(ip)

    def clear_virtual_ips(self, local: bool) -> None:
        """``clear_virtual_ips``: ours are removed; the peer's are only forgotten (no release)."""
        if local:
            for ip in self.my_vips:
                self.ctx.emit(DeleteVirtualIp(ip))
            self.my_vips = []
        else:
            self.other_vips = []

    def dynamic_hosts(self, local: bool) -> list[IpAddress]:
        """``ike_sa_get_dynamic_hosts``: what ``dynamic`` selectors resolve to - the virtual IPs,
        else our address; the peer's address only if no pool would assign it one."""
        vips = self.my_vips if local else self.other_vips
        if vips:
            return list(vips)
        if local:
            return [self.my_host[0]]
        if self.peer_cfg is not None and self.peer_cfg.pools:
            return []
        return [self.other_host[0]]

    def _release_virtual_ips(self) -> None:
        """On destroy: remove ours, give the peer's leases back to their pools."""
        for ip in reversed(self.my_vips):
            self.ctx.emit(DeleteVirtualIp(ip))
        self.my_vips = []
        provider = self.ctx.attributes
        if self.other_vips and provider is not None and self.peer_cfg is not None:
            identity = self.other_eap_id()
            for ip in reversed(self.other_vips):
                provider.release_address(self.peer_cfg.pools, ip, identity,
                                         lambda line: self.log("CFG", 1, line))
        self.other_vips = []

    # --- children -----------------------------------------------------------------------------
    def new_child(self, config: ChildConfig, initiator: bool) -> ChildSa:
        return ChildSa(config, self.ctx.child_uniqueid(), 0, initiator, my_host=self.my_host,
                       other_host=self.other_host, encap=self.nat_any)

    def add_child(self, child: ChildSa) -> None:
        self.children.append(child)

    def find_child(self, protocol: int, spi: bytes, inbound: bool) -> ChildSa | None:
        for child in self.children:
            if child.protocol == protocol and (child.spi_in if inbound else child.spi_out) == spi:
                return child
        return None

    def destroy_child(self, child: ChildSa) -> None:
        """``child_sa->destroy``: DESTROYING state, kernel state removed, IDs released."""
        if child in self.children:
            self.children.remove(child)
        self.set_child_state(child, ChildState.DESTROYING)
        for effect in child.teardown_effects():
            self.ctx.emit(effect)
        if child.spi_in:
            self.ctx.free_child_spi(child.spi_in)
        if child.reqid:
            self.ctx.reqids.release(child.reqid)

    # --- inputs -------------------------------------------------------------------------------
    def receive(self, raw: bytes, clear: Message, src: Endpoint, dst: Endpoint, now: float) -> Status:
        """One datagram for this SA (marker stripped, header and clear payloads decoded)."""
        self.now = now
        if self.state == IkeState.PASSIVE:
            return Status.FAILED
        if self.logs("NET", 1):
            self.log("NET", 1, f"received packet: from {_ep(src)} to {_ep(dst)} ({len(raw)} bytes)")
        return self.tm.process_message(raw, clear, src, dst)

    def initiate(self, child_cfg: ChildConfig | None, now: float, reqid: int = 0) -> Status:
        """``ike_sa->initiate()``: queue IKE_SA setup (if new) and the CHILD_SA, then start;
        ``reqid`` is a trap's, for a CHILD_SA set up on an acquire."""
        self.now = now
        if self.state == IkeState.CREATED:
            self.set_condition(Cond.ORIGINAL_INITIATOR, True)
            self.tm.queue_ike()
        if child_cfg is not None:
            self.tm.queue_child(child_cfg, reqid)
        return self.tm.initiate()

    def delete(self, now: float, force: bool = False) -> Status:
        """``ike_sa->delete()``: an INFORMATIONAL DELETE if established, else destroy."""
        self.now = now
        status = Status.DESTROY_ME
        if self.state in (IkeState.ESTABLISHED, IkeState.REKEYING, IkeState.REKEYED):
            if not self.tm.has(self.tm.queued, TaskKind.IKE_DELETE):
                self.tm.queue_ike_delete()
            status = self.tm.initiate()
        elif self.state == IkeState.CREATED:
            self.log("IKE", 1, "deleting unestablished IKE_SA")
        elif self.state != IkeState.PASSIVE:
            self.log("IKE", 1, f"destroying IKE_SA in state {self.state.value} without notification")
            force = True
        if force:
            if self.state in (IkeState.ESTABLISHED, IkeState.REKEYING, IkeState.DELETING):
                self.ike_updown(False)
            status = Status.DESTROY_ME
        return status

    def delete_child(self, child: ChildSa, now: float) -> Status:
        self.now = now
        self.tm.queue_child_delete(child)
        return self.tm.initiate()

    def handle_timer(self, now: float) -> Status:
        self.now = now
        t = self.timers
        if t.half_open is not None and now >= t.half_open and self.state != IkeState.ESTABLISHED:
            self.log("JOB", 1, f"deleting half open IKE_SA with {_host_text(self.other_host)} after timeout")
            self.alert("half-open-timeout")
            return Status.DESTROY_ME
        if t.delete is not None and now >= t.delete and self.state in (IkeState.ESTABLISHED,
                                                                       IkeState.REKEYING):
            t.delete = None
            self.alert("ike-sa-expired")
            return self.delete(now)
        for name, action in (("reauth", lambda: self.reauth(now)), ("rekey", lambda: self.rekey(now)),
                             ("dpd", lambda: self.send_dpd(now))):
            when = getattr(t, name)
            if when is not None and now >= when and self._usable():
                setattr(t, name, None)
                status = action()
                if status is Status.DESTROY_ME:
                    return status
        deadline = self.tm.next_deadline()
        if deadline is None or now < deadline:
            return Status.SUCCESS
        status = self.tm.handle_timer(now)
        return self.retransmit_failed() if status is Status.DESTROY_ME else status

    def _usable(self) -> bool:
        return self.state in (IkeState.ESTABLISHED, IkeState.REKEYING) and not self.destroyed

    def next_deadline(self) -> float | None:
        t = self.timers
        candidates = [self.tm.next_deadline()]
        if self.state not in (IkeState.ESTABLISHED, IkeState.REKEYING, IkeState.REKEYED,
                              IkeState.DELETING):
            candidates.append(t.half_open)
        if self.state in (IkeState.ESTABLISHED, IkeState.REKEYING):
            candidates += [t.delete, t.rekey, t.reauth, t.dpd]
        found = [c for c in candidates if c is not None]
        return min(found) if found else None

    # --- retransmission failures, DPD and reestablishing ---------------------------------------
    def retransmit_failed(self) -> Status:
        """``ike_sa->retransmit`` gave up: keyingtries while connecting, else reestablish per
        dpd_action / close_action; the down event unless connecting or rekeyed."""
        state = self.state
        if state == IkeState.CONNECTING:
            tries = self.peer_cfg.keyingtries if self.peer_cfg else 1
            self.alert("peer-init-unreachable")
            self.keyingtry += 1
            if tries == 0 or tries > self.keyingtry:
                self.log("IKE", 1, f"peer not responding, trying again ({self.keyingtry + 1}/{tries})")
                self.reset()
                self.tm.initiate()
                return Status.SUCCESS
            self.log("IKE", 1, "establishing IKE_SA failed, peer not responding")
        elif state == IkeState.DELETING:
            self.log("IKE", 1, "proper IKE_SA delete failed, peer not responding")
        else:
            if state == IkeState.REKEYING:
                self.log("IKE", 1, "rekeying IKE_SA failed, peer not responding")
            self.reestablish()
        if state not in (IkeState.CONNECTING, IkeState.REKEYED):
            self.ike_updown(False)
        return Status.DESTROY_ME

    def send_dpd(self, now: float, esp_checked: bool = False) -> Status:
        """``send_dpd``: a liveness check if nothing came from the peer for dpd_delay, neither
        IKE nor (``get_use_time``) ESP on one of our inbound SAs; the backend is asked first
        (QueryInboundUse), its answer comes back through :meth:`inbound_use`."""
        delay = self.peer_cfg.dpd_delay if self.peer_cfg else 0
        diff = 0.0
        queued = False
        if not self.tm.busy:
            diff = now - max(self.inbound_at, self.esp_inbound_at)
            if delay and diff >= delay and not esp_checked and not self.esp_query_pending \
                    and self._query_inbound_use():
                self.timers.dpd = now + delay  # without an answer by then, the DPD goes out
                return Status.SUCCESS
            if not delay or diff >= delay:
                self.log("IKE", 1, "sending DPD request")
                if not self.tm.has(self.tm.queued, TaskKind.IKE_DPD):
                    self.tm.queue_dpd()
                queued, diff = True, 0.0
        if delay:
            self.timers.dpd = now + delay - diff
        return self.tm.initiate() if queued else Status.SUCCESS

    def _query_inbound_use(self) -> bool:
        """Ask the backend when ESP last came in on our CHILD_SAs (False: nothing to ask)."""
        spis = tuple(c.spi_in_int for c in self.children if c.spi_in)  # rekeyed ones too, as charon
        if not self.ctx.query_inbound_use or not spis:
            return False
        self.ctx.emit(QueryInboundUse(self.uniqueid, spis, self.my_host[0]))
        self.esp_query_pending = True
        return True

    def inbound_use(self, last_in: float | None, now: float) -> Status:
        """The backend's answer to QueryInboundUse: the latest inbound ESP (None: none yet)."""
        self.now = now
        self.esp_query_pending = False
        if last_in is not None:
            self.esp_inbound_at = max(self.esp_inbound_at, last_in)
        if not self._usable():
            return Status.SUCCESS
        return self.send_dpd(now, esp_checked=True)

    def reestablish(self) -> bool:
        """``reestablish``: a new IKE_SA for the CHILD_SAs whose dpd_action (close_action when
        deleting) is ``start``; ``trap`` installs trap policies instead."""
        from vicid.ike.config import Action

        if self.destroyed or self.tm.has(self.tm.queued, TaskKind.IKE_DELETE) or self.peer_cfg is None:
            return False
        restart, keep = False, []
        for child in self.children:
            if child.state in (ChildState.REKEYED, ChildState.DELETED):
                continue
            if self.has(Cond.REAUTHENTICATING):
                action = Action.START
            else:
                action = child.config.close_action if self.state == IkeState.DELETING else child.config.dpd_action
            if action & Action.TRAP:
                self.install_trap(child.config)
            if action & Action.START:
                restart = True
                keep.append(child)
        creates = [t for t in self.tm.active + self.tm.queued if t.kind == TaskKind.CHILD_CREATE]
        if not restart and not creates:
            return False
        new = self.ctx.new_initiator(self.peer_cfg, self.my_host, self.other_host, True)
        for vip in self.my_vips:
            new.add_virtual_ip(True, vip)
        for child in keep:
            self.log("IKE", 1, f"restarting CHILD_SA {child.name}")
            new.queue_recreated(child)
        for task in creates:
            if task in self.tm.queued:
                self.tm.queued.remove(task)
            else:
                self.tm.active.remove(task)
            task.adopt(new)
            new.tm.queue(task)
        new.initiate_later()
        return True

    # --- rekeying and reauthentication --------------------------------------------------------
    def rekey(self, now: float) -> Status:
        """``ike_sa->rekey``: queue an IKE_REKEY task and start it."""
        self.now = now
        if self.state == IkeState.PASSIVE or self.has(Cond.REAUTHENTICATING):
            return Status.SUCCESS
        if not self.tm.has(self.tm.queued, TaskKind.IKE_REKEY):
            self.tm.queue_ike_rekey()
        return self.tm.initiate()

    def reauth(self, now: float) -> Status:
        """``ike_sa->reauth`` with make-before-break (charon's default since 5.9/6.0): a new
        IKE_SA with all CHILD_SAs; once it is up, this one is deleted."""
        self.now = now
        if self.state == IkeState.PASSIVE or self.peer_cfg is None:
            return Status.SUCCESS
        self.log("IKE", 0, f"reauthenticating IKE_SA {self.name}[{self.uniqueid}]")
        self.set_condition(Cond.REAUTHENTICATING, True)
        children = [c for c in self.children if c.state not in (ChildState.REKEYED, ChildState.DELETED)]
        creates = [t for t in self.tm.queued if t.kind == TaskKind.CHILD_CREATE]
        if not children and not creates:
            self.log("IKE", 1, "unable to reauthenticate IKE_SA, no CHILD_SA to recreate")
            self.set_condition(Cond.REAUTHENTICATING, False)
            return Status.SUCCESS
        new = self.ctx.new_initiator(self.peer_cfg, self.my_host, self.other_host, False)
        for vip in self.my_vips:  # asked for again; installed twice until this IKE_SA goes
            new.add_virtual_ip(True, vip)
        for child in children:
            new.queue_recreated(child)
        for task in creates:
            self.tm.queued.remove(task)
            task.adopt(new)
            new.tm.queue(task)
        new.tm.queue_ike_reauth_complete(self.uniqueid)
        new.initiate_later()
        return Status.SUCCESS

    def rekey_child(self, protocol: int, spi: bytes, now: float) -> Status:
        """``rekey_child_sa``: queue a CHILD_REKEY for the SA with that inbound SPI."""
        self.now = now
        if self.state == IkeState.PASSIVE:
            return Status.SUCCESS
        self.tm.queue_child_rekey(protocol, spi)
        return self.tm.initiate()

    def spawn(self, initiator: bool) -> IkeSa:
        """The replacement IKE_SA of a rekeying, with our SPI allocated (``create_new`` +
        ``inherit_pre``); it is registered once it is established."""
        spi, zero = self.ctx.alloc_ike_spi(), bytes(8)
        new = IkeSa(self.ctx, initiator=initiator, spi_i=spi if initiator else zero,
                    spi_r=zero if initiator else spi, my_host=self.my_host, other_host=self.other_host,
                    peer_cfg=self.peer_cfg, ike_cfg=self.ike_cfg, now=self.now)
        new.extensions = set(self.extensions)
        new.conditions = set(self.conditions) - {Cond.REAUTHENTICATING}
        return new

    def inherit_post(self, other: IkeSa, children: bool = True) -> None:
        """``inherit_post``: hosts, identities, CHILD_SAs, queued tasks and the reauth time."""
        self.my_host, self.other_host = other.my_host, other.other_host
        self.my_id, self.other_id = other.my_id, other.other_id
        self.auth = other.auth  # who authenticated how (the EAP identity keys leases)
        if not children:  # a redundant IKE_SA of a rekey collision: it takes nothing over
            return
        self.my_vips, other.my_vips = other.my_vips + self.my_vips, []
        self.other_vips, other.other_vips = other.other_vips + self.other_vips, []
        self.children, other.children = other.children + self.children, []
        self.tm.adopt_tasks(other.tm)
        # vici requests waiting on the old IKE_SA follow its tasks (controller listeners)
        self.listeners, other.listeners = other.listeners + self.listeners, []
        if other.timers.reauth is not None and self.peer_cfg is not None:
            reauth = max(0.0, other.timers.reauth - self.now)
            self.timers.reauth = other.timers.reauth
            self.timers.delete = self.now + reauth + self.peer_cfg.over_time
            self.log("IKE", 1, f"rescheduling reauthentication in {int(reauth)}s after rekeying, "
                               f"lifetime reduced to {int(reauth + self.peer_cfg.over_time)}s")

    def queue_recreated(self, old: ChildSa) -> None:
        """A CHILD_CREATE that recreates ``old`` (same selectors and reqid) on this IKE_SA."""
        self.tm.queue_child_recreate(old)

    def recreate_child(self, child: ChildSa, initiate: bool = True) -> None:
        """close_action/hard expire: set the CHILD_SA up again on this IKE_SA."""
        self.queue_recreated(child)
        if initiate:
            self.initiate_later()

    def install_trap(self, config: ChildConfig) -> None:
        """``charon->traps->install``, as a job: it runs once this input is done, after the
        CHILD_SA it stands in for has left the kernel."""
        from vicid.ike.jobs import TrapJob

        if self.peer_cfg is not None:
            self.ctx.schedule(self.now, TrapJob(self.peer_cfg, config))

    # --- events and jobs ----------------------------------------------------------------------
    def child_rekey(self, old: ChildSa, new: ChildSa) -> None:
        """Bus ``child_rekey``: vici ``child-rekey`` with both CHILD_SAs."""
        if self._wants(ChildRekey):
            self.ctx.emit(ChildRekey(self.view(self.now), old.view(self.now), new.view(self.now)))

    def ike_rekey(self, new: IkeSa) -> None:
        self.ctx.touched.add(new.uniqueid)
        if self._wants(IkeRekey):
            self.ctx.emit(IkeRekey(self.view(self.now), new.view(self.now)))

    def schedule_child_rekey(self, child: ChildSa, delay: float) -> None:
        from vicid.ike.jobs import RekeyChildJob

        self.ctx.schedule(self.now + delay, RekeyChildJob(child.protocol, child.spi_in))

    def schedule_ike_rekey(self, delay: float, reauth: bool) -> None:
        from vicid.ike.jobs import RekeyIkeJob

        self.ctx.schedule(self.now + delay, RekeyIkeJob(self.uniqueid, reauth))

    def schedule_child_destroy(self, child: ChildSa, delay: float) -> None:
        from vicid.ike.jobs import DeleteChildJob

        child.destroy_at = self.now + delay
        self.ctx.schedule(child.destroy_at, DeleteChildJob(child.uniqueid))

    def schedule_child_retry(self, config: ChildConfig, delay: float) -> None:
        from vicid.ike.jobs import RetryChildJob

        self.ctx.schedule(self.now + delay, RetryChildJob(self.uniqueid, config))

    def schedule_delete(self, delay: float) -> None:
        from vicid.ike.jobs import DeleteIkeJob

        self.ctx.schedule(self.now + delay, DeleteIkeJob(self.uniqueid))

    def delete_later(self) -> None:
        self.schedule_delete(0)

    def initiate_later(self) -> None:
        """Start queued tasks (or, for a new IKE_SA, the setup) once the current input is
        done (``initiate_tasks_job``)."""
        from vicid.ike.jobs import InitiateJob

        self.ctx.schedule(self.now, InitiateJob(self.uniqueid))

    def destroy(self) -> None:
        """``ike_sa->destroy``: DESTROYING, then every CHILD_SA is destroyed (kernel cleanup)."""
        if self.destroyed:
            return
        self.destroyed = True
        self.set_state(IkeState.DESTROYING)
        for child in list(self.children):
            self.destroy_child(child)
        self._release_virtual_ips()  # after the CHILD_SAs, whose routes use the addresses
        self.tm.flush()

    # --- snapshot -----------------------------------------------------------------------------
    def view(self, now: float) -> IkeSaView:
        """What vici's ``list_ike()`` renders for this SA."""
        queued, active, passive = self.tm.task_names()
        established = self.state == IkeState.ESTABLISHED and self.timers.established is not None
        return IkeSaView(
            name=self.name, uniqueid=self.uniqueid, state=self.state.value,
            local_host=_host_text(self.my_host), local_port=self.my_host[1], local_id=_id_text(self.my_id),
            remote_host=_host_text(self.other_host), remote_port=self.other_host[1],
            remote_id=_id_text(self.other_id), initiator=self.initiator,
            remote_eap_id=_eap_id(self),
            initiator_spi=int.from_bytes(self.spi_i, "big"), responder_spi=int.from_bytes(self.spi_r, "big"),
            nat_local=self.has(Cond.NAT_HERE), nat_remote=self.has(Cond.NAT_THERE),
            nat_fake=self.has(Cond.NAT_FAKE), nat_any=self.nat_any, **_ike_algorithms(self.proposal),
            established=int(now - self.timers.established) if established else None,  # type: ignore[operator]
            rekey_time=_until(self.timers.rekey, now) if established else None,
            reauth_time=_until(self.timers.reauth, now) if established else None,
            local_vips=tuple(str(ip) for ip in self.my_vips),
            remote_vips=tuple(str(ip) for ip in self.other_vips),
            tasks_queued=queued, tasks_active=active, tasks_passive=passive,
            children=tuple(c.view(now) for c in self.children))


def _eap_id(sa: IkeSa) -> str | None:
    """vici ``remote-eap-id``: the EAP identity if it differs from the IKE identity."""
    eap = sa.auth.remote_eap_identity
    return str(eap) if eap is not None and not eap.equals(sa.other_id) else None


def _until(when: float | None, now: float) -> int | None:
    return None if when is None else int(when - now)


def _name(enum: type, value: int) -> str:
    return enum(value).name if value in enum._value2member_map_ else str(value)


@lru_cache(maxsize=1024)
def _id_text(ident: Identification) -> str:
    """``%Y`` of an identity, remembered: every event snapshot renders both of an SA's."""
    return str(ident)


@lru_cache(maxsize=256)  # a handful of proposals serve every SA; the result is only read
def _ike_algorithms(p: Proposal | None) -> dict:
    if p is None:
        return {}
    encr, integ, prf = (p.get_algorithm(t) for t in (TransformType.ENCR, TransformType.INTEG,
                                                      TransformType.PRF))
    out: dict = {"ke_methods": tuple(_name(KeMethod, t.id) for ttype in p.ke_methods
                                     for t in p.algorithms(ttype) if t.id)}
    if encr is not None:
        out.update(encr_alg=encr_name(encr.id), encr_keysize=encr.key_length)
    if integ is not None:
        out.update(integ_alg=_name(IntegAlg, integ.id), integ_keysize=integ.key_length)
    if prf is not None:
        out["prf_alg"] = _name(PrfAlg, prf.id)
    return out


def endpoint(address: str, port: int) -> Endpoint:
    return (ip_address(address), port)


__all__ = ["Cond", "Ext", "IkeSa", "IkeState", "Listener", "endpoint"]
