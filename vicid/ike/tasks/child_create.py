"""CHILD_SA creation in IKE_AUTH or CREATE_CHILD_SA (RFC 7296 §1.3.1, §2.9, §2.17).

    (IKE_AUTH)          SK {..., SAi2, TSi, TSr, [N(USE_TRANSPORT_MODE)]} -->
    (CREATE_CHILD_SA)   SK {SA, Ni, [KEi], TSi, TSr} -->
                                           <-- SK {SA, [Nr, KEr], TSi, TSr}

KE methods are never used in IKE_AUTH: they are stripped from the proposals and ignored when
selecting (PROPOSAL_SKIP_KE). The responder narrows the selectors against its configuration
(RFC 7296 §2.9), installs the inbound SA, the outbound SA and the policies, and only then
sends its response, so the peer cannot send ESP before we can receive it (``child_create.c``).

In CREATE_CHILD_SA the selected proposal's KE and ADDKE transforms are honoured: after the
CREATE_CHILD_SA exchange one IKE_FOLLOWUP_KE per additional key exchange follows (RFC 9370
§2.2.4), linked by N(ADDITIONAL_KEY_EXCHANGE); the keys are derived once all are done:

                           <-- HDR, SK {SA, Nr, KEr, TSi, TSr, N(ADDITIONAL_KEY_EXCHANGE)}
    HDR(IKE_FOLLOWUP_KE), SK {KEi(1), N(ADDITIONAL_KEY_EXCHANGE)} -->
                           <-- HDR(IKE_FOLLOWUP_KE), SK {KEr(1)}

When the task recreates a CHILD_SA for a rekeying, the outbound SA of the new one is only
*registered*; child_rekey installs it when the old SA goes (``child_sa.c`` register_outbound).
"""

from __future__ import annotations

from vicid.ike.child import ChildSa, ChildState, OutboundState, ts_text
from vicid.ike.config import ChildConfig, Childless, IpsecMode, PeerConfig
from vicid.ike.crypto.keymat import ChildSuite, derive_child_keys
from vicid.ike.crypto.transforms import encr_info
from vicid.ike.effects import SaKeys
from vicid.ike.ke import KeyExchange
from vicid.ike.messages import EXCHANGE_UNDEFINED, InMessage, OutMessage, notify_name
from vicid.ike.proposal import Proposal
from vicid.ike.sa_state import Cond, Ext, IkeState
from vicid.ike.tasks import common
from vicid.ike.tasks.base import Status, Task, TaskKind
from vicid.ike.tasks.child_delete import ChildDeleteInitiator
from vicid.ike.tasks.ike_config import any_address
from vicid.ike.tasks.ike_init import KeRound, key_rounds
from vicid.ike.ts import TrafficSelector, select_ts, ts_list_str
from vicid.ike.wire.enums import AEAD_ALGS, ExchangeType, NotifyType, PayloadType, TransformType, ke_name
from vicid.ike.wire.errors import (
    InvalidKePayload,
    InvalidSyntax,
    NoProposalChosen,
    StateNotFound,
    TemporaryFailure,
    TsUnacceptable,
)
from vicid.ike.wire.payloads import NoncePayload
from vicid.ike.wire_map import proposals_from_wire, sa_payload, ts_from_wire, tsi_payload, tsr_payload
from vicid.secrets import Secret

E, N = ExchangeType, NotifyType
LINK = b"\x42"  # charon's ADDITIONAL_KEY_EXCHANGE data as responder (window size 1)
RETRY_INTERVAL, RETRY_JITTER = 15, 10  # ike_sa.h: delayed retries after TEMPORARY_FAILURE
CHILD_ERRORS = {N.NO_PROPOSAL_CHOSEN, N.SINGLE_PAIR_REQUIRED, N.NO_ADDITIONAL_SAS,
                N.INTERNAL_ADDRESS_FAILURE, N.FAILED_CP_REQUIRED, N.TS_UNACCEPTABLE,
                N.INVALID_SELECTORS}


def current_peer_cfg(sa) -> PeerConfig:
    """The loaded config this IKE_SA uses: a reload with an equal peer config only replaces
    the children, which charon merges into the same object the IKE_SA references."""
    cfg = sa.peer_cfg
    return next((c for c in sa.ctx.peers() if c is cfg or (c.name == cfg.name and c == cfg)), cfg)


def is_transport(cfg: ChildConfig) -> bool:
    return cfg.mode == IpsecMode.TRANSPORT and not cfg.proxy_mode


def config_proposals(cfg: ChildConfig, strip_ke: bool) -> list[Proposal]:
    """``get_proposals(strip_ke)``: clones (without KE/ADDKE transforms for IKE_AUTH),
    duplicates dropped."""
    out: list[Proposal] = []
    for p in cfg.proposals:
        clone = p.clone(skip_ke=strip_ke)
        if not any(clone.same_algorithms(q) for q in out):
            out.append(clone)
    return out


def child_suite(p: Proposal) -> ChildSuite:
    encr, integ = p.get_algorithm(TransformType.ENCR), p.get_algorithm(TransformType.INTEG)
    aead = encr is not None and encr.id in AEAD_ALGS
    return ChildSuite(encr.id if encr else None, (encr.key_length or None) if encr else None,
                      None if aead or integ is None else integ.id)


