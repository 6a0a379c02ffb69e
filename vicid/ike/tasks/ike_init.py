"""IKE_SA_INIT and the IKE_INTERMEDIATE key exchanges (RFC 7296 §1.2, RFC 9242, RFC 9370).

Initiator: ``HDR, [N(COOKIE)], SAi1, KEi, Ni, [N(...)] -->`` then one
``HDR, SK {KEi(n)} -->`` IKE_INTERMEDIATE per additional key exchange. Responder mirrors it.
The key exchanges to run come from the selected proposal as a tuple of :class:`KeRound`
(KE first, then ADDKE1..7 in type order, ``none`` omitted; ``ike_init.c`` determine_key_exchanges).
Keys (n) are derived only when the next message is built or parsed, so IntAuth covers each
IKE_INTERMEDIATE with the keys that protected it (RFC 9242 §3.3.2).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, auto

from vicid.ike.config import Childless, Fragmentation
from vicid.ike.ke import KeyExchange
from vicid.ike.messages import InMessage, OutMessage, notify_name
from vicid.ike.proposal import Proposal
from vicid.ike.sa_state import Ext, IkeState
from vicid.ike.tasks import common
from vicid.ike.tasks.base import Status, Task, TaskKind
from vicid.ike.wire.enums import ADDKE_TYPES, ExchangeType, NotifyType, PayloadType, TransformType, ke_name
from vicid.ike.wire.errors import InvalidKePayload, InvalidSyntax, NoProposalChosen
from vicid.ike.wire.notify import decode_signature_hash_algorithms
from vicid.ike.wire.payloads import NoncePayload
from vicid.ike.wire_map import proposals_from_wire, sa_payload

MAX_RETRIES = 5  # COOKIE and INVALID_KE_PAYLOAD retries (ike_init.c)
HASH_ALGORITHMS = (2, 3, 4, 5)  # SHA2-256/384/512, Identity (RFC 7427 §7); never SHA-1
N = NotifyType


class Phase(Enum):
    SA_INIT = auto()
    INTERMEDIATE = auto()


@dataclass
class KeRound:
    """One key exchange of the IKE_SA (``key_exchanges[]`` in ike_init.c)."""

    transform_type: TransformType
    method: int
    done: bool = False
    derived: bool = False


def key_rounds(proposal: Proposal) -> list[KeRound]:
    rounds = []
    for ttype in (TransformType.KE, *ADDKE_TYPES):
        alg = proposal.get_algorithm(ttype)
        if alg is not None and alg.id:
            rounds.append(KeRound(ttype, alg.id))
    return rounds


class IkeInit(Task):
    """State shared by both roles."""

    kind = TaskKind.IKE_INIT

    def __init__(self, sa, initiator: bool) -> None:
        super().__init__(sa, initiator)
        self.phase = Phase.SA_INIT
        self.ke_method = 0
        self.ke: KeyExchange | None = None
        self.ke_failed = False
        self.rounds: list[KeRound] = []
        self.ke_index = 0
        self.my_nonce = b""
        self.other_nonce = b""
        self.proposal: Proposal | None = None

    # --- key exchange rounds ----------------------------------------------------------------
    def _more_rounds(self) -> bool:
        return any(not r.done for r in self.rounds[self.ke_index:])

    def _process_ke(self, data: bytes, received: int) -> None:
        """``process_ke_payload``: the method must match the negotiated one for this round."""
        method = self.rounds[self.ke_index].method
        if method != received:
            self.sa.log("IKE", 1, f"key exchange method in received payload {ke_name(received)} "
                                  f"doesn't match negotiated {ke_name(method)}")
            self.ke_failed = True
            return
        if not self.initiator:
            self.ke = common.create_ke(self.sa, method)
            if self.ke is None:
                self.sa.log("IKE", 1, f"negotiated key exchange method {ke_name(method)} not supported")
        elif self.ke is not None:
            self.ke_failed = self.ke.method != received
        if self.ke is not None and not self.ke_failed:
            self.ke_failed = not common.apply_peer_value(self.sa, self.ke, data)

    def _key_exchange_done(self) -> bool:
        """Mark the current round done; True if more rounds follow."""
        self.rounds[self.ke_index].done = True
        self.ke_index += 1
        return self._more_rounds()

    def derive_keys(self) -> Status:
        """Keys (n) after round n, called by the task manager before the next message."""
        if not self.ke_index or self.rounds[self.ke_index - 1].derived:
            return Status.NEED_MORE
        assert self.ke is not None and self.proposal is not None
        ni, nr = (self.my_nonce, self.other_nonce) if self.initiator else (self.other_nonce, self.my_nonce)
        sa = self.sa
        sa.keymat.derive(self.proposal, self.ke.shared_secret(), ni, nr, sa.spi_i, sa.spi_r)
        self.rounds[self.ke_index - 1].derived = True
        return Status.NEED_MORE if self._more_rounds() else Status.SUCCESS

    # --- payloads -----------------------------------------------------------------------------
    def _add_extension_notifies(self, msg: OutMessage, additional_ke: bool) -> None:
        """FRAGMENTATION_SUPPORTED, SIGNATURE_HASH_ALGORITHMS, REDIRECT_SUPPORTED,
        CHILDLESS_IKEV2_SUPPORTED and INTERMEDIATE_EXCHANGE_SUPPORTED as charon adds them."""
        sa, settings, cfg = self.sa, self.sa.ctx.settings, self.sa.ike_cfg
        ours = self.initiator
        if cfg is not None and cfg.fragmentation != Fragmentation.NO and (
                ours or sa.supports(Ext.FRAGMENTATION)):
            msg.add_notify(N.IKEV2_FRAGMENTATION_SUPPORTED)
        if settings.signature_authentication and (ours or sa.supports(Ext.SIGNATURE_AUTH)):
            data = b"".join(h.to_bytes(2, "big") for h in HASH_ALGORITHMS)
            msg.add_notify(N.SIGNATURE_HASH_ALGORITHMS, data)
            sa.log("CFG", 2, "sending supported signature hash algorithms: "
                             "sha256 sha384 sha512 identity")
        if ours and settings.follow_redirects:
            msg.add_notify(N.REDIRECT_SUPPORTED)
        if not ours and cfg is not None and cfg.childless != Childless.NEVER:
            msg.add_notify(N.CHILDLESS_IKEV2_SUPPORTED)
        if additional_ke and (ours or sa.supports(Ext.INTERMEDIATE)):
            msg.add_notify(N.INTERMEDIATE_EXCHANGE_SUPPORTED)

    def _process_notify(self, notify_type: int, data: bytes) -> None:
        sa = self.sa
        if notify_type == N.IKEV2_FRAGMENTATION_SUPPORTED:
            sa.extensions.add(Ext.FRAGMENTATION)
        elif notify_type == N.SIGNATURE_HASH_ALGORITHMS and sa.ctx.settings.signature_authentication:
            if set(decode_signature_hash_algorithms(data)) & set(HASH_ALGORITHMS):
                sa.extensions.add(Ext.SIGNATURE_AUTH)
        elif notify_type in (N.REDIRECT_SUPPORTED, N.REDIRECTED_FROM):
            sa.extensions.add(Ext.REDIRECTION)
        elif notify_type == N.CHILDLESS_IKEV2_SUPPORTED and self.initiator:
            sa.extensions.add(Ext.CHILDLESS)
        elif notify_type == N.INTERMEDIATE_EXCHANGE_SUPPORTED:
            sa.extensions.add(Ext.INTERMEDIATE)
        elif notify_type == N.USE_PPK:
            sa.extensions.add(Ext.PPK)

    def _process_payloads(self, msg: InMessage) -> None:
        """SA (proposal selection), KE, Nonce and extension notifies (``process_payloads``)."""
        ke_payload = None
        for p in msg.message.all_payloads():
            if p.payload_type == PayloadType.SA:
                self.proposal = self._select_proposal(msg, proposals_from_wire(p))
            elif p.payload_type == PayloadType.KE:
                ke_payload = p
                self.ke_method = p.method
            elif p.payload_type == PayloadType.NONCE:
                self.other_nonce = p.data
            elif p.payload_type == PayloadType.NOTIFY:
                self._process_notify(p.notify_type, p.data)
        if self.proposal is None:
            return
        self.sa.proposal = self.proposal
        self.rounds, self.ke_index = key_rounds(self.proposal), 0
        if ke_payload is not None and self.rounds:
            self._process_ke(ke_payload.data, ke_payload.method)

    def _select_proposal(self, msg: InMessage, supplied: list[Proposal]) -> Proposal | None:
        raise NotImplementedError

    def _intermediate_ke(self, msg: InMessage) -> None:
        ke = msg.get(PayloadType.KE)
        if ke is None:
            self.sa.log("IKE", 1, "KE payload missing in message")
            return
        self._process_ke(ke.data, ke.method)


class IkeInitInitiator(IkeInit):
    """``ike_init`` as initiator: build_i / pre_process_i / process_i and the multi-KE phase."""

    def __init__(self, sa) -> None:
        super().__init__(sa, True)
        self.cookie = b""
        self.retry = 0

    def build(self, msg: OutMessage) -> Status:
        if self.phase == Phase.INTERMEDIATE:
            return self._build_intermediate(msg)
        sa = self.sa
        sa.log("IKE", 0, f"initiating IKE_SA {sa.name}[{sa.uniqueid}] to {sa.other_host[0]}")
        sa.set_state(IkeState.CONNECTING)
        if self.retry >= MAX_RETRIES:
            sa.log("IKE", 1, f"giving up after {MAX_RETRIES} retries")
            return Status.FAILED
        if not self._ensure_ke():
            return Status.FAILED
        if not self.my_nonce:
            self.my_nonce = common.nonce(sa)
        if self.cookie:
            msg.add_notify(N.COOKIE, self.cookie)
        proposals = self._proposals()
        msg.add(sa_payload(proposals))
        assert self.ke is not None
        msg.add(common.ke_payload(self.ke))
        msg.add(NoncePayload(self.my_nonce))
        self._add_extension_notifies(msg, any(p.has_additional_ke() for p in proposals))
        return Status.NEED_MORE

    def _ensure_ke(self) -> bool:
        cfg = self.sa.ike_cfg
        if self.ke is None:
            self.ke_method = next((a.id for p in (cfg.proposals if cfg else ())
                                   if (a := p.get_algorithm(TransformType.KE))), 0)
            what = "configured"
        elif self.ke.method != self.ke_method:
            what = "requested"
        else:
            return True
        self.ke = common.create_ke(self.sa, self.ke_method)
        if self.ke is None:
            self.sa.log("IKE", 1, f"{what} key exchange method {ke_name(self.ke_method)} not supported")
        return self.ke is not None

    def _proposals(self) -> list[Proposal]:
        """Configured proposals, the chosen KE method promoted, others moved to the back."""
        front, back = [], []
        for p in (self.sa.ike_cfg.proposals if self.sa.ike_cfg else ()):
            promoted = p.promote_transform(TransformType.KE, self.ke_method)
            (front if promoted else back).append(promoted or p)
        return front + back

    def _build_intermediate(self, msg: OutMessage) -> Status:
        msg.exchange = ExchangeType.IKE_INTERMEDIATE
        method = self.rounds[self.ke_index].method
        self.ke = common.create_ke(self.sa, method)
        if self.ke is None:
            self.sa.log("IKE", 1, f"negotiated key exchange method {ke_name(method)} not supported")
            return Status.FAILED
        msg.add(common.ke_payload(self.ke))
        return Status.NEED_MORE

    def pre_process(self, msg: InMessage) -> Status:
        cookie = msg.notify(N.COOKIE)
        if msg.exchange == ExchangeType.IKE_SA_INIT and cookie is not None and cookie.data == self.cookie:
            self.sa.log("IKE", 1, "ignore response with duplicate COOKIE notify")
            return Status.FAILED
        return Status.SUCCESS

    def process(self, msg: InMessage) -> Status:
        if self.phase == Phase.INTERMEDIATE:
            if msg.exchange != ExchangeType.IKE_INTERMEDIATE:
                return Status.NEED_MORE
            self._intermediate_ke(msg)
            if self.ke_failed:
                return Status.FAILED
            self._key_exchange_done()
            return Status.NEED_MORE
        status = self._error_notifies(msg)
        if status is not None:
            return status
        self._process_payloads(msg)
        return self._check_response()

    def _error_notifies(self, msg: InMessage) -> Status | None:
        """INVALID_KE_PAYLOAD and COOKIE restart IKE_SA_INIT; other errors fail the SA."""
        sa = self.sa
        for n in msg.notifies():
            if n.notify_type == N.INVALID_KE_PAYLOAD and len(n.data) == 2:
                bad, self.ke_method = self.ke_method, int.from_bytes(n.data, "big")
                sa.log("IKE", 1, f"peer didn't accept key exchange method {ke_name(bad)}, "
                                 f"it requested {ke_name(self.ke_method)}")
                return self._restart()
            if n.notify_type == N.COOKIE:
                self.cookie = n.data
                sa.log("IKE", 2, "received COOKIE notify")
                return self._restart()
            if n.is_error and n.notify_type not in (N.INVALID_KE_PAYLOAD,):
                sa.log("IKE", 1, f"received {notify_name(n.notify_type)} notify error")
                if n.notify_type == N.NO_PROPOSAL_CHOSEN:
                    sa.alert("proposal-mismatch-ike")
                return Status.FAILED
        return None

    def _restart(self) -> Status:
        """``ike_sa->reset(FALSE)``: same SPIi and nonce, SPIr 0, message ID 0, new keys."""
        self.retry += 1
        self.sa.reset()
        return Status.NEED_MORE

    def _select_proposal(self, msg: InMessage, supplied: list[Proposal]) -> Proposal | None:
        cfg = self.sa.ike_cfg
        return common.select(self.sa, cfg.proposals if cfg else (), supplied)

    def _check_response(self) -> Status:
        sa = self.sa
        if self.proposal is None or not self.other_nonce:
            sa.log("IKE", 1, "peer's proposal selection invalid")
            return Status.FAILED
        if not self.proposal.has_transform(TransformType.KE, self.ke_method):
            sa.log("IKE", 1, "peer's key exchange method selection invalid")
            return Status.FAILED
        if self.ke_failed:
            sa.log("IKE", 1, "applying key exchange public value failed")
            return Status.FAILED
        if self._key_exchange_done():
            if not sa.supports(Ext.INTERMEDIATE):
                sa.log("IKE", 1, "peer didn't send INTERMEDIATE_EXCHANGE_SUPPORTED while accepting "
                                 "multiple key exchanges")
                return Status.FAILED
            self.phase = Phase.INTERMEDIATE
        return Status.NEED_MORE

    def migrate(self) -> None:
        self.proposal, self.other_nonce = None, b""
        self.rounds, self.ke_index = [], 0
        self.ke_failed = False
        self.phase = Phase.SA_INIT


class IkeInitResponder(IkeInit):
    """``ike_init`` as responder: process_r / build_r and the multi-KE phase."""

    def __init__(self, sa) -> None:
        super().__init__(sa, False)

    def process(self, msg: InMessage) -> Status:
        if self.phase == Phase.INTERMEDIATE:
            if msg.exchange == ExchangeType.IKE_INTERMEDIATE:
                self.ke = None
                self._intermediate_ke(msg)
            return Status.NEED_MORE
        sa = self.sa
        sa.log("IKE", 0, f"{msg.src[0]} is initiating IKE_SA {sa.name}[{sa.uniqueid}]")
        sa.set_state(IkeState.CONNECTING)
        self.my_nonce = common.nonce(sa)
        self._process_payloads(msg)
        return Status.NEED_MORE

    def _select_proposal(self, msg: InMessage, supplied: list[Proposal]) -> Proposal | None:
        """Try the IKE config of this SA, then other configs for these addresses (``ike_init.c``)."""
        from vicid.ike.config_match import ike_configs

        sa = self.sa
        tried = sa.ike_cfg
        selected = common.select(sa, tried.proposals if tried else (), supplied)
        if selected is not None:
            return selected
        for cfg in ike_configs(sa.ctx.peers(), msg.dst, msg.src):
            if tried is not None and cfg == tried:
                continue
            sa.log("IKE", 1, "no matching proposal found, trying alternative config")
            selected = common.select(sa, cfg.proposals, supplied)
            if selected is not None:
                sa.ike_cfg = cfg
                return selected
        sa.alert("proposal-mismatch-ike")
        return None

    def build(self, msg: OutMessage) -> Status:
        if self.phase == Phase.INTERMEDIATE:
            if msg.exchange != ExchangeType.IKE_INTERMEDIATE:
                self.sa.log("IKE", 1, "additional key exchanges missing before IKE_AUTH")
                raise InvalidSyntax("IKE_AUTH before the last IKE_INTERMEDIATE")
            return self._build_intermediate(msg)
        self._check_request()
        msg.add(sa_payload([self.proposal]))
        assert self.ke is not None
        msg.add(common.ke_payload(self.ke))
        msg.add(NoncePayload(self.my_nonce))
        self._add_extension_notifies(msg, self.proposal.has_additional_ke())
        if self._key_exchange_done():
            if not self.sa.supports(Ext.INTERMEDIATE):
                self.sa.log("IKE", 1, "peer didn't send INTERMEDIATE_EXCHANGE_SUPPORTED while "
                                      "proposing multiple key exchanges")
                raise NoProposalChosen()
            self.phase = Phase.INTERMEDIATE
        return Status.NEED_MORE

    def _check_request(self) -> None:
        """Raise the error charon answers a request it cannot accept with."""
        sa, proposal = self.sa, self.proposal
        if proposal is None or not self.other_nonce:
            sa.log("IKE", 1, "received proposals unacceptable")
            raise NoProposalChosen()
        if self.ke is None or not proposal.has_transform(TransformType.KE, self.ke_method):
            group = proposal.get_algorithm(TransformType.KE)
            if group is not None and self.ke_method != group.id:
                sa.log("IKE", 1, f"key exchange method {ke_name(self.ke_method)} unacceptable, "
                                 f"requesting {ke_name(group.id)}")
                raise InvalidKePayload(group.id)
            sa.log("IKE", 1, "no acceptable proposal found")
            raise NoProposalChosen()
        if self.ke_failed:
            sa.log("IKE", 1, "applying KE public value failed")
            raise NoProposalChosen()

    def _build_intermediate(self, msg: OutMessage) -> Status:
        if self.ke is None:
            raise InvalidSyntax("IKE_INTERMEDIATE without KE payload")
        if self.ke_failed:
            raise NoProposalChosen()
        msg.add(common.ke_payload(self.ke))
        self._key_exchange_done()
        return Status.NEED_MORE
