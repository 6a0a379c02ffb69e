"""IKE_AUTH (RFC 7296 §1.2, §2.15, §2.16; RFC 4739 multiple auth; RFC 9242 §3.3 IntAuth).

    HDR, SK {IDi, [CERT,] [CERTREQ,] [IDr,] AUTH, SAi2, TSi, TSr, N(...)} -->
                                  <-- HDR, SK {IDr, [CERT,] AUTH, SAr2, TSi, TSr, N(...)}

One or more authentication rounds per side (``local-1``, ``local-2``, ... / ``remote-N``), each
run by an authenticator (pre-shared key, public key, EAP) over one or more IKE_AUTH exchanges,
as charon's ``ike_auth.c``: the initiator proves its rounds in turn (``ANOTHER_AUTH_FOLLOWS``
while more remain), the responder verifies them and switches peer configs until the done
rounds comply with one. The task also collects what AUTH octets need from the earlier
exchanges: nonces, IKE_SA_INIT messages and the IntAuth chains of IKE_INTERMEDIATE.
"""

from __future__ import annotations

from vicid.identity import Identification, IdKind
from vicid.ike.auth_info import AuthInfo
from vicid.ike.authenticators import (
    AuthContext,
    Authenticator,
    AuthRounds,
    Result,
    complies,
    create_builder,
    create_verifier,
)
from vicid.ike.config import AuthClass, AuthConfig, AuthRule, PeerConfig, UniquePolicy
from vicid.ike.crypto.auth import IntAuth, signed_octets
from vicid.ike.messages import InMessage, OutMessage, notify_name
from vicid.ike.sa_state import Cond, Ext
from vicid.ike.tasks.base import Status, Task, TaskKind
from vicid.ike.wire.enums import ExchangeType, NotifyType, PayloadType
from vicid.ike.wire.errors import AuthenticationFailed
from vicid.ike.wire.notify import decode_signature_hash_algorithms
from vicid.ike.wire.payloads import IdiPayload, IdPayload, IdrPayload

E, N = ExchangeType, NotifyType
CHILD_ERRORS = {N.NO_PROPOSAL_CHOSEN, N.SINGLE_PAIR_REQUIRED, N.NO_ADDITIONAL_SAS,
                N.INTERNAL_ADDRESS_FAILURE, N.FAILED_CP_REQUIRED, N.TS_UNACCEPTABLE,
                N.INVALID_SELECTORS}
_PASS_NOTIFIES = {N.MOBIKE_SUPPORTED, N.ADDITIONAL_IP4_ADDRESS, N.ADDITIONAL_IP6_ADDRESS,
                  N.AUTH_LIFETIME, N.PPK_IDENTITY}
IKEV2_HASHES = {1, 2, 3, 4, 5}  # hasher_algorithm_for_ikev2


def id_payload(cls: type[IdPayload], ident: Identification) -> IdPayload:
    id_type, data = ident.to_wire()
    return cls(int(id_type), data)


def default_id(sa, what: str, cfg: AuthConfig) -> Identification:
    """``determine_default_id``: the configured certificate's subject, else our IP address."""
    cert = cfg.get(AuthRule.SUBJECT_CERT)
    subject = getattr(cert, "subject", None)
    if isinstance(subject, Identification) and subject.type not in (IdKind.ID_ANY, IdKind.ID_KEY_ID):
        sa.log("CFG", 1, f"no {what} configured, default to cert subject '{subject}'")
        return subject
    addr = sa.my_host[0]
    kind = IdKind.ID_IPV4_ADDR if addr.version == 4 else IdKind.ID_IPV6_ADDR
    ident = Identification(kind, addr.packed)
    sa.log("CFG", 1, f"no {what} configured, default to IP address {ident}")
    return ident


def _round(cfg: PeerConfig | None, local: bool, index: int) -> AuthConfig | None:
    rounds = (cfg.local_auth if local else cfg.remote_auth) if cfg else ()
    if index < len(rounds):
        return rounds[index]
    return None


def is_eap_cfg(cfg: AuthConfig | None) -> bool:
    return cfg is not None and bool(cfg.get(AuthRule.EAP_TYPE) or cfg.get(AuthRule.EAP_VENDOR))