def sa_keys(p: Proposal, encr_key: Secret, integ_key: Secret) -> SaKeys:
    encr, integ = p.get_algorithm(TransformType.ENCR), p.get_algorithm(TransformType.INTEG)
    esn = p.get_algorithm(TransformType.ESN)
    aead = encr is not None and encr.id in AEAD_ALGS
    bits = 0
    if encr is not None:
        bits = encr.key_length or encr_info(encr.id).default_key_bits
    return SaKeys(encr.id if encr else 0, bits, encr_key, 0 if aead or integ is None else integ.id,
                  None if aead or integ is None else integ_key, bool(esn and esn.id))


class ChildCreate(Task):
    """State shared by both roles."""

    kind = TaskKind.CHILD_CREATE

    def __init__(self, sa, initiator: bool, config: ChildConfig | None = None) -> None:
        super().__init__(sa, initiator)
        self.config = config
        self.child: ChildSa | None = None
        self.my_nonce = self.other_nonce = b""
        self.proposals: list[Proposal] | None = None
        self.proposal: Proposal | None = None
        self.tsi: list[TrafficSelector] | None = None
        self.tsr: list[TrafficSelector] | None = None
        self.mode = IpsecMode.TUNNEL
        self.my_spi = self.other_spi = b""
        self.ke_method = 0
        self.ke: KeyExchange | None = None
        self.ke_failed = False
        self.secrets: list[Secret] = []
        self.rounds: list[KeRound] = []
        self.ke_index = 0
        self.link: bytes | None = None
        self.multi_ke = False  # CREATE_CHILD_SA done, IKE_FOLLOWUP_KE rounds running
        self.established = False
        self.rekey = False  # recreating an SA for child_rekey: outbound only registered
        self.reqid = 0  # a reqid (referenced) to reuse, from recreate()
        self.reuse_ts: tuple[list[TrafficSelector], list[TrafficSelector]] | None = None
        self.aborted = False
        self.retry_after: float | None = None  # TEMPORARY_FAILURE: retry in this many seconds

    # --- API for child_rekey and reauthentication ---------------------------------------------
    def recreate(self, old: ChildSa, rekey: bool) -> None:
        """``recreate_sa`` (+ ``use_reqid``): reuse the old SA's selectors, reqid and, as
        initiator, the KE method negotiated before."""
        self.rekey = rekey
        self.reuse_ts = (list(old.my_ts), list(old.other_ts))
        if old.reqid:
            self.reqid = old.reqid
            self.sa.ctx.reqids.ref(old.reqid)
        ke = old.proposal.get_algorithm(TransformType.KE) if old.proposal is not None else None
        if self.initiator and ke is not None and ke.id:
            self.ke_method = ke.id

    def lower_nonce(self) -> bytes:
        """``get_lower_nonce``: the smaller of both nonces (RFC 7296 §2.8.1)."""
        mine, other = self.my_nonce, self.other_nonce
        n = min(len(mine), len(other))
        return mine if mine[:n] < other[:n] else other

    def abort(self) -> None:
        self.aborted = True

    def abandon(self) -> None:
        """Drop the half-made CHILD_SA of an incomplete (multi-KE) exchange we gave up on."""
        self.aborted = True
        self._discard_child()

    def dispose(self) -> None:
        self.release()

    def adopt(self, sa) -> None:
        super().adopt(sa)
        self.child, self.ke, self.proposals, self.proposal = None, None, None, None
        self.rounds, self.ke_index, self.secrets, self.multi_ke = [], 0, [], False

    def release(self) -> None:
        """Drop the reference to a reused reqid the task never handed to a CHILD_SA."""
        if self.reqid:
            self.sa.ctx.reqids.release(self.reqid)
            self.reqid = 0

    # --- helpers ------------------------------------------------------------------------------
    def _hosts(self, local: bool) -> list:
        """What ``dynamic`` stands for: virtual IPs, else the IKE addresses (``get_dynamic_hosts``)."""
        return self.sa.dynamic_hosts(local)

    def _narrow(self, local: bool, supplied: list[TrafficSelector] | None,
                hosts: list | None = None) -> list[TrafficSelector]:
        """``narrow_ts``/``child_cfg_select_ts`` for one side."""
        assert self.config is not None
        configured = self.config.local_ts if local else self.config.remote_ts
        force = supplied is None and is_transport(self.config)
        hosts = self._hosts(local) if hosts is None else hosts
        selected, narrowed = select_ts(list(configured), supplied, hosts, force)
        if narrowed:
            self.sa.alert("ts-narrowed")
        return selected

    def _process_payloads(self, msg: InMessage) -> None:
        self.mode = IpsecMode.TUNNEL
        for p in msg.message.all_payloads():
            if p.payload_type == PayloadType.SA:
                self.proposals = proposals_from_wire(p)
            elif p.payload_type == PayloadType.KE:
                self._process_ke(p.method, p.data)
            elif p.payload_type == PayloadType.TSi:
                self.tsi = ts_from_wire(p.selectors)
            elif p.payload_type == PayloadType.TSr:
                self.tsr = ts_from_wire(p.selectors)
            elif p.payload_type == PayloadType.NOTIFY and p.notify_type == N.USE_TRANSPORT_MODE:
                self.mode = IpsecMode.TRANSPORT
            elif p.payload_type == PayloadType.NOTIFY and p.notify_type == N.ESP_TFC_PADDING_NOT_SUPPORTED:
                self.sa.log("IKE", 1, "received ESP_TFC_PADDING_NOT_SUPPORTED, not using ESPv3 TFC padding")

    def _process_ke(self, method: int, data: bytes) -> None:
        """``process_ke_payload``: in IKE_FOLLOWUP_KE the method must be the negotiated one."""
        expected = self.rounds[self.ke_index].method if self.rounds else 0
        if expected and expected != method:
            self.sa.log("IKE", 1, f"key exchange method in received payload {ke_name(method)} doesn't "
                                  f"match negotiated {ke_name(expected)}")
            self.ke_failed = True
            return
        if not self.initiator:
            self.ke_method = method
            self.ke = common.create_ke(self.sa, method)
            if self.ke is None:
                self.sa.log("IKE", 1, f"key exchange method {ke_name(method)} not supported")
        if self.ke is None or self.ke.method != method:
            self.ke_failed = True
            return
        self.ke_failed = not common.apply_peer_value(self.sa, self.ke, data)

    def _process_link(self, msg: InMessage) -> None:
        """The initiator echoes the responder's link data; the responder checks it."""
        notify = msg.notify(N.ADDITIONAL_KEY_EXCHANGE)
        if notify is None:
            self.link = None
        elif self.initiator:
            self.link = notify.data
        elif notify.data != self.link:
            self.sa.log("IKE", 1, "data in ADDITIONAL_KEY_EXCHANGE notify doesn't match")
            self.link = None

    def _process_followup(self, msg: InMessage) -> None:
        ke = msg.get(PayloadType.KE)
        if ke is None:
            self.sa.log("IKE", 1, "KE payload missing in message")
            self.ke_failed = True
        else:
            self._process_ke(ke.method, ke.data)
        self._process_link(msg)

    def _key_exchange_done(self) -> bool:
        """Round done: keep its secret; True if no further IKE_FOLLOWUP_KE is needed."""
        if self.ke is None:
            return True
        self.secrets.append(self.ke.shared_secret())
        self.rounds[self.ke_index].done = True
        self.ke_index += 1
        self.ke = None
        return not any(not r.done for r in self.rounds[self.ke_index:])

    def _select(self, no_ke: bool) -> bool:
        assert self.config is not None
        if self.proposals is None:
            self.sa.log("IKE", 1, "SA payload missing in message")
            return False
        self.proposal = common.select(self.sa, config_proposals(self.config, no_ke), self.proposals,
                                      skip_ke=no_ke)
        if self.proposal is None:
            self.sa.log("IKE", 1, "no acceptable proposal found")
            self.sa.alert("proposal-mismatch-child")
            return False
        return True

    def _determine_rounds(self) -> None:
        """``determine_key_exchanges``: KE, then ADDKE1..7 of the selected proposal."""
        assert self.proposal is not None
        self.rounds = key_rounds(self.proposal) if self.ke is not None else []
        self.ke_index = 0

    def _narrow_and_check(self) -> str:
        """``narrow_and_check_ts``: "ok", "ts" (selectors unacceptable) or "mode" (refused)."""
        sa = self.sa
        mine_in, other_in = (self.tsi, self.tsr) if self.initiator else (self.tsr, self.tsi)
        my_ts, other_ts = self._narrow(True, mine_in), self._narrow(False, other_in)
        if not my_ts or not other_ts:
            sa.alert("ts-mismatch")
            sa.log("IKE", 1, "no acceptable traffic selectors found")
            return "ts"
        assert self.child is not None
        self.child.my_ts, self.child.other_ts = my_ts, other_ts
        if self._check_mode():
            return "ok"
        if self.initiator:
            sa.log("IKE", 1, f"{self.mode.name} mode requested by responder is unacceptable")
            return "mode"
        self.mode = IpsecMode.TUNNEL
        return "ok"

    def _check_mode(self) -> bool:
        """``check_mode``: transport mode only host-to-host (or proxy mode) and if configured."""
        if self.mode != IpsecMode.TRANSPORT:
            return True
        assert self.child is not None and self.config is not None
        me, other = self.sa.my_host[0].packed, self.sa.other_host[0].packed
        host_to_host = all(ts.is_host(me) for ts in self.child.my_ts) and all(
            ts.is_host(other) for ts in self.child.other_ts)
        if not self.config.proxy_mode and not host_to_host:
            self.sa.log("IKE", 1, "not using transport mode, not host-to-host")
            return False
        return self.config.mode == IpsecMode.TRANSPORT

    def _new_child(self, config: ChildConfig) -> ChildSa:
        child = self.sa.new_child(config, self.initiator)
        child.reqid = config.reqid  # a reused reqid is handed over at installation
        return child

    # --- installation -------------------------------------------------------------------------
    def _install(self) -> bool:
        """``install_child_sa``: keys, inbound SA, outbound SA (or only registered when
        rekeying), policies, log, INSTALLED."""
        sa, child, proposal = self.sa, self.child, self.proposal
        assert child is not None and proposal is not None
        ni, nr = (self.my_nonce, self.other_nonce) if self.initiator else (self.other_nonce, self.my_nonce)
        child.mode, child.proposal = self.mode, proposal
        child.protocol = proposal.protocol
        child.spi_in, child.spi_out = self.my_spi, self.other_spi
        child.my_host, child.other_host, child.encap = sa.my_host, sa.other_host, sa.nat_any
        child.reqid = self.reqid or child.reqid or sa.ctx.reqids.acquire(self._reqid_key(child))
        self.reqid = 0  # the CHILD_SA owns the reference now
        life = child.config.lifetime_time
        child.soft_lifetime = life.rekey - int(sa.ctx.rng.random() * life.jitter) if life.jitter else life.rekey
        sa.set_child_state(child, ChildState.INSTALLING)
        keys = derive_child_keys(child_suite(proposal), sa.keymat.prf, sa.keymat.sk_d, ni, nr,
                                 self.secrets)
        inbound, outbound = ((keys.encr_r, keys.integ_r), (keys.encr_i, keys.integ_i))
        if not self.initiator:
            inbound, outbound = outbound, inbound
        window = sa.ctx.settings.replay_window
        failed_in = sa.ctx.install(child.install_effect(sa.uniqueid, sa_keys(proposal, *inbound), True, window))
        child.installed_in = failed_in is None
        out_effect = child.install_effect(sa.uniqueid, sa_keys(proposal, *outbound), False, window)
        failed_out = None
        if self.rekey:
            child.pending_out = out_effect
        else:
            failed_out = sa.ctx.install(out_effect)
            child.installed_out = failed_out is None
        if failed_in or failed_out:  # the backend said no (e.g. a kernel without ESP)
            which = " and ".join(d for d, bad in (("inbound", failed_in), ("outbound", failed_out)) if bad)
            sa.log("IKE", 1, f"unable to install {which} IPsec SA (SAD) in kernel")
            sa.alert("install-child-sa-failed")
            return False
        if child.config.policies:
            child.policies = child.policy_effects()
            for effect in child.policies:
                sa.ctx.emit(effect)
        self._established(child)
        return True

    @staticmethod
    def _reqid_key(child: ChildSa) -> tuple:
        return (tuple(child.my_ts), tuple(child.other_ts), child.config.mark_in, child.config.mark_out,
                child.config.if_id_in, child.config.if_id_out)

    def _established(self, child: ChildSa) -> None:
        sa = self.sa
        life = child.config.lifetime_time
        child.installed_at = sa.now
        child.rekey_at = sa.now + child.soft_lifetime if child.soft_lifetime else None
        child.expire_at = sa.now + life.life if life.life else None
        inbound = "" if child.outbound_state == OutboundState.INSTALLED else "inbound "
        sa.log("IKE", 0, f"{inbound}CHILD_SA {child.name}{{{child.uniqueid}}} established with SPIs "
                         f"{child.spi_in.hex()}_i {child.spi_out.hex()}_o and TS "
                         f"{ts_text(child.my_ts)} === {ts_text(child.other_ts)}")
        sa.set_child_state(child, ChildState.INSTALLED)
        sa.add_child(child)
        self.established = True
        if not self.rekey:
            sa.child_updown(child, True)

    def _failure(self, exchange: int) -> None:
        """``handle_child_sa_failure``: keep the IKE_SA (or close it if configured)."""
        sa = self.sa
        if exchange == E.IKE_AUTH and sa.ctx.settings.close_ike_on_child_failure:
            sa.log("IKE", 1, "closing IKE_SA due CHILD_SA setup failure")
            sa.timers.half_open = sa.now + 0.1
        else:
            sa.log("IKE", 1, "failed to establish CHILD_SA, keeping IKE_SA")
            sa.alert("keep-on-child-sa-failure")

    def _discard_child(self) -> None:
        """The task ends without an installed CHILD_SA: destroy the record (listeners see it)."""
        if self.child is not None and not self.established:
            self.sa.destroy_child(self.child)
            self.child = None
        elif self.my_spi and not self.established:
            self.sa.ctx.free_child_spi(self.my_spi)
        self.release()


