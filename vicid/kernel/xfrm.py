"""``kernel-netlink``: the KernelPort on the Linux XFRM layer, like charon's kernel-netlink plugin.

SAs: ESP in tunnel or transport mode, optional ESP-in-UDP (RFC 3948), replay window (the
``XFRMA_REPLAY_ESN_VAL`` bitmap for ESN or windows over 32), add-time lifetimes in seconds,
bytes and packets. Policies: selectors and automatic priorities as charon computes them
(:mod:`vicid.kernel.selector`), reference counted per selector and direction, with a template
naming the reqid; outbound IPsec policies get a route in table 220. Counters come from
``XFRM_MSG_GETSA``; expire and acquire notifications from a socket on the XFRM multicast groups.

Requests are blocking netlink round trips on their own socket, run in a worker thread one at a
time (``trio.to_thread``); the event socket is non-blocking and waited on with trio. Sockets are
created in a named network namespace when one is given (tests) via pyroute2's netns helper.
Key material goes into netlink attributes only; it is never logged.
"""

from __future__ import annotations

import errno
import ipaddress
import itertools
import logging
import os
import socket
import threading
import time
from typing import Any

import trio
from pyroute2.netns import create_socket

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
from vicid.ike.ts import TrafficSelector
from vicid.ike.wire.enums import EncrAlg, IntegAlg, ProtocolId
from vicid.kernel import xfrm_msg as m
from vicid.kernel.port import (
    NETLINK,
    KernelAcquire,
    KernelError,
    KernelEvent,
    KernelExpire,
    KernelFeatures,
    SaUsage,
    execute,
)
from vicid.kernel.routes import Route, Routes
from vicid.kernel.selector import Selector, direction_selectors, policy_priority, policy_selector
from vicid.kernel.vips import VirtualIps

log = logging.getLogger("vicid.kernel")

NETLINK_XFRM = 6
# Linux crypto API names (kernel_netlink_ipsec.c's tables)
ENCR_NAMES = {
    EncrAlg.AES_CBC: "cbc(aes)", EncrAlg.AES_CTR: "rfc3686(ctr(aes))", EncrAlg.NULL: "ecb(cipher_null)",
    EncrAlg.AES_CCM_8: "rfc4309(ccm(aes))", EncrAlg.AES_CCM_12: "rfc4309(ccm(aes))",
    EncrAlg.AES_CCM_16: "rfc4309(ccm(aes))", EncrAlg.AES_GCM_8: "rfc4106(gcm(aes))",
    EncrAlg.AES_GCM_12: "rfc4106(gcm(aes))", EncrAlg.AES_GCM_16: "rfc4106(gcm(aes))",
    EncrAlg.NULL_AES_GMAC: "rfc4543(gcm(aes))", EncrAlg.CHACHA20_POLY1305: "rfc7539esp(chacha20,poly1305)",
}
AEAD_ICV_BITS = {
    EncrAlg.AES_CCM_8: 64, EncrAlg.AES_GCM_8: 64, EncrAlg.AES_CCM_12: 96, EncrAlg.AES_GCM_12: 96,
    EncrAlg.AES_CCM_16: 128, EncrAlg.AES_GCM_16: 128, EncrAlg.NULL_AES_GMAC: 128,
    EncrAlg.CHACHA20_POLY1305: 128,
}
# integrity: (name, truncation bits); XFRMA_ALG_AUTH_TRUNC carries the ICV length explicitly
INTEG_NAMES = {
    IntegAlg.HMAC_MD5_96: ("hmac(md5)", 96), IntegAlg.HMAC_SHA1_96: ("hmac(sha1)", 96),
    IntegAlg.AES_XCBC_96: ("xcbc(aes)", 96), IntegAlg.AES_CMAC_96: ("cmac(aes)", 96),
    IntegAlg.HMAC_SHA2_256_128: ("hmac(sha256)", 128), IntegAlg.HMAC_SHA2_384_192: ("hmac(sha384)", 192),
    IntegAlg.HMAC_SHA2_512_256: ("hmac(sha512)", 256),
}
_IPPROTO = {ProtocolId.ESP: m.IPPROTO_ESP, ProtocolId.AH: m.IPPROTO_AH}
_DIR = {Direction.IN: m.POLICY_IN, Direction.OUT: m.POLICY_OUT, Direction.FWD: m.POLICY_FWD}