class IkeAuth(Task):
    """Common state: AUTH octet inputs, the authenticators in progress, round bookkeeping."""

    kind = TaskKind.IKE_AUTH

    def __init__(self, sa, initiator: bool) -> None:
        super().__init__(sa, initiator)
        self.migrate()

    def migrate(self) -> None:
        self.my_nonce = self.other_nonce = b""
        self.my_packet = self.other_packet = b""
        self.int_auth = IntAuth()
        self.ike_auth_mid = 0
        self.first_auth = False
        self.my_idp: IdPayload | None = None
        self.other_idp: IdPayload | None = None
        self.my_auth: Authenticator | None = None
        self.other_auth: Authenticator | None = None
        self.do_another_auth = True
        self.expect_another_auth = True
        self.authentication_failed = False
        self.eap_acceptable = False
        self.sa.auth = AuthRounds()
        self.ctx = AuthContext(self.sa, self._octets, self._octets)

    @property
    def rounds(self) -> AuthRounds:
        return self.sa.auth

    # --- IKE_SA_INIT / IKE_INTERMEDIATE data --------------------------------------------------
    def post_build(self, msg: OutMessage) -> Status:
        if msg.exchange == E.IKE_SA_INIT:
            nonce = msg.get(PayloadType.NONCE)
            if nonce is None:
                return Status.FAILED
            self.my_nonce, self.my_packet = nonce.data, msg.raw
        elif msg.exchange == E.IKE_INTERMEDIATE:
            self._fold_int_auth(msg.as_protected())
        return Status.NEED_MORE

    def _collect_other(self, msg: InMessage) -> Status:
        if msg.exchange == E.IKE_SA_INIT:
            nonce = msg.get(PayloadType.NONCE)
            if nonce is None:
                return Status.FAILED
            self.other_nonce, self.other_packet = nonce.data, msg.raw
            self._peer_hashes(msg)
        elif msg.exchange == E.IKE_INTERMEDIATE:
            self._fold_int_auth(msg.message)
        return Status.NEED_MORE

    def _peer_hashes(self, msg: InMessage) -> None:
        """``handle_supported_hash_algorithms``: what the peer can verify (RFC 7427 §4)."""
        notify = msg.notify(N.SIGNATURE_HASH_ALGORITHMS)
        if notify is None or not self.sa.ctx.settings.signature_authentication:
            return
        self.rounds.peer_hashes = set(decode_signature_hash_algorithms(notify.data)) & IKEV2_HASHES

    def _fold_int_auth(self, message) -> None:
        keys = self.sa.keymat.keys
        sk_p = keys.sk_pi if message.is_request else keys.sk_pr
        self.int_auth = self.int_auth.add(self.sa.keymat.prf, sk_p, message)

    def _octets(self, mine: bool) -> bytes:
        km = self.sa.keymat
        int_auth = self.int_auth.octets(self.ike_auth_mid)
        if mine:
            assert self.my_idp is not None
            return signed_octets(km.prf, self.my_packet, self.other_nonce, km.sk_p_mine, self.my_idp, int_auth)
        assert self.other_idp is not None
        return signed_octets(km.prf, self.other_packet, self.my_nonce, km.sk_p_other, self.other_idp, int_auth)

    # --- rounds -------------------------------------------------------------------------------
    def _next_round(self, local: bool) -> AuthConfig | None:
        """``get_auth_cfg``: the first configured round not done yet."""
        done = self.rounds.local_done if local else self.rounds.remote_done
        return _round(self.sa.peer_cfg, local, len(done))

    def _another_local_round(self) -> bool:
        """``do_another_auth``: configured local rounds beyond those done (or in progress)."""
        if not self.sa.supports(Ext.MULTIPLE_AUTH) or self.sa.peer_cfg is None:
            return False
        busy = len(self.rounds.local_done) + (1 if self.my_auth is not None else 0)
        return busy < len(self.sa.peer_cfg.local_auth)

    def _apply(self, local: bool) -> None:
        self.rounds.apply(local)

    def _compliance_error(self, cfg: PeerConfig, strict: bool) -> str | None:
        """One pass of ``update_cfg_candidates``: the done rounds against the configured."""
        done, configured = self.rounds.remote_done, list(cfg.remote_auth)
        if strict:
            for i, constraint in enumerate(configured):
                if i >= len(done):
                    return "insufficient authentication rounds"
                problem = complies(done[i], constraint)
                if problem:
                    self.sa.log("CFG", 1, problem)
                    return "constraint checking failed"
            return None
        for i, info in enumerate(done):
            if i >= len(configured):
                return "insufficient authentication rounds"
            problem = complies(info, configured[i])
            if problem:
                self.sa.log("CFG", 1, problem)
                return "non-matching authentication done"
        return None

    def _update_candidates(self, strict: bool) -> bool:
        sa = self.sa
        while sa.peer_cfg is not None:
            problem = self._compliance_error(sa.peer_cfg, strict)
            if problem is None:
                return True
            sa.log("CFG", 1, f"selected peer config '{sa.peer_cfg.name}' unacceptable: {problem}")
            if not self._switch_candidate():
                return False
        return False

    def _switch_candidate(self) -> bool:
        self.sa.log("CFG", 1, "no alternative config found")
        self.sa.peer_cfg = None
        return False