class ChildCreateInitiator(ChildCreate):
    def __init__(self, sa, config: ChildConfig) -> None:
        super().__init__(sa, True, config)
        self.retry = False
        self.sent = False
        self.delete_spi = b""  # a failed SA the peer installed: DELETE it in an INFORMATIONAL
        self.own_delete = True  # False: child_rekey sends that DELETE itself

    def build(self, msg: OutMessage) -> Status:
        if self.delete_spi:
            return self._build_delete(msg)
        if self.multi_ke:
            return self._build_followup(msg)
        if msg.exchange == E.IKE_SA_INIT:
            nonce = msg.get(PayloadType.NONCE)
            self.my_nonce = nonce.data if nonce else b""
            return Status.NEED_MORE
        if msg.exchange == E.CREATE_CHILD_SA:
            self.my_nonce, no_ke = common.nonce(self.sa), False
        elif msg.exchange == E.IKE_AUTH and not self.sent:
            if self._defer():
                return Status.NEED_MORE
            no_ke = True
        else:
            return Status.NEED_MORE
        self.sent = True
        return self._build_request(msg, no_ke)

    def _defer(self) -> bool:
        """Childless IKE_SA first (RFC 6023) if both sides want it; the CHILD_SA comes later."""
        cfg = self.sa.ike_cfg
        mode = cfg.childless if cfg else Childless.ALLOW
        return mode == Childless.FORCE or (mode == Childless.PREFER and self.sa.supports(Ext.CHILDLESS))

    def _build_request(self, msg: OutMessage, no_ke: bool) -> Status:
        sa, cfg = self.sa, self.config
        assert cfg is not None
        if self.reuse_ts is not None:
            self.tsi, self.tsr = list(self.reuse_ts[0]), list(self.reuse_ts[1])
        else:
            self.tsi, self.tsr = self._narrow(True, None, self._proposed_hosts()), self._narrow(False, None)
        proposals = config_proposals(cfg, no_ke)
        self.mode = cfg.mode
        self.child = self._new_child(cfg)
        if msg.exchange == E.CREATE_CHILD_SA and not self.rekey and self._duplicate():
            self._discard_child()
            msg.exchange = EXCHANGE_UNDEFINED
            return Status.SUCCESS
        shown = self.reqid or self.child.reqid
        reqid = f" reqid {shown}" if shown else ""
        sa.log("IKE", 0, f"establishing CHILD_SA {self.child.name}{{{self.child.uniqueid}}}{reqid}")
        self.my_spi = self.child.spi_in = sa.ctx.alloc_child_spi()
        if no_ke:
            self.ke_method = 0
        elif not self.retry and not self.ke_method:
            self.ke_method = next((a.id for p in cfg.proposals
                                   if (a := p.get_algorithm(TransformType.KE))), 0)
        proposals = self._promote(proposals)
        if proposals is None:
            sa.log("IKE", 1, f"requested key exchange method {ke_name(self.ke_method)} not contained "
                             "in any of our proposals")
            return Status.FAILED
        if self.ke_method:
            self.ke = common.create_ke(sa, self.ke_method)
            if self.ke is None:
                sa.log("IKE", 1, f"selected key exchange method {ke_name(self.ke_method)} not supported")
                return Status.FAILED
        self._add_payloads(msg, proposals)
        return Status.NEED_MORE

    def _proposed_hosts(self) -> list:
        """``prepare_proposed_ts``: with virtual IPs configured we propose 0.0.0.0/0 (::/0) as
        TSi, the responder narrows it to the address it assigns."""
        cfg = self.sa.peer_cfg
        if not self.rekey and cfg is not None and cfg.vips:
            return [any_address(vip.version) for vip in cfg.vips]
        return self._hosts(True)

    def _duplicate(self) -> bool:
        """``check_for_duplicate``: an installed CHILD_SA with an equal config exists."""
        new = self.child
        assert new is not None
        for child in self.sa.children:
            if child.state == ChildState.INSTALLED and child.config == new.config and (
                    not new.reqid or new.reqid == child.reqid):
                self.sa.log("IKE", 1, f"not establishing CHILD_SA {new.name}{{{new.uniqueid}}} due to "
                                      f"existing duplicate {{{child.uniqueid}}} with SPIs "
                                      f"{child.spi_in.hex()}_i {child.spi_out.hex()}_o and TS "
                                      f"{ts_list_str(child.my_ts)} === {ts_list_str(child.other_ts)}")
                return True
        return False

    def _promote(self, proposals: list[Proposal]) -> list[Proposal] | None:
        front, back = [], []
        for p in proposals:
            p = p.with_spi(self.my_spi)
            promoted = p.promote_transform(TransformType.KE, self.ke_method) if self.ke_method else p
            (front if promoted else back).append(promoted or p)
        return front + back if not self.ke_method or front else None

    def _add_payloads(self, msg: OutMessage, proposals: list[Proposal]) -> None:
        msg.add(sa_payload(proposals))
        if msg.exchange == E.CREATE_CHILD_SA:
            msg.add(NoncePayload(self.my_nonce))
        if self.ke is not None:
            msg.add(common.ke_payload(self.ke))
        msg.add(tsi_payload(self.tsi or ()))
        msg.add(tsr_payload(self.tsr or ()))
        if self.mode == IpsecMode.TRANSPORT:
            msg.add_notify(N.USE_TRANSPORT_MODE)
        if not self.sa.ctx.settings.esp_v3_tfc:
            msg.add_notify(N.ESP_TFC_PADDING_NOT_SUPPORTED)

    def _build_followup(self, msg: OutMessage) -> Status:
        """``build_i_multi_ke``: IKE_FOLLOWUP_KE {KEi(n), N(ADDITIONAL_KEY_EXCHANGE)}."""
        msg.exchange = E.IKE_FOLLOWUP_KE
        method = self.rounds[self.ke_index].method
        self.ke = common.create_ke(self.sa, method)
        if self.ke is None:
            self.sa.log("IKE", 1, f"negotiated key exchange method {ke_name(method)} not supported")
            return Status.FAILED
        if self.link is None:
            self.sa.log("IKE", 1, "ADDITIONAL_KEY_EXCHANGE notify missing")
            return Status.FAILED
        msg.add(common.ke_payload(self.ke))
        msg.add_notify(N.ADDITIONAL_KEY_EXCHANGE, self.link)
        return Status.NEED_MORE

    def _build_delete(self, msg: OutMessage) -> Status:
        """``build_i_delete``: an INFORMATIONAL DELETE for the SA the peer installed."""
        from vicid.ike.wire.payloads import DeletePayload

        msg.exchange = E.INFORMATIONAL
        protocol = self.proposal.protocol if self.proposal is not None else 3
        msg.add(DeletePayload(protocol, (self.delete_spi,)))
        self.sa.log("IKE", 1, f"sending DELETE for {'ESP' if protocol == 3 else 'AH'} CHILD_SA "
                              f"with SPI {self.delete_spi.hex()}")
        self.sa.ctx.free_child_spi(self.delete_spi)
        self.delete_spi = b""
        return Status.SUCCESS

    def process(self, msg: InMessage) -> Status:
        if self.multi_ke:
            return self._process_followup_response(msg)
        if msg.exchange == E.IKE_SA_INIT:
            nonce = msg.get(PayloadType.NONCE)
            self.other_nonce = nonce.data if nonce else b""
            return Status.NEED_MORE
        if msg.exchange == E.CREATE_CHILD_SA:
            nonce = msg.get(PayloadType.NONCE)
            self.other_nonce, no_ke = (nonce.data if nonce else b""), False
        elif msg.exchange == E.IKE_AUTH:
            if not self.sa.has(Cond.AUTHENTICATED) or not self.sent:
                return Status.NEED_MORE
            no_ke = True
        else:
            return Status.NEED_MORE
        status = self._error_notifies(msg)
        if status is not None:
            return status
        self._process_payloads(msg)
        return self._complete(msg, no_ke)

    def _temporary_failure(self) -> Status:
        """``schedule_delayed_retry`` unless child_rekey retries itself."""
        self.sa.log("IKE", 1, "received TEMPORARY_FAILURE notify")
        if not self.rekey and not self.aborted and self.config is not None:
            delay = RETRY_INTERVAL - int(self.sa.ctx.rng.random() * RETRY_JITTER)
            self.sa.log("IKE", 1, f"delaying task initiation, retrying in {delay} seconds")
            self.retry_after = delay
            self.sa.schedule_child_retry(self.config, delay)
        self._discard_child()
        return Status.SUCCESS

    def _error_notifies(self, msg: InMessage) -> Status | None:
        sa = self.sa
        for n in msg.notifies():
            if n.notify_type in CHILD_ERRORS:
                sa.log("IKE", 1, f"received {notify_name(n.notify_type)} notify, no CHILD_SA built")
                if n.notify_type == N.NO_PROPOSAL_CHOSEN:
                    sa.alert("proposal-mismatch-child")
                elif n.notify_type == N.TS_UNACCEPTABLE:
                    sa.alert("ts-mismatch")
                self._failure(msg.exchange)
                self._discard_child()
                return Status.SUCCESS
            if n.notify_type == N.TEMPORARY_FAILURE:
                return self._temporary_failure()
            if n.notify_type == N.INVALID_KE_PAYLOAD and msg.exchange == E.CREATE_CHILD_SA:
                return self._retry_ke(msg, n.data)
            if msg.exchange == E.CREATE_CHILD_SA and n.is_error:
                sa.log("IKE", 1, f"received {notify_name(n.notify_type)} notify error")
                self._discard_child()
                return Status.SUCCESS
        return None

    def _retry_ke(self, msg: InMessage, data: bytes) -> Status:
        """One retry with the KE method the responder requested (RFC 7296 §1.3)."""
        method = int.from_bytes(data, "big")
        if self.aborted:
            self.sa.log("IKE", 1, "received INVALID_KE_PAYLOAD notify in aborted CHILD_CREATE task")
            self._discard_child()
            return Status.SUCCESS
        if self.retry:
            self.sa.log("IKE", 1, f"already retried with key exchange method {ke_name(self.ke_method)}, "
                                  f"ignore requested {ke_name(method)}")
            self._failure(msg.exchange)
            self._discard_child()
            return Status.SUCCESS
        self.sa.log("IKE", 1, f"peer didn't accept key exchange method {ke_name(self.ke_method)}, "
                              f"it requested {ke_name(method)}")
        self.retry, self.ke_method = True, method
        reqid, self.reqid = self.reqid, 0  # keep our reference across the retry
        if self.child is not None:
            self.sa.set_child_state(self.child, ChildState.RETRYING)
        self._discard_child()
        self.reqid = reqid
        self.sa.ctx.free_child_spi(self.my_spi)
        self.sent, self.ke, self.proposals, self.proposal = False, None, None, None
        self.rounds, self.ke_index, self.secrets, self.ke_failed = [], 0, [], False
        return Status.NEED_MORE

    def _complete(self, msg: InMessage, no_ke: bool) -> Status:
        if not self._select(no_ke):
            return self._fail(msg)
        self.other_spi = self.proposal.spi
        if self.aborted:
            assert self.child is not None
            self.sa.log("IKE", 1, f"deleting CHILD_SA {self.child.name}{{{self.child.uniqueid}}} with "
                                  f"SPIs {self.my_spi.hex()}_i {self.other_spi.hex()}_o of aborted "
                                  "CHILD_CREATE task")
            return self._fail(msg, quiet=True)
        if self.ke is not None:
            ke = self.proposal.get_algorithm(TransformType.KE)
            if ke is None or not ke.id:
                self.sa.log("IKE", 1, "ignoring KE payload, agreed on a non-PFS proposal")
                self.ke, self.ke_failed = None, False
            elif ke.id != self.ke_method or self.ke_failed:
                self.sa.log("IKE", 1, "applying key exchange public value failed")
                return self._fail(msg)
        self._determine_rounds()
        if self.tsi is None or self.tsr is None or self._narrow_and_check() != "ok":
            return self._fail(msg)
        if not self._key_exchange_done():
            self._process_link(msg)
            self.multi_ke = True
            return Status.NEED_MORE
        if not self._install():
            return self._fail(msg)
        return Status.SUCCESS

    def _process_followup_response(self, msg: InMessage) -> Status:
        """``process_i_multi_ke``: KEr(n), then the next round or the installation."""
        if msg.notify(N.TEMPORARY_FAILURE):
            return self._temporary_failure()
        self._process_followup(msg)
        if self.ke_failed or self.aborted:
            return self._fail(msg)
        if not self._key_exchange_done():
            return Status.NEED_MORE
        if not self._install():
            return self._fail(msg)
        return Status.SUCCESS

    def _fail(self, msg: InMessage, quiet: bool = False) -> Status:
        """``delete_failed_sa``: the peer installed its SA, so we send a DELETE for ours."""
        if not quiet:
            self._failure(msg.exchange)
        if self.child is not None:
            self.sa.destroy_child(self.child)
            self.child = None
        self.release()
        if self.my_spi and msg.exchange != E.IKE_AUTH and self.own_delete:
            self.delete_spi = self.my_spi
            return Status.NEED_MORE
        if self.my_spi and msg.exchange == E.IKE_AUTH:
            self.sa.tm.queue(ChildDeleteInitiator.for_spi(self.sa, self.proposal, self.my_spi))
        return Status.SUCCESS


