"""The engine loop: the one trio task that calls the sans-I/O IKE engine and carries out effects.

Datagrams, vici commands and timer expiries arrive on one channel and are handed to the
IkeSaManager synchronously, so no IKE_SA ever needs a lock. After each call the effects are
executed in the order the engine gave them: kernel changes first where the engine put them
first, datagrams, then vici events and the control-log/response of a waiting vici request.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import secrets as _secrets
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import trio

from vicid.daemon.fetch import MAX_THREADS, revocation_credmgr, run_fetch
from vicid.daemon.ike_socket import IkeSocket, open_ike_sockets, source_for
from vicid.daemon.kernel import create_kernel_port
from vicid.ike import effects as fx
from vicid.ike.config import ChildConfig, PeerConfig
from vicid.ike.manager import IkeSaManager
from vicid.ike.settings import EngineSettings
from vicid.kernel.port import NETLINK
from vicid.vici.dispatcher import Body, Deferred, Request
from vicid.vici.events import EVENT_NAMES, control_log_body, event_message, list_sa_event

log = logging.getLogger("vicid.daemon")

NS = "charon"
QUEUE = 1024  # inputs waiting for the engine before receive loops block
RECEIVE_BATCH = 64  # datagrams taken per wakeup of a receive loop before it yields
ENGINE_BATCH = 8  # queued inputs the engine takes before it executes their effects
ESP_RECEIVE_BUFFER = 4 << 20  # bytes on the NAT-T socket when ESP is done in userspace


class SystemRng:
    """Randomness for the engine from the OS CSPRNG (tests inject deterministic ones)."""

    def bytes(self, n: int) -> bytes:
        return _secrets.token_bytes(n)

    def random(self) -> float:
        return _secrets.randbits(53) / (1 << 53)

    def __getattr__(self, name: str) -> Any:  # tolerate richer Rng protocols (randbits, ...)
        return getattr(_secrets.SystemRandom(), name)


@dataclass
class PendingRequest:
    """A vici initiate/terminate waiting for the engine."""

    deferred: Deferred | None  # None: the client asked not to wait (timeout < 0)
    loglevel: int
    kind: str  # "CHILD_SA" / "IKE_SA"
    name: str
    ike_ids: set[int] = field(default_factory=set)
    deadline: float = math.inf
    started: float = 0.0


class EngineRunner:
    """Owns the IKE sockets and the manager; the vici control commands call into it."""

    def __init__(self, state: Any, broadcast: Callable[[str, Body], None],
                 has_listeners: Callable[[str], bool], kernel: Any = None) -> None:
        self.state = state
        self.broadcast = broadcast
        self.has_listeners = has_listeners
        self.kernel = kernel
        settings = state.settings
        self.settings = EngineSettings.from_get(settings.get)
        self.manager = IkeSaManager(self.settings, state.ke, SystemRng(), peers=state.conns.configs,
                                    creds=state.creds)
        self.manager.ctx.credmgr = revocation_credmgr(state.creds, settings)
        self.manager.ctx.attributes = state.pools  # vici's pools hand out virtual IPs (load-pool)
        self.port = settings.get_int(f"{NS}.port", 500)
        self.port_nat_t = settings.get_int(f"{NS}.port_nat_t", 4500)
        self.sockets: list[IkeSocket] = []
        self.requests: dict[int, PendingRequest] = {}
        # the engine builds only what is consumed: Log effects up to the most verbose
        # control-log level a waiting request takes, events some vici client registered for
        self._control_levels: Counter[int] = Counter()
        self.manager.ctx.control_log_level = -1
        self.manager.ctx.wants_event = self._wants_event
        self._next_request = 1
        self._send, self._recv = trio.open_memory_channel[Callable[[float], None]](QUEUE)
        self._esp_handler: Callable[[bytes, fx.Endpoint, fx.Endpoint], None] | None = None
        self._esp_sockets_by_version: dict[int, IkeSocket] = {}

    # --- running ---------------------------------------------------------------------------

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        self.sockets = await open_ike_sockets(self.port, self.port_nat_t)
        if self.port == 0 or self.port_nat_t == 0:  # ephemeral ports (charon: port = 0): learn them
            self.port, self.port_nat_t = self.sockets[0].port, self.sockets[1].port
        for sock in self.sockets:
            log.info("listening for IKE on %s port %d", "IPv6" if sock.family == 10 else "IPv4", sock.port)
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                self._fetch_limiter = trio.CapacityLimiter(MAX_THREADS)
                await self._start_kernel(nursery)
                for sock in self.sockets:
                    nursery.start_soon(self._receive_loop, sock)
                self._watch_conns()
                task_status.started()
                await self._engine_loop()
        finally:
            self._unwatch_conns()
            for sock in self.sockets:
                sock.close()

    # --- start actions of loaded connections ------------------------------------------------

    def _watch_conns(self) -> None:
        conns = getattr(self.state, "conns", None)
        if conns is not None and self._conn_changed not in conns.listeners:
            conns.listeners.append(self._conn_changed)

    def _unwatch_conns(self) -> None:
        conns = getattr(self.state, "conns", None)
        if conns is not None and self._conn_changed in conns.listeners:
            conns.listeners.remove(self._conn_changed)

    def _conn_changed(self, change: Any) -> None:
        """A load-conn/unload-conn: undo the old children's start actions, run the new ones'
        (charon's ``clear_start_actions``/``run_start_actions``), in the engine task."""
        undo_peer = change.undo_peer or change.peer
        starts = [(child, *self._endpoints(change.peer)) for child in change.start]

        def work(now: float) -> None:
            if change.undo:
                self.manager.clear_start_actions(undo_peer.name, change.undo, change.delete_ike, now)
            for child, local, remote in starts:
                self.manager.run_start_action(change.peer, child, local, remote, now)

        if change.undo or change.start:
            self.submit(work)

    def install_trap(self, peer: PeerConfig, child: ChildConfig) -> bool:
        """vici ``install``: a trap for the child (False if it cannot be routed)."""
        from vicid.ike.traps import endpoint_of

        log.info("vici install '%s'", child.name)
        if endpoint_of(peer.remote_addrs, 0) is None or endpoint_of(peer.local_addrs, 0) is None:
            return False
        self.submit(lambda now: self.manager.traps.install(peer, child))
        return True

    def uninstall_trap(self, ike: str | None, child: str) -> bool:
        """vici ``uninstall``: the trap of that child (of connection ``ike``, if given)."""
        log.info("vici uninstall '%s'", child)
        traps = [t for t in self.manager.traps if t.child.name == child and (not ike or t.peer.name == ike)]
        if not traps:
            return False
        self.submit(lambda now: self.manager.traps.uninstall(traps[0].peer.name, child))
        return True

    def _endpoints(self, peer: PeerConfig) -> tuple[fx.Endpoint | None, fx.Endpoint | None]:
        try:
            remote = self._remote_endpoint(peer)
        except ValueError:
            return None, None
        return (self._local_address(peer, remote), peer.local_port or self.port), remote

    async def _start_kernel(self, nursery: trio.Nursery) -> None:
        """Bring up the IPsec backend; without one, SAs exist in IKE terms only (logged)."""
        if self.kernel is None:
            try:
                self.kernel = create_kernel_port(self.state.settings.get, self._send_esp,
                                                 send_nowait=self._send_esp_nowait,
                                                 send_batch=self._send_esp_batch)
                await nursery.start(self.kernel.run)
            except Exception as exc:
                log.warning("no IPsec backend available (%s): CHILD_SAs are negotiated but not installed", exc)
                self.kernel = None
                return
        receive_esp = getattr(self.kernel, "receive_esp", None)
        if receive_esp is not None:
            self._esp_handler = receive_esp
        self._tell_engine(self.kernel)
        nursery.start_soon(self._kernel_events)

    def _tell_engine(self, kernel: Any) -> None:
        """What the engine must know of the backend: UDP-only ESP (charon's kernel features),
        and a synchronous SA install, so a failure fails the CHILD_SA as charon's does."""
        ctx = self.manager.ctx
        features = getattr(kernel, "features", None)
        ctx.kernel_requires_udp_encap = bool(features and features.requires_udp_encap)
        install_now = getattr(kernel, "install_sa_now", None)
        if install_now is not None:
            ctx.install_sa = lambda effect: self._install_sa_now(install_now, effect)
        ctx.query_inbound_use = callable(getattr(kernel, "query_sa", None))  # DPD counts ESP too
        larval = getattr(kernel, "larval", None)
        if larval is not None:  # ESP may beat the response that creates its SA: hold it for ours
            larval.reserved = ctx.child_spi_allocated
        if getattr(kernel, "name", "") == NETLINK:
            self._xfrm_sockets(kernel)
        elif getattr(kernel, "receive_esp", None) is not None:
            self._esp_sockets()

    def _esp_sockets(self) -> None:
        """ESP in userspace arrives on the NAT-T socket in bursts while the datapath may be busy
        encrypting: the default buffer (about 200 KiB) overflows and TCP in the tunnel backs off."""
        for sock in self.sockets:
            if sock.port == self.port_nat_t:
                try:
                    sock.grow_receive_buffer(ESP_RECEIVE_BUFFER)
                except OSError as exc:
                    log.info("unable to enlarge the receive buffer of port %d: %s", sock.port, exc)
                sock.enable_gro()  # a burst sent with UDP GSO arrives in one read

    def _xfrm_sockets(self, kernel: Any) -> None:
        """With XFRM, as charon's socket-default does: IKE sockets bypass IPsec policies, and
        the kernel takes ESP-in-UDP off the NAT-T socket."""
        for sock in self.sockets:
            try:
                kernel.bypass_socket(sock.sock, sock.family)
                if sock.port == self.port_nat_t:
                    sock.enable_esp_in_udp()
            except OSError as exc:
                log.warning("unable to set IPsec options on the IKE socket on port %d: %s", sock.port, exc)

    @staticmethod
    def _install_sa_now(install_now: Callable[[fx.InstallChildSa], None], effect: fx.InstallChildSa) -> str | None:
        try:
            install_now(effect)
        except Exception as exc:  # KernelError, or a bug: either way the SA is not there
            log.warning("kernel interface failed on InstallChildSa: %s", exc)
            return str(exc) or type(exc).__name__
        return None

    async def _kernel_events(self) -> None:
        handler = getattr(self.manager, "kernel_event", None)
        async for event in self.kernel.events:
            if handler is not None:
                self.submit(lambda now, ev=event: handler(ev, now))

    def _esp_socket(self, dst: fx.Endpoint) -> IkeSocket | None:
        """The NAT-T socket of DST's family (per packet: a dict lookup, not a scan)."""
        if not self._esp_sockets_by_version:
            self._esp_sockets_by_version = {4 if s.family == 2 else 6: s for s in self.sockets
                                            if s.port == self.port_nat_t}
        return self._esp_sockets_by_version.get(dst[0].version)

    async def _send_esp(self, data: bytes, src: fx.Endpoint, dst: fx.Endpoint) -> None:
        sock = self._esp_socket(dst)
        if sock is not None:
            await sock.send(data, (src[0], self.port_nat_t), dst)

    def _send_esp_nowait(self, data: bytes, src: fx.Endpoint, dst: fx.Endpoint) -> bool:
        """The datapath's fast path: True once sent (or dropped for good), False if it would block."""
        sock = self._esp_socket(dst)
        return sock is None or sock.send_nowait(data, (src[0], self.port_nat_t), dst)

    def _send_esp_batch(self, datagrams: list[bytes], src: fx.Endpoint, dst: fx.Endpoint) -> int:
        """A burst to one peer in as few system calls as the socket allows (UDP GSO); returns how
        many went (or were dropped for good), the rest wait for ``_send_esp``."""
        sock = self._esp_socket(dst)
        return len(datagrams) if sock is None else sock.send_batch_nowait(datagrams, (src[0], self.port_nat_t), dst)

    async def _receive_loop(self, sock: IkeSocket) -> None:
        while True:
            try:
                await self._dispatch(sock, *await sock.receive())
            except OSError as exc:
                log.debug("receive on port %d failed: %s", sock.port, exc)
                continue
            # take what else is queued without a trio round trip per datagram (ESP comes in bursts)
            for _ in range(RECEIVE_BATCH - 1):
                try:
                    datagram = sock.receive_nowait()
                except OSError as exc:
                    log.debug("receive on port %d failed: %s", sock.port, exc)
                    break
                if datagram is None:
                    break
                await self._dispatch(sock, *datagram)

    async def _dispatch(self, sock: IkeSocket, data: bytes, src: fx.Endpoint, dst: fx.Endpoint) -> None:
        if sock.port == self.port_nat_t and len(data) >= 4 and data[:4] != b"\0\0\0\0":
            # ESP in UDP (RFC 3948) shares port 4500 with IKE: it belongs to the datapath
            if self._esp_handler is not None:
                self._esp_handler(data, src, dst)
            return
        work = lambda now: self.manager.receive_datagram(data, src, dst, now)  # noqa: E731
        try:
            self._send.send_nowait(work)
        except trio.WouldBlock:
            await self._send.send(work)  # the engine is behind: wait for room

    def submit(self, work: Callable[[float], None]) -> None:
        """Queue engine work from synchronous code (vici handlers)."""
        self._send.send_nowait(work)

    async def _engine_loop(self) -> None:
        while True:
            deadline = min(self.manager.next_deadline() or math.inf, self._request_deadline())
            work = None
            with trio.move_on_at(deadline):
                work = await self._recv.receive()
            now = trio.current_time()
            if work is None:
                self.manager.handle_timer(now)
                self._expire_requests(now)
            else:
                self._run(work, now)
                # under load take what else waits before flushing: one pass of effects and
                # one trio round trip for several inputs (effects keep their order)
                for _ in range(ENGINE_BATCH - 1):
                    try:
                        work = self._recv.receive_nowait()
                    except trio.WouldBlock:
                        break
                    self._run(work, trio.current_time())
            await self._flush()

    def _run(self, work: Callable[[float], None], now: float) -> None:
        try:
            work(now)
        except Exception:
            log.exception("IKE engine failed on an input; input dropped")
            self.state.counters["engine-error"] += 1

    # --- effects ---------------------------------------------------------------------------

    async def _flush(self) -> None:
        for effect in self.manager.drain():
            if isinstance(effect, fx.SendDatagram):
                await self._send_datagram(effect)
            elif isinstance(effect, fx.Log):
                self._route_log(effect)
            elif isinstance(effect, fx.Completed):
                self._complete(effect)
            elif isinstance(effect, fx.Event):
                self._raise_event(effect)
            elif isinstance(effect, fx.QueryInboundUse):
                self._nursery.start_soon(self._query_inbound_use, effect)
            elif isinstance(effect, fx.Fetch):  # off the loop; the IKE_SA waits, nothing else does
                self._nursery.start_soon(run_fetch, effect, self._send.send, self.manager.fetch_complete,
                                         self._fetch_limiter)
            else:
                await self._kernel(effect)

    async def _send_datagram(self, effect: fx.SendDatagram) -> None:
        family = 10 if effect.dst[0].version == 6 else 2
        for sock in self.sockets:
            if sock.family == family and sock.port == effect.src[1]:
                # straight out of the socket (no trio round trip) unless its buffer is full
                if not sock.send_nowait(effect.data, effect.src, effect.dst, quiet=False):
                    await sock.send(effect.data, effect.src, effect.dst)
                return
        log.info("no socket for source port %d, datagram to %s dropped", effect.src[1], effect.dst[0])

    async def _kernel(self, effect: fx.Effect) -> None:
        if self.kernel is None:
            log.debug("no kernel interface: %s not installed (SA exists in IKE terms only)",
                      type(effect).__name__)
            return
        try:
            await self.kernel.apply(effect)
        except Exception as exc:
            log.warning("kernel interface failed on %s: %s", type(effect).__name__, exc)

    async def _query_inbound_use(self, query: fx.QueryInboundUse) -> None:
        """When ESP last came in on those SAs (charon's ``get_use_time``), back to the engine;
        an SA the backend does not know (gone meanwhile) counts as unused."""
        last: float | None = None
        for spi in query.spis:
            try:
                usage = await self.kernel.query_sa(spi, dst=query.dst)
            except Exception as exc:  # KernelError, or a backend without the SA
                log.debug("querying SA %08x for DPD failed: %s", spi, exc)
                continue
            if usage.idle is not None:
                at = trio.current_time() - usage.idle
                last = at if last is None else max(last, at)
        self.submit(lambda now: self.manager.inbound_use(query.ike_uniqueid, last, now))

    def _wants_event(self, kind: type) -> bool:
        name = EVENT_NAMES.get(kind)
        return name is not None and self.has_listeners(name)

    def _add_request(self, pending: PendingRequest) -> int:
        rid = self._next_request
        self._next_request += 1
        self.requests[rid] = pending
        if pending.deferred is not None:
            self._control_levels[pending.loglevel] += 1
            self._update_control_level()
        return rid

    def _pop_request(self, rid: int) -> PendingRequest | None:
        pending = self.requests.pop(rid, None)
        if pending is not None and pending.deferred is not None:
            self._control_levels[pending.loglevel] -= 1
            if self._control_levels[pending.loglevel] <= 0:
                del self._control_levels[pending.loglevel]
            self._update_control_level()
        return pending

    def _update_control_level(self) -> None:
        self.manager.ctx.control_log_level = max(self._control_levels, default=-1)

    def _raise_event(self, event: fx.Event) -> None:
        message = event_message(event)
        if message is not None and self.has_listeners(message[0]):
            self.broadcast(*message)

    def _route_log(self, effect: fx.Log) -> None:
        """control-log for the vici requests waiting on this IKE_SA (the engine has already
        written the line to the daemon's own log)."""
        for pending in self.requests.values():
            if pending.deferred is None or effect.level > pending.loglevel:
                continue
            if not pending.ike_ids or effect.ike_uniqueid in pending.ike_ids:
                pending.deferred.log(control_log_body(effect.group, effect.level, effect.msg,
                                                      effect.ike_name, effect.ike_uniqueid))

    def _complete(self, effect: fx.Completed) -> None:
        pending = self._pop_request(effect.request_id)
        if pending is None or pending.deferred is None:
            return
        if effect.ok:
            pending.deferred.finish({"success": "yes", **effect.extra})
        else:
            pending.deferred.finish({"success": "no",
                                     "errmsg": effect.errmsg or f"establishing {pending.kind} '{pending.name}' failed",
                                     **effect.extra})

    def _request_deadline(self) -> float:
        return min((p.deadline for p in self.requests.values()), default=math.inf)

    def _expire_requests(self, now: float) -> None:
        for rid, pending in list(self.requests.items()):
            if pending.deadline <= now:
                self._pop_request(rid)
                if pending.deferred is not None:
                    ms = round((pending.deadline - pending.started) * 1000)
                    pending.deferred.finish({"success": "no",
                                             "errmsg": f"{pending.kind} '{pending.name}' not established after {ms}ms"})

    # --- vici control ----------------------------------------------------------------------

    def initiate(self, req: Request, peer: PeerConfig, child: ChildConfig | None) -> Body | Deferred:
        kind, name = ("CHILD_SA", child.name) if child else ("IKE_SA", peer.name)
        try:
            remote = self._remote_endpoint(peer)
        except ValueError as exc:
            return {"success": "no", "errmsg": f"establishing {kind} '{name}' failed: {exc}"}
        local = (self._local_address(peer, remote), peer.local_port or self.port)
        timeout = _int(req.str("timeout"), 0)
        loglevel = _int(req.str("loglevel"), 1)
        deferred = req.defer() if timeout >= 0 else None
        pending = PendingRequest(deferred, loglevel, kind, name)
        rid = self._add_request(pending)

        def work(now: float) -> None:
            ctx = self.manager.ctx
            first = ctx.next_ike_uniqueid  # unique IDs grow: those from here on are new IKE_SAs
            if timeout > 0:
                pending.deadline = now + timeout / 1000
                pending.started = now
            self.manager.initiate(peer, child, local, remote, now, rid)
            if ctx.next_ike_uniqueid > first:
                alive = self.manager.ike_sa_ids()
                pending.ike_ids |= {uid for uid in range(first, ctx.next_ike_uniqueid) if uid in alive}

        self.submit(work)
        if deferred is None:
            return {"success": "yes"}
        return deferred

    def _remote_endpoint(self, peer: PeerConfig) -> fx.Endpoint:
        for text in (t.strip() for t in peer.remote_addrs.split(",")):
            if not text or text in ("%any", "%any4", "%any6"):
                continue
            try:
                return ipaddress.ip_address(text), peer.remote_port or self.port
            except ValueError:
                continue  # ranges, subnets and names are not initiation targets here
        raise ValueError("unable to resolve %any, initiate aborted")

    def _local_address(self, peer: PeerConfig, remote: fx.Endpoint) -> Any:
        for text in (t.strip() for t in peer.local_addrs.split(",")):
            try:
                addr = ipaddress.ip_address(text)
            except ValueError:
                continue
            if addr.version == remote[0].version:
                return addr
        return source_for(remote)

    def matching_ike_sas(self, body: Body) -> list[Any]:
        ike = _text(body.get("ike"))
        ike_id = _int(_text(body.get("ike-id")), 0)
        out = []
        for sa in self.manager.ike_sas():
            if ike and sa.name != ike:
                continue
            if ike_id and sa.uniqueid != ike_id:
                continue
            out.append(sa)
        return out

    def list_sas(self, req: Request) -> Deferred:
        """list-sa events with the kernel's byte/packet counters, then the (empty) response."""
        deferred = req.defer()
        self._nursery.start_soon(self._list_sas, dict(req.body), deferred)
        return deferred

    async def _list_sas(self, body: Body, deferred: Deferred) -> None:
        now = trio.current_time()
        ike = _text(body.get("ike"))
        ike_id = _int(_text(body.get("ike-id")), 0)
        child = _text(body.get("child"))
        child_id = _int(_text(body.get("child-id")), 0) or None
        try:
            for view in self.manager.list_sas(now):
                if (ike and view.name != ike) or (ike_id and view.uniqueid != ike_id):
                    continue
                view = await self._with_counters(view)
                deferred.emit("list-sa", list_sa_event(view, child, child_id))
        finally:
            deferred.finish({})

    async def _with_counters(self, view: fx.IkeSaView) -> fx.IkeSaView:
        if self.kernel is None or not view.children:
            return view
        children = []
        for c in view.children:
            if c.state in ("INSTALLED", "REKEYING", "REKEYED", "DELETING") and c.spi_in:
                try:
                    usage_in = await self.kernel.query_sa(c.spi_in)
                    usage_out = await self.kernel.query_sa(c.spi_out)
                except Exception as exc:  # an SA the backend does not know: counters stay 0
                    log.debug("querying SA counters failed: %s", exc)
                else:
                    c = replace(c, bytes_in=usage_in.bytes, packets_in=usage_in.packets,
                                use_in=_whole(usage_in.idle), bytes_out=usage_out.bytes,
                                packets_out=usage_out.packets, use_out=_whole(usage_out.idle))
            children.append(c)
        return replace(view, children=tuple(children))

    def counts(self) -> tuple[int, int]:
        return self.manager.counts()

    def terminate(self, req: Request) -> Body | Deferred:
        child = _text(req.body.get("child"))
        child_id = _int(_text(req.body.get("child-id")), 0)
        views = self.manager.list_sas(trio.current_time())
        timeout = _int(req.str("timeout"), 0)
        force = _text(req.body.get("force")) in ("yes", "true", "1")
        targets: list[tuple[str, int]] = []
        ike_ids = {sa.uniqueid for sa in self.matching_ike_sas(req.body)}
        for view in views:
            if child or child_id:
                for c in view.children:
                    if (not child or c.name == child) and (not child_id or c.uniqueid == child_id):
                        if not (_text(req.body.get("ike")) or req.body.get("ike-id")) or view.uniqueid in ike_ids:
                            targets.append(("child", c.uniqueid))
            elif view.uniqueid in ike_ids:
                targets.append(("ike", view.uniqueid))
        if not targets:
            return {"success": "no", "matches": 0, "terminated": 0, "errmsg": "no matching SAs to terminate found"}
        deferred = req.defer() if timeout >= 0 else None
        rid = self._add_request(PendingRequest(deferred, _int(req.str("loglevel"), 1), "SA", "", ike_ids))

        def work(now: float) -> None:
            for kind, uid in targets:
                if kind == "ike":
                    self.manager.terminate_ike(uid, now, rid if (kind, uid) == targets[-1] else None, force)
                else:
                    self.manager.terminate_child(uid, now, rid if (kind, uid) == targets[-1] else None)

        self.submit(work)
        if deferred is None:
            return {"success": "yes", "matches": len(targets), "terminated": len(targets)}
        return deferred


    def rekey(self, req: Request) -> Body:
        """vici ``rekey``: queue a rekeying (or reauthentication) of every matching SA and
        answer at once with the number of matches, as charon's ``vici_control.c`` does."""
        body = req.body
        child, ike = _text(body.get("child")), _text(body.get("ike"))
        child_id, ike_id = _int(_text(body.get("child-id")), 0), _int(_text(body.get("ike-id")), 0)
        reauth = _text(body.get("reauth")) in ("yes", "true", "1")
        targets: list[tuple[str, int]] = []
        for sa in self.manager.ike_sas():
            if child or child_id:
                if (ike and sa.name != ike) or (ike_id and sa.uniqueid != ike_id):
                    continue
                targets += [("child", c.uniqueid) for c in sa.children
                            if (not child or c.name == child) and (not child_id or c.uniqueid == child_id)]
            elif (ike and sa.name == ike) or (ike_id and sa.uniqueid == ike_id):
                targets.append(("ike", sa.uniqueid))
        child_sel, ike_sel = _sa_selector(child, child_id), _sa_selector(ike, ike_id)
        log.info("vici rekey%s%s%s", f" CHILD_SA {child_sel}" if child_sel else "",
                 " of" if child_sel and ike_sel else "", f" IKE_SA {ike_sel}" if ike_sel else "")

        def work(now: float) -> None:
            for kind, uid in targets:
                if kind == "child":
                    self.manager.rekey_child(uid, now)
                else:
                    self.manager.rekey_ike(uid, now, reauth)

        if targets:
            self.submit(work)
            return {"success": "yes", "matches": len(targets)}
        return {"success": "no", "matches": 0, "errmsg": "no matching SAs to rekey found"}


def _sa_selector(name: str | None, uid: int) -> str:
    """vici_control.c ``format_sa_selector``: 'name' #id."""
    if name and uid:
        return f"'{name}' #{uid}"
    return f"'{name}'" if name else f"#{uid}" if uid else ""


def _whole(idle: float | None) -> int | None:
    return None if idle is None else int(idle)


def _text(value: Any) -> str | None:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def _int(value: str | None, default: int) -> int:
    if value is None or value == "":
        return default
    try:
        return int(value, 0)
    except ValueError:
        return default
