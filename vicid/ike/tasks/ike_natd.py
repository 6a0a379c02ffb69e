"""NAT detection in IKE_SA_INIT (RFC 7296 §2.23) and the switch to UDP 4500 (``ike_natd.c``).

    NAT_DETECTION_SOURCE_IP / _DESTINATION_IP = SHA-1(SPIi | SPIr | IP | port)

A mismatching destination hash means we are behind a NAT (NAT_HERE), a mismatching source hash
that the peer is (NAT_THERE). ``encap = yes`` fakes the source hash to force UDP encapsulation.
Once the peer supports NAT-T, the initiator floats to port 4500 even without a NAT, as charon
does when MOBIKE is enabled.
"""

from __future__ import annotations

import hashlib

from vicid.ike.effects import Endpoint
from vicid.ike.messages import InMessage, OutMessage
from vicid.ike.sa_state import Cond, Ext
from vicid.ike.tasks.base import Status, Task, TaskKind
from vicid.ike.wire.enums import ExchangeType, NotifyType, PayloadType
from vicid.ike.wire.natt import IKE_PORT, nat_detection_hash
from vicid.ike.wire.notify import nat_detection

N = NotifyType


class IkeNatd(Task):
    kind = TaskKind.IKE_NATD

    def __init__(self, sa, initiator: bool) -> None:
        super().__init__(sa, initiator)
        self.src_seen = self.dst_seen = False
        self.src_matched = self.dst_matched = False
        self.fake_no_source_ip = False

    def migrate(self) -> None:
        self.src_seen = self.dst_seen = self.src_matched = self.dst_matched = False
        self.fake_no_source_ip = False

    def _force_encap(self) -> bool:
        """``encap = yes``, or a backend that only does ESP in UDP (charon's force_encap)."""
        return bool(self.sa.ike_cfg and self.sa.ike_cfg.encap) or self.sa.ctx.kernel_requires_udp_encap

    def _hash(self, spi_r: bytes, host: Endpoint) -> bytes:
        return nat_detection_hash(self.sa.spi_i, spi_r, host[0].packed, host[1])

    def _fake_source(self, spi_r: bytes) -> bytes:
        """A random IPv4 source that stays the same per daemon run (charon keys chunk_hash)."""
        addr = hashlib.sha256(b"vicid-natd" + self.sa.ctx.natd_key).digest()[:4]
        return nat_detection_hash(self.sa.spi_i, spi_r, addr, 0)

    def _notify(self, ntype: int, host: Endpoint, spi_r: bytes) -> object:
        fake = ntype == N.NAT_DETECTION_SOURCE_IP and (self._force_encap() or not int(host[0]))
        return nat_detection(ntype, self._fake_source(spi_r) if fake else self._hash(spi_r, host))

    # --- initiator ----------------------------------------------------------------------------
    def build(self, msg: OutMessage) -> Status:
        if not self.initiator:
            return self._build_r(msg)
        if msg.dst[1] != IKE_PORT:
            self.sa.float_ports()  # connecting to a port other than 500: markers from the start
            msg.src = self.sa.my_host
        src, spi_r = msg.src, self.sa.spi_r
        if not int(src[0]) and src[0].version == 6 and not self._force_encap():
            self.sa.log("IKE", 1, "unable to determine source address, disabling NAT-D")
            return Status.NEED_MORE
        if not int(src[0]) and not self._force_encap():
            self.sa.log("IKE", 1, "unable to determine source address, faking NAT situation")
            self.fake_no_source_ip = True
        msg.add(self._notify(N.NAT_DETECTION_SOURCE_IP, src, spi_r))
        msg.add(self._notify(N.NAT_DETECTION_DESTINATION_IP, msg.dst, spi_r))
        return Status.NEED_MORE

    def process(self, msg: InMessage) -> Status:
        self._process_payloads(msg)
        if not self.initiator:
            return Status.NEED_MORE
        if msg.exchange == ExchangeType.IKE_SA_INIT:
            mobike = self.sa.peer_cfg is None or self.sa.peer_cfg.mobike
            if self.sa.nat_any or (mobike and self.sa.supports(Ext.NATT)):
                self.sa.float_ports()
        return Status.SUCCESS

    # --- responder ----------------------------------------------------------------------------
    def _build_r(self, msg: OutMessage) -> Status:
        if msg.exchange == ExchangeType.IKE_SA_INIT and msg.get(PayloadType.SA) is None:
            return Status.SUCCESS  # only on successful responses
        if self.src_seen and self.dst_seen:
            msg.add(self._notify(N.NAT_DETECTION_SOURCE_IP, msg.src, self.sa.spi_r))
            msg.add(self._notify(N.NAT_DETECTION_DESTINATION_IP, msg.dst, self.sa.spi_r))
        return Status.SUCCESS

    # --- both ---------------------------------------------------------------------------------
    def _process_payloads(self, msg: InMessage) -> None:
        spi_r = msg.header.spi_r
        dst_hash, src_hash = self._hash(spi_r, msg.dst), self._hash(spi_r, msg.src)
        for n in msg.notifies():
            if n.notify_type == N.NAT_DETECTION_DESTINATION_IP:
                self.dst_seen = True
                self.dst_matched = self.dst_matched or n.data == dst_hash
            elif n.notify_type == N.NAT_DETECTION_SOURCE_IP:
                self.src_seen = True
                self.src_matched = self.src_matched or n.data == src_hash
        if self.src_seen and self.dst_seen:
            self._apply()

    def _apply(self) -> None:
        sa = self.sa
        sa.extensions.add(Ext.NATT)
        if self.fake_no_source_ip:
            if self.dst_matched:
                self.dst_matched = False  # register the faked NAT as a local one
            else:
                self.fake_no_source_ip = False
        sa.set_condition(Cond.NAT_HERE, not self.dst_matched)
        sa.set_condition(Cond.NAT_THERE, not self.src_matched)
        if self.dst_matched and self.src_matched and self._force_encap():
            sa.log("IKE", 1, "faking NAT situation to enforce UDP encapsulation")
            sa.set_condition(Cond.NAT_FAKE, True)