def _ipproto(protocol: int) -> int:
    try:
        return _IPPROTO[protocol]
    except KeyError:
        raise KernelError(f"unsupported IPsec protocol {protocol}") from None


def _open(netns: str | None, groups: int = 0) -> socket.socket:
    sock = create_socket(netns, socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_XFRM) if netns else \
        socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_XFRM)
    sock.bind((0, groups))
    return sock


class XfrmSocket:
    """Blocking request/ack round trips on one NETLINK_XFRM socket (call from a worker thread)."""

    def __init__(self, netns: str | None = None) -> None:
        self.sock = _open(netns)
        self.sock.settimeout(5.0)
        self._seq = itertools.count(int(time.time()) & 0xFFFF)
        self._lock = threading.Lock()  # worker threads and the engine's synchronous installs

    def request(self, msg_type: int, body: bytes, flags: int = m.NLM_F_ACK) -> list[tuple[int, bytes]]:
        """Send one message; returns (type, payload) replies. Raises OSError(errno) on NLMSG_ERROR."""
        with self._lock:
            return self._request(msg_type, body, flags)

    def _request(self, msg_type: int, body: bytes, flags: int) -> list[tuple[int, bytes]]:
        seq = next(self._seq) & 0xFFFFFFFF
        self.sock.send(m.nlmsg(msg_type, m.NLM_F_REQUEST | flags, seq, body))
        replies: list[tuple[int, bytes]] = []
        while True:
            for r_type, r_seq, payload in m.split_messages(self.sock.recv(65536)):
                if r_seq != seq:
                    continue
                if r_type == m.NLMSG_ERROR:
                    code = m.decode_error(payload)
                    if code:
                        raise OSError(code, os.strerror(code))
                    return replies
                if r_type == m.NLMSG_DONE:
                    return replies
                replies.append((r_type, payload))
                if not flags & m.NLM_F_ACK:
                    return replies

    def close(self) -> None:
        self.sock.close()


def sa_message(sa: InstallChildSa) -> bytes:
    """XFRM_MSG_NEWSA body (xfrm_usersa_info + attributes) for one InstallChildSa."""
    src, dst = sa.src[0].packed, sa.dst[0].packed
    tunnel = sa.mode == "TUNNEL"
    limits = m.Limits(sa.bytes_soft, sa.bytes_hard, sa.packets_soft, sa.packets_hard,
                      sa.lifetime_soft, sa.lifetime_hard)
    window = sa.replay_window if sa.inbound else (1 if sa.keys.esn else 0)
    esn_attr = sa.keys.esn or window > 32
    flags = (m.XFRM_STATE_AF_UNSPEC if tunnel else 0) | (m.XFRM_STATE_ESN if sa.keys.esn else 0)
    sel = None
    if not tunnel and sa.local_ts and sa.remote_ts:
        local, remote = sa.local_ts[0], sa.remote_ts[0]
        sel = policy_selector(*((remote, local) if sa.inbound else (local, remote)))
        sel = Selector(sel.family, sel.saddr, sel.prefixlen_s, sel.daddr, sel.prefixlen_d, 0, 0, 0, 0, 0)
    body = m.encode_usersa_info(sel, dst, sa.spi, _ipproto(sa.protocol), src, limits, sa.reqid,
                                m.MODE_TUNNEL if tunnel else m.MODE_TRANSPORT, 0 if esn_attr else window, flags)
    return body + _key_attrs(sa) + (
        m.rtattr(m.XFRMA_REPLAY_ESN_VAL, m.encode_replay_esn(window)) if esn_attr else b"") + (
        m.rtattr(m.XFRMA_ENCAP, m.encode_encap(sa.src[1], sa.dst[1])) if sa.encap else b"")


