"""IKE_AUTH with pre-shared keys (RFC 7296 §1.2, §2.15; RFC 9242 §3.3 IntAuth).

    HDR, SK {IDi, [N(INITIAL_CONTACT)], [IDr], AUTH, SAi2, TSi, TSr, N(...)} -->
                                  <-- HDR, SK {IDr, AUTH, SAr2, TSi, TSr, N(...)}

The task also collects what the AUTH octets need from the earlier exchanges: both nonces and
IKE_SA_INIT messages, and the IntAuth chains over every IKE_INTERMEDIATE message. One
authentication round per side; other auth classes (pubkey, EAP) fail with AUTHENTICATION_FAILED.
"""

from __future__ import annotations

import hmac

from vicid.config.peer import AUTH_CLASS_NAMES, AuthClass, AuthConfig, AuthRule, PeerConfig, UniquePolicy
from vicid.creds.psk import best_shared_key, candidates
from vicid.errors import AuthenticationFailed
from vicid.ike.crypto.auth import IntAuth, psk_auth, signed_octets
from vicid.ike.identity import Identification, IdKind
from vicid.ike.messages import InMessage, OutMessage, notify_name
from vicid.ike.sa import Cond, Ext
from vicid.ike.tasks.base import Status, Task, TaskKind
from vicid.ike.wire.enums import AuthMethod, ExchangeType, NotifyType, PayloadType
from vicid.ike.wire.payloads import AuthPayload, IdiPayload, IdPayload, IdrPayload

E, N = ExchangeType, NotifyType
CHILD_ERRORS = {N.NO_PROPOSAL_CHOSEN, N.SINGLE_PAIR_REQUIRED, N.NO_ADDITIONAL_SAS,
                N.INTERNAL_ADDRESS_FAILURE, N.FAILED_CP_REQUIRED, N.TS_UNACCEPTABLE,
                N.INVALID_SELECTORS}
AUTH_METHOD_NAMES = {AuthMethod.RSA_SIG: "RSA signature", AuthMethod.PSK: "pre-shared key",
                     AuthMethod.DSS: "DSS signature", AuthMethod.ECDSA_256: "ECDSA-256 signature",
                     AuthMethod.ECDSA_384: "ECDSA-384 signature", AuthMethod.ECDSA_521: "ECDSA-521 signature",
                     AuthMethod.NULL: "NULL authentication", AuthMethod.DIGITAL_SIGNATURE: "digital signature"}


def id_payload(cls: type[IdPayload], ident: Identification) -> IdPayload:
    id_type, data = ident.to_wire()
    return cls(int(id_type), data)


def default_id(sa, what: str) -> Identification:
    """No (or a wildcard) identity configured: our IP address, as charon defaults."""
    addr = sa.my_host[0]
    kind = IdKind.ID_IPV4_ADDR if addr.version == 4 else IdKind.ID_IPV6_ADDR
    ident = Identification(kind, addr.packed)
    sa.log("CFG", 1, f"no {what} configured, default to IP address {ident}")
    return ident


def psk_class(sa, local: AuthConfig) -> bool:
    """Only pre-shared keys are implemented; other configured classes fail our AUTH."""
    auth_class = local.get(AuthRule.AUTH_CLASS)
    if auth_class in (AuthClass.PSK, None):
        return True
    name = AUTH_CLASS_NAMES.get(int(auth_class), str(auth_class))
    sa.log("IKE", 1, f"{name} authentication of '{sa.my_id}' (myself) not supported")
    return False


def first_round(cfg: PeerConfig | None, local: bool) -> AuthConfig:
    rounds = (cfg.local_auth if local else cfg.remote_auth) if cfg else ()
    return rounds[0] if rounds else AuthConfig()