class IkeAuthInitiator(IkeAuth):
    def __init__(self, sa) -> None:
        super().__init__(sa, True)

    def build(self, msg: OutMessage) -> Status:
        if msg.exchange != E.IKE_AUTH:
            return Status.NEED_MORE
        first = not self.first_auth
        sa = self.sa
        if first:
            self.first_auth = True
            if sa.supports(Ext.MULTIPLE_AUTH):
                msg.add_notify(N.MULTIPLE_AUTH_SUPPORTED)
            msg.add_notify(N.EAP_ONLY_AUTHENTICATION)
            msg.add_notify(N.IKEV2_MESSAGE_ID_SYNC_SUPPORTED)
            self.ike_auth_mid = msg.message_id
        if not self.do_another_auth and self.my_auth is None:
            return Status.NEED_MORE
        if self.my_auth is None and not self._new_round(msg, first):
            sa.alert("local-auth-failed")
            return Status.FAILED
        assert self.my_auth is not None
        result = self.my_auth.build(msg)
        if result is Result.SUCCESS:
            self._apply(True)
            self.my_auth = None
        elif result is not Result.NEED_MORE:
            sa.alert("local-auth-failed")
            return Status.FAILED
        if self._another_local_round():
            if msg.get(PayloadType.AUTH) is not None:
                msg.add_notify(N.ANOTHER_AUTH_FOLLOWS)
        else:
            self.do_another_auth = False
        return Status.NEED_MORE

    def _new_round(self, msg: OutMessage, first: bool) -> bool:
        """IDr (if configured and no wildcard), IDi, INITIAL_CONTACT and the authenticator."""
        sa = self.sa
        remote = self._next_round(False)
        idr = remote.get(AuthRule.IDENTITY) if remote is not None else None
        if idr is not None and not idr.contains_wildcards():
            sa.other_id = idr
            msg.add(id_payload(IdrPayload, idr))
        local_cfg = self._next_round(True) or AuthConfig()
        info = self.rounds.purge(True, local_cfg)
        idi = local_cfg.get(AuthRule.IDENTITY)
        if idi is None or idi.type == IdKind.ID_ANY:
            idi = default_id(sa, "IDi", local_cfg)
        info.identity = sa.my_id = idi
        self.my_idp = id_payload(IdiPayload, idi)
        msg.add(self.my_idp)
        if first:
            self._initial_contact(msg, idr)
        self.my_auth = create_builder(self.ctx, info)
        return self.my_auth is not None

    def _initial_contact(self, msg: OutMessage, idr: Identification | None) -> None:
        sa = self.sa
        if idr is None or idr.contains_wildcards() or sa.peer_cfg is None:
            return
        if sa.peer_cfg.unique != UniquePolicy.UNIQUE_NEVER and not sa.ctx.has_contact(
                sa.my_id, idr, sa.other_host[0].version):
            msg.add_notify(N.INITIAL_CONTACT)

    def process(self, msg: InMessage) -> Status:
        if msg.exchange != E.IKE_AUTH:
            if msg.exchange == E.IKE_SA_INIT and msg.notify(N.MULTIPLE_AUTH_SUPPORTED) and \
                    self.sa.ctx.settings.multiple_authentication:
                self.sa.extensions.add(Ext.MULTIPLE_AUTH)
            return self._collect_other(msg)
        status = self._response_notifies(msg)
        if status is not None:
            return status
        mutual_eap = False
        if self.expect_another_auth:
            if self.other_auth is None:
                started = self._start_remote_round(msg)
                if started is None:
                    return self._auth_failed(msg, "peer-auth-failed")
                mutual_eap = not started
            if self.other_auth is not None:
                result = self.other_auth.process(msg)
                if result is Result.NEED_MORE:
                    return Status.NEED_MORE
                if result is not Result.SUCCESS:
                    return self._auth_failed(msg, "peer-auth-failed")
                self.other_auth = None
            if not mutual_eap:
                self._apply(False)
        if self._require_strict(mutual_eap) and not self._update_candidates(True):
            return self._auth_failed(msg, "peer-auth-failed")
        status = self._process_my_auth(msg)
        if status is not None:
            return status
        if mutual_eap:
            if self.my_auth is None or not self.my_auth.is_mutual():
                self.sa.log("IKE", 1, "do not allow non-mutual EAP-only authentication")
                return self._auth_failed(msg, "peer-auth-failed")
            self.sa.log("IKE", 1, "allow mutual EAP-only authentication")
        if msg.notify(N.ANOTHER_AUTH_FOLLOWS) is None:
            self.expect_another_auth = False
        if self.expect_another_auth or self.do_another_auth or self.my_auth is not None:
            return Status.NEED_MORE
        if not self._update_candidates(True):
            return self._auth_failed(msg, "peer-auth-failed")
        self.sa.set_condition(Cond.AUTHENTICATED, True)
        return Status.SUCCESS

    def _start_remote_round(self, msg: InMessage) -> bool | None:
        """IDr and the verifier; False if the responder omitted AUTH (EAP-only), None on error."""
        sa = self.sa
        idr = msg.get(PayloadType.IDr)
        if idr is None:
            sa.log("IKE", 1, "IDr payload missing")
            return None
        sa.other_id = Identification.from_wire(idr.id_type, idr.data)
        self.other_idp = idr
        info = self.rounds.remote
        info.config = self._next_round(False) or AuthConfig()
        info.identity = sa.other_id
        if msg.get(PayloadType.AUTH) is None:
            return False
        self.other_auth = create_verifier(self.ctx, info, msg)
        return True if self.other_auth is not None else None

    def _process_my_auth(self, msg: InMessage) -> Status | None:
        if self.my_auth is None:
            return None
        result = self.my_auth.process(msg)
        if result is Result.SUCCESS:
            self._apply(True)
            if self.my_auth.is_mutual():
                self._apply(False)
            self.my_auth = None
            self.do_another_auth = self._another_local_round()
        elif result is not Result.NEED_MORE:
            return self._auth_failed(msg, "local-auth-failed")
        return None

    def _require_strict(self, mutual_eap: bool) -> bool:
        """``require_strict``: PSK / EAP rounds make the constraints binding right away."""
        if self.eap_acceptable:
            return False
        auth_class = self.rounds.local.config.get(AuthRule.AUTH_CLASS)
        if auth_class == AuthClass.EAP:
            if mutual_eap and self.my_auth is not None:
                self.eap_acceptable = True
                return not self.my_auth.is_mutual()
            return True
        return auth_class == AuthClass.PSK

    def _response_notifies(self, msg: InMessage) -> Status | None:
        for n in msg.notifies():
            if n.notify_type == N.IKEV2_MESSAGE_ID_SYNC_SUPPORTED:
                self.sa.extensions.add(Ext.MESSAGE_ID_SYNC)
            elif n.is_error and n.notify_type not in CHILD_ERRORS:
                self.sa.log("IKE", 1, f"received {notify_name(n.notify_type)} notify error")
                self.sa.alert("local-auth-failed")
                return Status.FAILED
        return None

    def _auth_failed(self, msg: InMessage, alert: str) -> Status:
        """Alert and tell the responder with a protected INFORMATIONAL (``ike_auth.c``)."""
        sa = self.sa
        sa.alert(alert)
        out = OutMessage(E.INFORMATIONAL, (msg.message_id + 1) & 0xFFFFFFFF, True, sa.my_host,
                         sa.other_host)
        out.add_notify(N.AUTHENTICATION_FAILED)
        sa.send(sa.tm.generate(out), sa.my_host, sa.other_host)
        return Status.FAILED