def _key_attrs(sa: InstallChildSa) -> bytes:
    keys = sa.keys
    if keys.encr_alg:
        name = ENCR_NAMES.get(keys.encr_alg)
        if name is None:
            raise KernelError(f"algorithm {keys.encr_alg} not supported by kernel")
        key = keys.encr_key.reveal()
        if keys.encr_alg in AEAD_ICV_BITS:
            return m.rtattr(m.XFRMA_ALG_AEAD, m.encode_algo_sized(name, key, AEAD_ICV_BITS[keys.encr_alg]))
        out = m.rtattr(m.XFRMA_ALG_CRYPT, m.encode_algo(name, key))
    else:
        out = b""
    if keys.integ_alg:
        if keys.integ_alg not in INTEG_NAMES or keys.integ_key is None:
            raise KernelError(f"integrity algorithm {keys.integ_alg} not supported by kernel")
        name, trunc = INTEG_NAMES[keys.integ_alg]
        out += m.rtattr(m.XFRMA_ALG_AUTH_TRUNC, m.encode_algo_sized(name, keys.integ_key.reveal(), trunc))
    return out


def policy_message(p: InstallPolicy, priority: int) -> bytes:
    """XFRM_MSG_NEWPOLICY/UPDPOLICY body: xfrm_userpolicy_info + template for ipsec/trap."""
    sel = policy_selector(*direction_selectors(p.direction, p.local_ts, p.remote_ts))
    action = m.POLICY_BLOCK if p.kind == "drop" else m.POLICY_ALLOW
    body = m.encode_userpolicy_info(sel, priority, _DIR[p.direction], action)
    if p.kind in ("ipsec", "trap"):
        tunnel = p.mode == "TUNNEL"
        src, dst = ipaddress.ip_address(p.src).packed, ipaddress.ip_address(p.dst).packed
        family = m.family_of(dst)
        if not tunnel:
            src, dst = bytes(len(src)), bytes(len(dst))
        # charon names the outbound SA's SPI in OUT templates, so the kernel uses exactly that SA
        spi = p.spi if p.direction == Direction.OUT and p.kind == "ipsec" else 0
        tmpl = m.encode_user_tmpl(dst, src, _ipproto(p.protocol), p.reqid,
                                  m.MODE_TUNNEL if tunnel else m.MODE_TRANSPORT, family, spi)
        body += m.rtattr(m.XFRMA_TMPL, tmpl)
    return body


IP_XFRM_POLICY, IPV6_XFRM_POLICY = 17, 35  # linux/in.h, linux/in6.h


def bypass_socket(sock: Any, family: int) -> None:
    """charon's ``bypass_socket``: allow policies on the socket itself, in and out, so IKE (and
    ESP-in-UDP) on it never match a tunnel's policies, e.g. when a remote TS covers the peer."""
    level, option = (socket.IPPROTO_IPV6, IPV6_XFRM_POLICY) if family == socket.AF_INET6 else \
        (socket.IPPROTO_IP, IP_XFRM_POLICY)
    xfrm_family = m.AF_INET6 if family == socket.AF_INET6 else m.AF_INET
    for direction in (m.POLICY_OUT, m.POLICY_IN):
        sock.setsockopt(level, option, m.encode_socket_policy(xfrm_family, direction))


def _policy_key(direction: Direction, local_ts: Any, remote_ts: Any, kind: str) -> tuple:
    return (direction, str(local_ts), str(remote_ts), kind)


