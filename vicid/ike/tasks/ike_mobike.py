"""MOBIKE (RFC 4555), the part a responder and a non-roaming initiator need (``ike_mobike.c``).

* IKE_AUTH: announce ``N(MOBIKE_SUPPORTED)`` and our additional addresses (the engine does
  not know any, so ``N(NO_ADDITIONAL_ADDRESSES)``); the responder echoes it if the initiator
  sent it.
* INFORMATIONAL from the original initiator: ``N(UPDATE_SA_ADDRESSES)`` moves the IKE_SA (and
  its CHILD_SAs) to the request's addresses; NAT-D notifies are answered; ``N(COOKIE2)`` is
  echoed (RFC 4555 §3.5). The engine never starts an address update itself.
"""

from __future__ import annotations

from vicid.ike.messages import InMessage, OutMessage
from vicid.ike.sa_state import Cond, Ext
from vicid.ike.tasks.base import Status, Task, TaskKind
from vicid.ike.tasks.ike_natd import IkeNatd
from vicid.ike.wire.enums import ExchangeType, NotifyType

E, N = ExchangeType, NotifyType


class IkeMobike(Task):
    kind = TaskKind.IKE_MOBIKE

    def __init__(self, sa, initiator: bool) -> None:
        super().__init__(sa, initiator)
        self.sent = False
        self.update = False
        self.cookie2 = b""
        self.natd: IkeNatd | None = None

    def _enabled(self) -> bool:
        return self.sa.peer_cfg is None or self.sa.peer_cfg.mobike

    @staticmethod
    def _address_list(msg: OutMessage) -> None:
        msg.add_notify(N.NO_ADDITIONAL_ADDRESSES)

    def _process_payloads(self, msg: InMessage) -> None:
        for n in msg.notifies():
            if n.notify_type == N.MOBIKE_SUPPORTED:
                if not self.initiator and not self._enabled():
                    self.sa.log("IKE", 1, "peer supports MOBIKE, but disabled in config")
                else:
                    self.sa.log("IKE", 1, "peer supports MOBIKE")
                    self.sa.extensions.add(Ext.MOBIKE)
            elif n.notify_type == N.UPDATE_SA_ADDRESSES:
                self.update = True
            elif n.notify_type == N.COOKIE2:
                self.cookie2 = n.data

    # --- initiator (IKE_AUTH only) ------------------------------------------------------------
    def build(self, msg: OutMessage) -> Status:
        if not self.initiator:
            return self._build_r(msg)
        if msg.exchange == E.IKE_AUTH and not self.sent and self._enabled():
            self.sent = True
            msg.add_notify(N.MOBIKE_SUPPORTED)
            self._address_list(msg)
        return Status.NEED_MORE

    def process(self, msg: InMessage) -> Status:
        if not self.initiator:
            return self._process_r(msg)
        if msg.exchange == E.IKE_AUTH and self.sa.has(Cond.AUTHENTICATED):
            self._process_payloads(msg)
            return Status.SUCCESS
        return Status.NEED_MORE

    # --- responder ----------------------------------------------------------------------------
    def _process_r(self, msg: InMessage) -> Status:
        if msg.exchange == E.IKE_AUTH and not self.sent:
            self.sent = True
            self._process_payloads(msg)
        elif msg.exchange == E.INFORMATIONAL:
            self._process_payloads(msg)
            if msg.notify(N.NAT_DETECTION_SOURCE_IP) or msg.notify(N.NAT_DETECTION_DESTINATION_IP):
                self.natd = IkeNatd(self.sa, False)
                self.natd.process(msg)
            if self.update and self.sa.supports(Ext.MOBIKE):
                self.sa.move_hosts(msg.dst, msg.src)
        return Status.NEED_MORE

    def _build_r(self, msg: OutMessage) -> Status:
        if msg.exchange == E.IKE_AUTH:
            if not self.sa.has(Cond.AUTHENTICATED):
                return Status.NEED_MORE
            if self.sa.supports(Ext.MOBIKE):
                msg.add_notify(N.MOBIKE_SUPPORTED)
                self._address_list(msg)
            return Status.SUCCESS
        if msg.exchange == E.INFORMATIONAL:
            if self.natd is not None:
                self.natd.build(msg)
            if self.cookie2:
                msg.add_notify(N.COOKIE2, self.cookie2)
            return Status.SUCCESS
        return Status.NEED_MORE