class ChildCreateResponder(ChildCreate):
    def __init__(self, sa) -> None:
        super().__init__(sa, False)
        self.processed = False
        self._answered: KeyExchange | None = None  # the KE of the round just completed

    def process(self, msg: InMessage) -> Status:
        if self.multi_ke:
            if msg.exchange == E.IKE_FOLLOWUP_KE:
                self.ke = None
                self._process_followup(msg)
            return Status.NEED_MORE
        if msg.exchange == E.IKE_SA_INIT:
            nonce = msg.get(PayloadType.NONCE)
            self.other_nonce = nonce.data if nonce else b""
            return Status.NEED_MORE
        if msg.exchange == E.CREATE_CHILD_SA:
            nonce = msg.get(PayloadType.NONCE)
            self.other_nonce = nonce.data if nonce else b""
        elif msg.exchange != E.IKE_AUTH or self.processed:
            return Status.NEED_MORE
        self.processed = True
        self._process_payloads(msg)
        return Status.NEED_MORE

    def build(self, msg: OutMessage) -> Status:
        sa = self.sa
        if self.multi_ke:
            return self._guard(msg, self._build_followup)
        if msg.exchange == E.IKE_SA_INIT:
            nonce = msg.get(PayloadType.NONCE)
            self.my_nonce = nonce.data if nonce else b""
            return Status.NEED_MORE
        if msg.exchange == E.CREATE_CHILD_SA:
            self.my_nonce, no_ke = common.nonce(sa), False
        elif msg.exchange == E.IKE_AUTH:
            if not sa.has(Cond.AUTHENTICATED):
                return Status.NEED_MORE
            if self._childless():
                return Status.SUCCESS
            no_ke = True
        else:
            return Status.NEED_MORE
        return self._guard(msg, lambda m: self._respond(m, no_ke))

    def _guard(self, msg: OutMessage, step) -> Status:
        """Run a build step; a CHILD_SA error discards the half-made SA, then becomes a notify."""
        try:
            return step(msg)
        except (NoProposalChosen, TsUnacceptable, InvalidKePayload, TemporaryFailure, InvalidSyntax,
                StateNotFound):
            self._discard_child()
            raise

    def _childless(self) -> bool:
        """RFC 6023: no SA/TS payloads means a childless IKE_SA; check the config allows it."""
        cfg = self.sa.ike_cfg
        mode = cfg.childless if cfg else Childless.ALLOW
        if self.proposals is None and self.tsi is None and self.tsr is None:
            if mode == Childless.NEVER:
                self.sa.log("IKE", 1, "peer tried to initiate a childless IKE_SA")
                raise InvalidSyntax("childless IKE_SA not allowed")
            return True
        if mode == Childless.FORCE:
            self.sa.log("IKE", 1, "peer did not initiate a childless IKE_SA")
            raise InvalidSyntax("childless IKE_SA required")
        return False

    def _respond(self, msg: OutMessage, no_ke: bool) -> Status:
        sa = self.sa
        if sa.state in (IkeState.REKEYING, IkeState.DELETING):
            doing = "rekeying" if sa.state == IkeState.REKEYING else "deleting"
            sa.log("IKE", 1, f"unable to create CHILD_SA while {doing} IKE_SA")
            raise TemporaryFailure()
        if self.config is None:
            self.config = self._select_config()
        if self.config is None:
            self._failure(msg.exchange)
            raise TsUnacceptable()
        if msg.notify(N.INTERNAL_ADDRESS_FAILURE) or msg.notify(N.FAILED_CP_REQUIRED):  # from ike_config
            sa.log("IKE", 1, "configuration payload negotiation failed, no CHILD_SA built")
            self._failure(msg.exchange)
            return Status.SUCCESS
        if not self._select(no_ke):
            self._failure(msg.exchange)
            raise NoProposalChosen()
        self._check_ke(no_ke)
        self._determine_rounds()
        self.child = self._new_child(self.config)
        self.other_spi, self.my_spi = self.proposal.spi, sa.ctx.alloc_child_spi()
        self.child.spi_in = self.my_spi
        self.proposal = self.proposal.with_spi(self.my_spi)
        result = self._narrow_and_check()
        if result != "ok":
            self._failure(msg.exchange)
            raise TsUnacceptable() if result == "ts" else NoProposalChosen()
        return self._done_and_install(msg, first=True)

    def _done_and_install(self, msg: OutMessage, first: bool) -> Status:
        """``key_exchange_done_and_install_r``: after the last round install, else link on."""
        all_done = self._key_exchange_done()
        if all_done:
            self.link = None
        elif self.link is None:
            self.link = LINK
        if all_done and not self._install():  # charon installs before it builds the payloads
            self._failure(msg.exchange)
            raise NoProposalChosen()
        if first:
            self._add_payloads(msg)
        else:
            assert self._answered is not None
            msg.add(common.ke_payload(self._answered))
        if self.link is not None:
            msg.add_notify(N.ADDITIONAL_KEY_EXCHANGE, self.link)
        if not all_done:
            self.multi_ke = True
            return Status.NEED_MORE
        return Status.SUCCESS

    def _build_followup(self, msg: OutMessage) -> Status:
        """``build_r_multi_ke``: KEr(n) for IKE_FOLLOWUP_KE request n."""
        if self.ke is None:
            self._failure(msg.exchange)
            raise InvalidSyntax("IKE_FOLLOWUP_KE without KE payload")
        if self.ke_failed:
            self._failure(msg.exchange)
            raise NoProposalChosen()
        if self.link is None:
            self.sa.log("IKE", 1, "ADDITIONAL_KEY_EXCHANGE notify missing")
            self._failure(msg.exchange)
            raise StateNotFound()
        return self._done_and_install(msg, first=False)

    def _select_config(self) -> ChildConfig | None:
        """``select_child_cfg``: the child config whose selectors match best (``peer_cfg.c``)."""
        sa = self.sa
        if sa.peer_cfg is None or self.tsi is None or self.tsr is None:
            if self.tsi is None or self.tsr is None:
                sa.log("IKE", 1, "TS payloads missing in message")
            return None
        best, found = 0, None
        for cfg in current_peer_cfg(sa).children:
            mine = self._ts_match(cfg, True, self.tsr)
            other = self._ts_match(cfg, False, self.tsi) if mine else 0
            if mine and other and mine + other > best:
                best, found = mine + other, cfg
        if found is None:
            sa.log("IKE", 1, f"traffic selectors {ts_list_str(self.tsr)} === {ts_list_str(self.tsi)} "
                             "unacceptable")
            sa.alert("ts-mismatch")
        return found

    def _ts_match(self, cfg: ChildConfig, local: bool, supplied: list[TrafficSelector]) -> int:
        configured = select_ts(list(cfg.local_ts if local else cfg.remote_ts), None,
                               self._hosts(local), is_transport(cfg))[0]
        match, weight = 0, len(supplied)
        for sup in supplied:
            for ts in configured:
                if ts.equals(sup):
                    match += weight * 5
                elif ts.get_subset(sup) is not None:
                    match += weight
            weight -= 1
        return match

    def _check_ke(self, no_ke: bool) -> None:
        """CREATE_CHILD_SA: the KE payload must use the selected proposal's method."""
        if no_ke:
            self.ke, self.secrets = None, []
            return
        selected = self.proposal.get_algorithm(TransformType.KE)
        if selected is not None and selected.id and (self.ke is None or self.ke_method != selected.id):
            if self.ke is None and self.ke_method == selected.id:
                raise NoProposalChosen()  # a method we offer but cannot run
            self.sa.log("IKE", 1, f"key exchange method {ke_name(self.ke_method)} unacceptable, "
                                  f"requesting {ke_name(selected.id)}")
            raise InvalidKePayload(selected.id)
        if selected is None or not selected.id:
            if self.ke is not None:
                self.sa.log("IKE", 1, "ignoring KE payload, agreed on a non-PFS proposal")
            self.ke, self.ke_failed = None, False
        elif self.ke_failed:
            self._failure(E.CREATE_CHILD_SA)
            raise NoProposalChosen()

    def _key_exchange_done(self) -> bool:
        self._answered = self.ke
        return super()._key_exchange_done()

    def _add_payloads(self, msg: OutMessage) -> None:
        msg.add(sa_payload([self.proposal]))
        if msg.exchange == E.CREATE_CHILD_SA:
            msg.add(NoncePayload(self.my_nonce))
        if self._answered is not None:
            msg.add(common.ke_payload(self._answered))
        assert self.child is not None
        msg.add(tsi_payload(self.child.other_ts))
        msg.add(tsr_payload(self.child.my_ts))
        if self.mode == IpsecMode.TRANSPORT:
            msg.add_notify(N.USE_TRANSPORT_MODE)
        if not self.sa.ctx.settings.esp_v3_tfc:
            msg.add_notify(N.ESP_TFC_PADDING_NOT_SUPPORTED)