class IkeAuth(Task):
    """Common state: the inputs of the AUTH octets (``ike_auth.c``)."""

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
        self.authenticated = False

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
        elif msg.exchange == E.IKE_INTERMEDIATE:
            self._fold_int_auth(msg.message)
        return Status.NEED_MORE

    def _fold_int_auth(self, message) -> None:
        keys = self.sa.keymat.keys
        sk_p = keys.sk_pi if message.is_request else keys.sk_pr
        self.int_auth = self.int_auth.add(self.sa.keymat.prf, sk_p, message)

    # --- AUTH payloads ------------------------------------------------------------------------
    def _octets(self, mine: bool, ident: IdPayload) -> bytes:
        km = self.sa.keymat
        int_auth = self.int_auth.octets(self.ike_auth_mid)
        if mine:
            return signed_octets(km.prf, self.my_packet, self.other_nonce, km.sk_p_mine, ident, int_auth)
        return signed_octets(km.prf, self.other_packet, self.my_nonce, km.sk_p_other, ident, int_auth)

    def _build_auth(self, msg: OutMessage, ident: IdPayload) -> bool:
        """The PSK authenticator's ``build``; False if no key is found."""
        sa = self.sa
        sa.log("IKE", 1, f"authentication of '{sa.my_id}' (myself) with pre-shared key")
        secret = best_shared_key(sa.ctx.creds, sa.my_id, sa.other_id)
        if secret is None:
            sa.log("IKE", 1, f"no shared key found for '{sa.my_id}' - '{sa.other_id}'")
            return False
        data = psk_auth(sa.keymat.prf, secret, self._octets(True, ident))
        sa.log("IKE", 2, "successfully created shared key MAC")
        msg.add(AuthPayload(AuthMethod.PSK, data))
        return True

    def _verify_auth(self, msg: InMessage, ident: IdPayload) -> bool:
        """The PSK verifier: try every candidate key for ``(my id, other id)``."""
        sa = self.sa
        auth = msg.get(PayloadType.AUTH)
        if auth is None:
            return False
        if auth.method != AuthMethod.PSK:
            name = AUTH_METHOD_NAMES.get(auth.method, f"({auth.method})")
            sa.log("IKE", 1, f"authentication of '{sa.other_id}' with {name} not supported")
            return False
        octets, tried = self._octets(False, ident), 0
        for cand in candidates(sa.ctx.creds, sa.my_id, sa.other_id):
            tried += 1
            if hmac.compare_digest(psk_auth(sa.keymat.prf, cand.secret, octets), auth.data):
                sa.log("IKE", 1, f"authentication of '{sa.other_id}' with pre-shared key successful")
                return True
        if not tried:
            sa.log("IKE", 1, f"no shared key found for '{sa.my_id}' - '{sa.other_id}'")
        else:
            sa.log("IKE", 1, f"tried {tried} shared key{'' if tried == 1 else 's'} for "
                             f"'{sa.my_id}' - '{sa.other_id}', but MAC mismatched")
        return False


class IkeAuthInitiator(IkeAuth):
    def __init__(self, sa) -> None:
        super().__init__(sa, True)

    def build(self, msg: OutMessage) -> Status:
        if msg.exchange != E.IKE_AUTH or self.first_auth:
            return Status.NEED_MORE
        self.first_auth = True
        sa = self.sa
        if sa.supports(Ext.MULTIPLE_AUTH):
            msg.add_notify(N.MULTIPLE_AUTH_SUPPORTED)
        msg.add_notify(N.EAP_ONLY_AUTHENTICATION)
        msg.add_notify(N.IKEV2_MESSAGE_ID_SYNC_SUPPORTED)
        self.ike_auth_mid = msg.message_id
        idr = first_round(sa.peer_cfg, False).get(AuthRule.IDENTITY)
        if idr is not None and not idr.contains_wildcards():
            sa.other_id = idr
            msg.add(id_payload(IdrPayload, idr))
        local = first_round(sa.peer_cfg, True)
        idi = local.get(AuthRule.IDENTITY)
        if idi is None or idi.type == IdKind.ID_ANY:
            idi = default_id(sa, "IDi")
        sa.my_id = idi
        ident = id_payload(IdiPayload, idi)
        msg.add(ident)
        self._initial_contact(msg, idr)
        return self._my_auth(msg, local, ident)

    def _initial_contact(self, msg: OutMessage, idr: Identification | None) -> None:
        sa = self.sa
        if idr is None or idr.contains_wildcards() or sa.peer_cfg is None:
            return
        if sa.peer_cfg.unique != UniquePolicy.UNIQUE_NEVER and not sa.ctx.has_contact(
                sa.my_id, idr, sa.other_host[0].version):
            msg.add_notify(N.INITIAL_CONTACT)

    def _my_auth(self, msg: OutMessage, local: AuthConfig, ident: IdPayload) -> Status:
        if not psk_class(self.sa, local) or not self._build_auth(msg, ident):
            self.sa.alert("local-auth-failed")
            return Status.FAILED
        return Status.NEED_MORE

    def process(self, msg: InMessage) -> Status:
        if msg.exchange != E.IKE_AUTH:
            if msg.exchange == E.IKE_SA_INIT and msg.notify(N.MULTIPLE_AUTH_SUPPORTED) and \
                    self.sa.ctx.settings.multiple_authentication:
                self.sa.extensions.add(Ext.MULTIPLE_AUTH)
            return self._collect_other(msg)
        status = self._response_notifies(msg)
        if status is not None:
            return status
        idr = msg.get(PayloadType.IDr)
        if idr is None:
            self.sa.log("IKE", 1, "IDr payload missing")
            return self._peer_auth_failed(msg)
        self.sa.other_id = Identification.from_wire(idr.id_type, idr.data)
        if not self._verify_auth(msg, idr):
            return self._peer_auth_failed(msg)
        problem = _remote_problem(self.sa.peer_cfg, self.sa.other_id)
        if problem is not None:
            self.sa.log("CFG", 1, problem)
            return self._peer_auth_failed(msg)
        self.sa.set_condition(Cond.AUTHENTICATED, True)
        return Status.SUCCESS

    def _response_notifies(self, msg: InMessage) -> Status | None:
        for n in msg.notifies():
            if n.notify_type == N.IKEV2_MESSAGE_ID_SYNC_SUPPORTED:
                self.sa.extensions.add(Ext.MESSAGE_ID_SYNC)
            elif n.is_error and n.notify_type not in CHILD_ERRORS:
                self.sa.log("IKE", 1, f"received {notify_name(n.notify_type)} notify error")
                self.sa.alert("local-auth-failed")
                return Status.FAILED
        return None

    def _peer_auth_failed(self, msg: InMessage) -> Status:
        """Alert and tell the responder with a protected INFORMATIONAL (``ike_auth.c``)."""
        sa = self.sa
        sa.alert("peer-auth-failed")
        out = OutMessage(E.INFORMATIONAL, (msg.message_id + 1) & 0xFFFFFFFF, True, sa.my_host,
                         sa.other_host)
        out.add_notify(N.AUTHENTICATION_FAILED)
        sa.send(sa.tm.generate(out), sa.my_host, sa.other_host)
        return Status.FAILED