class IkeAuthResponder(IkeAuth):
    def __init__(self, sa) -> None:
        super().__init__(sa, False)
        self.initial_contact = False
        self.loaded = False
        self.candidates: list[PeerConfig] = []

    def _switch_candidate(self) -> bool:
        sa = self.sa
        if not self.candidates:
            sa.log("CFG", 1, "no alternative config found")
            sa.peer_cfg = None
            return False
        sa.peer_cfg = self.candidates.pop(0)
        sa.log("CFG", 1, f"switching to peer config '{sa.peer_cfg.name}'")
        return True

    def process(self, msg: InMessage) -> Status:
        if msg.exchange != E.IKE_AUTH:
            return self._collect_other(msg)
        sa = self.sa
        if self.my_auth is None and self.do_another_auth:
            idr = msg.get(PayloadType.IDr)
            sa.my_id = Identification.from_wire(idr.id_type, idr.data) if idr else Identification.any()
        if not self.expect_another_auth:
            return Status.NEED_MORE
        if not self.first_auth:
            self._request_notifies(msg)
            self.ike_auth_mid = msg.message_id
            self.first_auth = True
        if self.other_auth is None:
            status = self._start_remote_round(msg)
            if status is not None:
                return status
        return self._verify(msg)

    def _start_remote_round(self, msg: InMessage) -> Status | None:
        sa = self.sa
        idi = msg.get(PayloadType.IDi)
        if idi is None:
            sa.log("IKE", 1, "IDi payload missing")
            return Status.FAILED
        sa.other_id = Identification.from_wire(idi.id_type, idi.data)
        self.other_idp = idi
        info = self.rounds.remote
        info.identity = sa.other_id
        if not self.loaded:
            if not self._load_candidates():
                self.authentication_failed = True
                return Status.NEED_MORE
        info.config = self._next_round(False) or AuthConfig()
        if msg.get(PayloadType.AUTH) is None and not self._eap_config(info):
            self.authentication_failed = True
            return Status.NEED_MORE
        self.other_auth = create_verifier(self.ctx, info, msg)
        if self.other_auth is None:
            self.authentication_failed = True
            return Status.NEED_MORE
        return None

    def _eap_config(self, info: AuthInfo) -> bool:
        """Before EAP we need an EAP round (``find_eap_cfg``): switch configs if necessary."""
        sa = self.sa
        cand = info.config
        while not is_eap_cfg(cand):
            sa.log("IKE", 1, "peer requested EAP, config unacceptable")
            if not self._switch_candidate():
                return False
            cand = self._next_round(False)
        info.config = cand
        info.eap_identity = None
        return True

    def _verify(self, msg: InMessage) -> Status:
        assert self.other_auth is not None
        result = self.other_auth.process(msg)
        if result is Result.INVALID_ARG and self._alternative_eap_cfg():
            result = self.other_auth.process(msg)
        if result is Result.SUCCESS:
            self.other_auth = None
        elif result is Result.NEED_MORE:
            if msg.get(PayloadType.AUTH) is None:
                return Status.NEED_MORE
        else:
            self.authentication_failed = True
            return Status.NEED_MORE
        self._apply(False)
        if not self._update_candidates(False):
            self.authentication_failed = True
            return Status.NEED_MORE
        if msg.notify(N.ANOTHER_AUTH_FOLLOWS) is None:
            self.expect_another_auth = False
            if not self._update_candidates(True):
                self.authentication_failed = True
        return Status.NEED_MORE

    def _alternative_eap_cfg(self) -> bool:
        """``find_alternative_eap_cfg``: another config whose EAP identity fits."""
        sa, info = self.sa, self.rounds.remote
        eap_id = info.eap_identity
        while True:
            cand = self._next_round(False)
            wanted = cand.get(AuthRule.EAP_IDENTITY) if cand is not None else None
            if wanted is None:
                sa.log("CFG", 1, f"constraint check failed: no EAP identity required, but '{eap_id}' "
                                 "received")
            elif eap_id is not None and eap_id.matches(wanted):
                info.config = cand
                return True
            else:
                sa.log("CFG", 1, f"constraint check failed: EAP identity '{wanted}' required, "
                                 f"not matched by '{eap_id}'")
            if not self._switch_candidate():
                return False

    def _request_notifies(self, msg: InMessage) -> None:
        sa = self.sa
        if msg.notify(N.MULTIPLE_AUTH_SUPPORTED):
            sa.extensions.add(Ext.MULTIPLE_AUTH)
        if msg.notify(N.EAP_ONLY_AUTHENTICATION):
            sa.extensions.add(Ext.EAP_ONLY_AUTHENTICATION)
        self.initial_contact = msg.notify(N.INITIAL_CONTACT) is not None

    def _load_candidates(self) -> bool:
        from vicid.ike.config_match import peer_candidates

        sa = self.sa
        self.loaded = True
        sa.log("CFG", 1, f"looking for peer configs matching {sa.my_host[0]}[{sa.my_id}]..."
                         f"{sa.other_host[0]}[{sa.other_id}]")
        private = sa.supports(Ext.STRONGSWAN) or sa.ctx.settings.accept_private_algs
        self.candidates = peer_candidates(sa.ctx.peers(), sa.my_host, sa.other_host, sa.my_id,
                                          sa.other_id, sa.proposal, private)
        if not self.candidates:
            sa.log("CFG", 1, "no matching peer config found")
            return False
        sa.peer_cfg = self.candidates.pop(0)
        sa.log("CFG", 1, f"selected peer config '{sa.peer_cfg.name}'")
        return True

    def build(self, msg: OutMessage) -> Status:
        sa = self.sa
        if msg.exchange == E.IKE_SA_INIT:
            if sa.ctx.settings.multiple_authentication:
                msg.add_notify(N.MULTIPLE_AUTH_SUPPORTED)
            return Status.NEED_MORE
        if msg.exchange != E.IKE_AUTH:
            return Status.NEED_MORE
        if self.authentication_failed or sa.peer_cfg is None:
            return self._peer_failed()
        if self.my_auth is None and self.do_another_auth:
            status = self._new_local_round(msg)
            if status is not None:
                return status
        if self.other_auth is not None:
            result = self.other_auth.build(msg)
            if result is Result.SUCCESS:
                self.other_auth = None
            elif result is not Result.NEED_MORE:
                if msg.get(PayloadType.EAP) is not None:  # EAP-Failure says it: no notify
                    sa.alert("peer-auth-failed")
                    return Status.FAILED
                return self._peer_failed()
        if self.my_auth is not None:
            result = self.my_auth.build(msg)
            if result is Result.SUCCESS:
                self._apply(True)
                self.my_auth = None
            elif result is not Result.NEED_MORE:
                sa.alert("local-auth-failed")
                raise AuthenticationFailed()
        if self._another_local_round():
            msg.add_notify(N.ANOTHER_AUTH_FOLLOWS)
        else:
            self.do_another_auth = False
        if self.do_another_auth or self.expect_another_auth:
            return Status.NEED_MORE
        if sa.ctx.check_uniqueness(sa, self.initial_contact):
            sa.log("IKE", 1, "canceling IKE_SA setup due to uniqueness policy")
            sa.alert("unique-keep")
            raise AuthenticationFailed()
        sa.set_condition(Cond.AUTHENTICATED, True)
        return Status.SUCCESS

    def _peer_failed(self) -> Status:
        self.sa.alert("peer-auth-failed")
        raise AuthenticationFailed()

    def _new_local_round(self, msg: OutMessage) -> Status | None:
        sa = self.sa
        cfg = self._next_round(True) or AuthConfig()
        info = self.rounds.purge(True, cfg)
        msg.add(self._idr(cfg))
        info.identity = sa.my_id
        if cfg.get(AuthRule.AUTH_CLASS) == AuthClass.EAP:
            if not sa.supports(Ext.EAP_ONLY_AUTHENTICATION):
                sa.log("IKE", 1, "configured EAP-only authentication, but peer does not support it")
                return self._peer_failed()
            return None
        self.my_auth = create_builder(self.ctx, info)
        if self.my_auth is None:
            sa.alert("local-auth-failed")
            raise AuthenticationFailed()
        return None

    def _idr(self, local: AuthConfig) -> IdPayload:
        sa = self.sa
        id_cfg = local.get(AuthRule.IDENTITY)
        if sa.my_id.type == IdKind.ID_ANY:
            if id_cfg is None or id_cfg.contains_wildcards():
                id_cfg = default_id(sa, "IDr", local)
            sa.my_id = id_cfg
        elif id_cfg is not None and not sa.my_id.matches(id_cfg):
            sa.log("CFG", 1, f"received IDr {sa.my_id}, but require {id_cfg}")
            return self._peer_failed()  # type: ignore[return-value]
        self.my_idp = id_payload(IdrPayload, sa.my_id)
        return self.my_idp