def probe_kernel_esp(netns: str | None = None) -> str | None:
    """None if the kernel accepts an ESP SA (one is added and removed at once), else the error."""
    from vicid.ike.effects import SaKeys
    from vicid.secrets import Secret
    probe = InstallChildSa(0, 0, 0, 0xFF, True, ProtocolId.ESP, "TUNNEL",
                           (ipaddress.ip_address("192.0.2.254"), 0), (ipaddress.ip_address("192.0.2.255"), 0),
                           False, SaKeys(EncrAlg.AES_GCM_16, 128, Secret(bytes(20)), 0, None))
    try:
        xs = XfrmSocket(netns)
    except OSError as exc:
        return f"no XFRM netlink: {exc.strerror}"
    try:
        xs.request(m.NEWSA, sa_message(probe), m.NLM_F_ACK | m.NLM_F_CREATE | m.NLM_F_EXCL)
        xs.request(m.DELSA, m.encode_usersa_id(probe.dst[0].packed, probe.spi, m.IPPROTO_ESP))
        return None
    except OSError as exc:
        return f"adding an ESP SA fails: {exc.strerror}"
    finally:
        xs.close()


class XfrmPort:
    """KernelPort on XFRM; ``await nursery.start(port.run)`` starts the event reader."""

    name = NETLINK
    features = KernelFeatures(requires_udp_encap=False, esn=True, transport_mode=True)

    def __init__(self, netns: str | None = None, *, routes: Routes | None = None, install_routes: bool = True,
                 routing_table: int = 220, routing_table_prio: int = 220, install_virtual_ip: bool = True) -> None:
        self.netns = netns
        self._xs = XfrmSocket(netns)
        self._limiter = trio.CapacityLimiter(1)
        self._routes = routes if routes is not None else Routes(netns)
        self._vips = VirtualIps(self._routes)
        self.install_virtual_ip = install_virtual_ip
        self.install_routes = install_routes
        self.table, self.table_prio = routing_table, routing_table_prio
        self._events_send, self.events = trio.open_memory_channel[KernelEvent](1024)
        self._sas: dict[int, InstallChildSa] = {}  # what we installed, by SPI (for query/update)
        self._policies: dict[tuple, list[InstallPolicy]] = {}
        self._routes_of: dict[tuple, Route] = {}
        self._rules: list[int] = []

    async def _request(self, msg_type: int, body: bytes, flags: int = m.NLM_F_ACK) -> list[tuple[int, bytes]]:
        return await trio.to_thread.run_sync(self._xs.request, msg_type, body, flags, limiter=self._limiter)

    # --- lifecycle ------------------------------------------------------------------------------
    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        groups = (1 << (m.XFRMNLGRP_ACQUIRE - 1)) | (1 << (m.XFRMNLGRP_EXPIRE - 1))
        sock = await trio.to_thread.run_sync(_open, self.netns, groups)
        sock.setblocking(False)
        try:
            if self.install_routes:
                for family in (socket.AF_INET, socket.AF_INET6):
                    if await self._routes.add_rule(self.table, self.table_prio, family):
                        self._rules.append(family)
            task_status.started()
            await self._read_events(sock)
        finally:
            sock.close()
            with trio.CancelScope(shield=True):
                for family in self._rules:
                    await self._routes.del_rule(self.table, self.table_prio, family)
                self._rules.clear()

    async def _read_events(self, sock: socket.socket) -> None:
        while True:
            await trio.lowlevel.wait_readable(sock)
            try:
                data = sock.recv(65536)
            except BlockingIOError:
                continue
            except OSError as exc:  # ENOBUFS: the kernel dropped events; charon logs and goes on
                log.warning("reading XFRM events failed: %s", exc)
                continue
            for event in self._decode_events(data):
                self._events_send.send_nowait(event)

    @staticmethod
    def _decode_events(data: bytes) -> list[KernelEvent]:
        events: list[KernelEvent] = []
        try:
            for msg_type, _, payload in m.split_messages(data):
                if msg_type == m.EXPIRE:
                    info, hard = m.decode_expire(payload)
                    events.append(KernelExpire(info.spi, hard, _proto_id(info.proto),
                                               ipaddress.ip_address(info.daddr), info.reqid))
                elif msg_type == m.ACQUIRE:
                    sel, reqid = m.decode_acquire(payload)
                    events.append(KernelAcquire(reqid, _host_ts(sel.saddr, sel.proto, sel.sport),
                                                _host_ts(sel.daddr, sel.proto, sel.dport)))
        except ValueError as exc:
            log.warning("malformed XFRM event ignored: %s", exc)
        return events

    async def aclose(self) -> None:
        for installs in list(self._policies.values()):
            while installs:
                p = installs[-1]
                await self.delete_policy(DeletePolicy(p.reqid, p.direction, p.local_ts, p.remote_ts, p.kind))
        for sa in list(self._sas.values()):
            await self.delete_sa(DeleteChildSa(sa.spi, sa.protocol, sa.dst, sa.inbound))
        await self._vips.clear()
        self._xs.close()

    async def add_ip(self, vip: InstallVirtualIp) -> None:
        """On the interface holding our IKE address, as charon's kernel-netlink by default."""
        if self.install_virtual_ip:
            await self._vips.add(vip.address, await self._routes.interface_of(str(vip.near)))

    async def del_ip(self, vip: DeleteVirtualIp) -> None:
        if self.install_virtual_ip:
            await self._vips.delete(vip.address)

    async def apply(self, effect: Effect) -> None:
        """One kernel effect, in the engine's order (the shell's entry point)."""
        await execute(self, effect)

    def bypass_socket(self, sock: Any, family: int) -> None:
        """Exempt one of the daemon's IKE sockets from IPsec policies (raises OSError)."""
        bypass_socket(sock, family)

    # --- SAs ------------------------------------------------------------------------------------
    async def install_sa(self, sa: InstallChildSa) -> None:
        await trio.to_thread.run_sync(self.install_sa_now, sa, limiter=self._limiter)

    def install_sa_now(self, sa: InstallChildSa) -> None:
        """One blocking netlink round trip (well under a millisecond): the engine calls this
        synchronously, so a failed install fails the CHILD_SA before its reply is built."""
        body = sa_message(sa)
        try:
            self._xs.request(m.NEWSA, body, m.NLM_F_ACK | m.NLM_F_CREATE | m.NLM_F_EXCL)
        except OSError as exc:
            raise KernelError(f"unable to add SAD entry with SPI {sa.spi:08x}: {exc.strerror}") from None
        self._sas[sa.spi] = sa
        log.debug("added SAD entry with SPI %08x and reqid {%d}", sa.spi, sa.reqid)

    async def update_sa(self, sa: UpdateChildSa) -> None:
        """New addresses/encapsulation: XFRM can't change the destination in place, so replace."""
        old = self._sas.get(sa.spi)
        if old is None:
            raise KernelError(f"unable to update SAD entry {sa.spi:08x}: not installed by us")
        new = InstallChildSa(**{**old.__dict__, "src": sa.src, "dst": sa.dst, "encap": sa.encap})
        await self.delete_sa(DeleteChildSa(sa.spi, sa.protocol, sa.old_dst, old.inbound))
        await self.install_sa(new)

    async def delete_sa(self, sa: DeleteChildSa) -> None:
        body = m.encode_usersa_id(sa.dst[0].packed, sa.spi, _ipproto(sa.protocol))
        self._sas.pop(sa.spi, None)
        try:
            await self._request(m.DELSA, body)
        except OSError as exc:
            if exc.errno not in (errno.ESRCH, errno.ENOENT):  # gone after a hard expire
                raise KernelError(f"unable to delete SAD entry with SPI {sa.spi:08x}: {exc.strerror}") from None

    async def query_sa(self, spi: int, protocol: int = ProtocolId.ESP, dst: IpAddress | None = None) -> SaUsage:
        if dst is None:
            known = self._sas.get(spi)
            if known is None:
                raise KernelError(f"unable to query SAD entry {spi:08x}: unknown destination")
            dst = known.dst[0]
        try:
            replies = await self._request(m.GETSA, m.encode_usersa_id(dst.packed, spi, _ipproto(protocol)), 0)
        except OSError as exc:
            raise KernelError(f"unable to query SAD entry with SPI {spi:08x}: {exc.strerror}") from None
        for msg_type, payload in replies:
            if msg_type == m.NEWSA:
                info = m.decode_usersa_info(payload)
                used = m.decode_lastused(m.attributes(payload[m.USERSA_INFO_SIZE:])) or info.use_time
                return SaUsage(info.bytes, info.packets, max(0.0, time.time() - used) if used else None)
        raise KernelError(f"unable to query SAD entry with SPI {spi:08x}: no reply")

    # --- policies -------------------------------------------------------------------------------
    async def install_policy(self, policy: InstallPolicy) -> None:
        key = _policy_key(policy.direction, policy.local_ts, policy.remote_ts, policy.kind)
        installs = self._policies.setdefault(key, [])
        installs.append(policy)
        try:
            await self._write_policy(installs, first=len(installs) == 1)
        except KernelError:
            installs.remove(policy)
            if not installs:
                del self._policies[key]
            raise
        if len(installs) == 1 and policy.direction == Direction.OUT and policy.kind in ("ipsec", "trap"):
            await self._install_route(key, policy)

    async def _write_policy(self, installs: list[InstallPolicy], first: bool) -> None:
        def prio(p: InstallPolicy) -> int:
            return policy_priority(p.direction, p.local_ts, p.remote_ts, p.kind, p.priority)
        active = min(reversed(installs), key=prio)
        try:
            await self._request(m.NEWPOLICY if first else m.UPDPOLICY, policy_message(active, prio(active)),
                                m.NLM_F_ACK | (m.NLM_F_CREATE | m.NLM_F_EXCL if first else 0))
        except OSError as exc:
            raise KernelError(f"unable to install policy {active.local_ts} === {active.remote_ts} "
                              f"{active.direction.value}: {exc.strerror}") from None

    async def delete_policy(self, policy: DeletePolicy) -> None:
        key = _policy_key(policy.direction, policy.local_ts, policy.remote_ts, policy.kind)
        installs = self._policies.get(key)
        if not installs:
            raise KernelError(f"policy {policy.local_ts} === {policy.remote_ts} {policy.direction.value} not found")
        same = [p for p in installs if p.reqid == policy.reqid] or installs
        installs.remove(same[-1])
        if installs:
            await self._write_policy(installs, first=False)
            return
        del self._policies[key]
        sel = policy_selector(*direction_selectors(policy.direction, policy.local_ts, policy.remote_ts))
        try:
            await self._request(m.DELPOLICY, m.encode_userpolicy_id(sel, _DIR[policy.direction]))
        except OSError as exc:
            if exc.errno != errno.ENOENT:
                raise KernelError(f"unable to delete policy {policy.local_ts} === {policy.remote_ts}: "
                                  f"{exc.strerror}") from None
        route = self._routes_of.pop(key, None)
        if route is not None:
            await self._routes.del_route(route)

    async def _install_route(self, key: tuple, policy: InstallPolicy) -> None:
        """charon's install_route: remote subnet via the next hop to the peer, src in the local TS."""
        if not self.install_routes:
            return
        src = await self._routes.address_in(policy.local_ts)
        if src is None:
            return  # no local address inside the local TS: charon installs no route either
        gateway, oif = await self._routes.next_hop(str(policy.dst))
        net, prefix, _ = policy.remote_ts.to_subnet()
        route = Route(str(ipaddress.ip_address(net)), prefix, self.table, oif, gateway, src)
        try:
            if await self._routes.add_route(route):
                self._routes_of[key] = route
        except OSError as exc:
            log.warning("unable to install source route for %s: %s", src, exc)


def _proto_id(ipproto: int) -> int:
    return ProtocolId.AH if ipproto == m.IPPROTO_AH else ProtocolId.ESP


def _host_ts(addr: bytes, proto: int, port: int) -> TrafficSelector:
    return TrafficSelector.from_range(addr, addr, proto, port, port) if port else \
        TrafficSelector.from_range(addr, addr, proto)