def _remote_problem(cfg: PeerConfig | None, other_id: Identification) -> str | None:
    from vicid.ike.config_match import remote_compliance

    if cfg is None:
        return None
    return remote_compliance(cfg, AuthClass.PSK, other_id)


class IkeAuthResponder(IkeAuth):
    def __init__(self, sa) -> None:
        super().__init__(sa, False)
        self.failed = False
        self.initial_contact = False
        self.candidates: list[PeerConfig] = []

    def process(self, msg: InMessage) -> Status:
        if msg.exchange != E.IKE_AUTH:
            return self._collect_other(msg)
        if self.first_auth:
            return Status.NEED_MORE
        self.first_auth = True
        sa = self.sa
        self._request_notifies(msg)
        self.ike_auth_mid = msg.message_id
        idr = msg.get(PayloadType.IDr)
        sa.my_id = Identification.from_wire(idr.id_type, idr.data) if idr else Identification.any()
        idi = msg.get(PayloadType.IDi)
        if idi is None:
            sa.log("IKE", 1, "IDi payload missing")
            return Status.FAILED
        sa.other_id = Identification.from_wire(idi.id_type, idi.data)
        if not self._load_candidates() or not self._verify(msg, idi):
            self.failed = True
        return Status.NEED_MORE

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

    def _verify(self, msg: InMessage, idi: IdPayload) -> bool:
        if msg.get(PayloadType.AUTH) is None:
            self.sa.log("IKE", 1, "peer requested EAP, config unacceptable")
            return False
        if not self._verify_auth(msg, idi):
            return False
        return self._update_candidates()

    def _update_candidates(self) -> bool:
        """``update_cfg_candidates(strict)``: switch configs until the done round complies."""
        sa = self.sa
        while sa.peer_cfg is not None:
            problem = _remote_problem(sa.peer_cfg, sa.other_id)
            if problem is None:
                return True
            sa.log("CFG", 1, problem)
            sa.log("CFG", 1, f"selected peer config '{sa.peer_cfg.name}' unacceptable: "
                             "constraint checking failed")
            if not self.candidates:
                sa.log("CFG", 1, "no alternative config found")
                sa.peer_cfg = None
                return False
            sa.peer_cfg = self.candidates.pop(0)
            sa.log("CFG", 1, f"switching to peer config '{sa.peer_cfg.name}'")
        return False

    def build(self, msg: OutMessage) -> Status:
        sa = self.sa
        if msg.exchange == E.IKE_SA_INIT:
            if sa.ctx.settings.multiple_authentication:
                msg.add_notify(N.MULTIPLE_AUTH_SUPPORTED)
            return Status.NEED_MORE
        if msg.exchange != E.IKE_AUTH:
            return Status.NEED_MORE
        if self.failed or sa.peer_cfg is None:
            sa.alert("peer-auth-failed")
            raise AuthenticationFailed()
        local = first_round(sa.peer_cfg, True)
        ident = self._idr(local)
        msg.add(ident)
        if not psk_class(sa, local) or not self._build_auth(msg, ident):
            sa.alert("local-auth-failed")
            raise AuthenticationFailed()
        if sa.ctx.check_uniqueness(sa, self.initial_contact):
            sa.log("IKE", 1, "canceling IKE_SA setup due to uniqueness policy")
            sa.alert("unique-keep")
            raise AuthenticationFailed()
        sa.set_condition(Cond.AUTHENTICATED, True)
        return Status.SUCCESS

    def _idr(self, local: AuthConfig) -> IdPayload:
        sa = self.sa
        id_cfg = local.get(AuthRule.IDENTITY)
        if sa.my_id.type == IdKind.ID_ANY:
            if id_cfg is None or id_cfg.contains_wildcards():
                id_cfg = default_id(sa, "IDr")
            sa.my_id = id_cfg
        elif id_cfg is not None and not sa.my_id.matches(id_cfg):
            sa.log("CFG", 1, f"received IDr {sa.my_id}, but require {id_cfg}")
            sa.alert("peer-auth-failed")
            raise AuthenticationFailed()
        return id_payload(IdrPayload, sa.my_id)
