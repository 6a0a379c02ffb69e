"""EAP in IKEv2 (RFC 7296 §2.16; charon ``eap_authenticator.c``).

Server (responder verifying the initiator): optional EAP-Identity (when ``eap_id`` is
configured for the remote round), then the configured method; after EAP-Success the
initiator's AUTH is verified with the MSK (or SK_pi if the method derives none) and our own
AUTH follows. Client: answers EAP requests (NAK if the server asks for another method than
configured), and after EAP-Success sends AUTH, then verifies the server's.

    AUTH = prf(prf(MSK or SK_p, "Key Pad for IKEv2"), <SignedOctets>)
"""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING

from vicid.identity import Identification, IdKind
from vicid.ike.auth_info import eap_type_name
from vicid.ike.authenticators.base import Authenticator, Result
from vicid.ike.authenticators.eap_methods import (
    CODE_NAMES,
    EAP_IDENTITY,
    EAP_MD5,
    EAP_MSCHAPV2,
    EAP_TLS,
    FAILURE,
    REQUEST,
    RESPONSE,
    SUCCESS,
    SUPPORTED,
    EapMethod,
    EapPacket,
    IdentityMethod,
    Md5Method,
    St,
    nak,
)
from vicid.ike.authenticators.eap_tls import TlsMethod
from vicid.ike.authenticators.mschapv2 import MsChapV2Method
from vicid.ike.config import AUTH_CLASS_NAMES, AuthClass, AuthRule
from vicid.ike.crypto.auth import psk_auth
from vicid.ike.messages import InMessage, OutMessage
from vicid.ike.wire.enums import AuthMethod, PayloadType
from vicid.ike.wire.payloads import AuthPayload, EapPayload
from vicid.secrets import Secret

EAP_CLASS = AUTH_CLASS_NAMES[AuthClass.EAP]



if TYPE_CHECKING:
    from vicid.ike.sa import IkeSa


def create_method(sa: IkeSa, eap_type: int, server: Identification, peer: Identification,
                  is_server: bool) -> EapMethod | None:
    """``eap_manager->create_instance``: the methods vicid provides."""
    cls = {EAP_IDENTITY: IdentityMethod, EAP_MD5: Md5Method, EAP_MSCHAPV2: MsChapV2Method,
           EAP_TLS: TlsMethod}.get(eap_type)
    return cls(sa, server, peer, is_server) if cls else None


class EapBase(Authenticator):
    def __init__(self, ctx, info) -> None:
        super().__init__(ctx, info)
        self.method: EapMethod | None = None
        self.out: EapPacket | None = None
        self.eap_complete = False
        self.auth_complete = False
        self.msk: Secret | None = None
        self.eap_identity: Identification | None = None

    def is_mutual(self) -> bool:
        return bool(self.method is not None and self.method.mutual)

    def _secret(self, mine: bool) -> Secret:
        """``get_psk_sig``: the MSK, or SK_p when the method established none."""
        if self.msk is not None and len(self.msk):
            return self.msk
        km = self.sa.keymat
        return km.sk_p_mine if mine else km.sk_p_other

    def _verify_auth(self, msg: InMessage) -> bool:
        sa = self.sa
        auth = msg.get(PayloadType.AUTH)
        if auth is None:
            sa.log("IKE", 1, "AUTH payload missing")
            return False
        expected = psk_auth(sa.keymat.prf, self._secret(False), self.ctx.octets(False))
        if not hmac.compare_digest(expected, auth.data):
            sa.log("IKE", 1, f"verification of AUTH payload with{'' if self.msk else 'out'} EAP MSK failed")
            return False
        sa.log("IKE", 1, f"authentication of '{sa.other_id}' with {EAP_CLASS} successful")
        self.auth_complete = True
        return True

    def _build_auth(self, msg: OutMessage) -> None:
        sa = self.sa
        sa.log("IKE", 1, f"authentication of '{sa.my_id}' (myself) with {EAP_CLASS}")
        msg.add(AuthPayload(AuthMethod.PSK, psk_auth(sa.keymat.prf, self._secret(True), self.ctx.octets(True))))

    def _take_msk(self) -> str | None:
        """``get_msk``: "" or "no " for the log line; None if the method owes an MSK it lacks."""
        assert self.method is not None
        self.msk = self.method.msk()
        if self.msk is None and self.method.derives_msk:
            return None
        return "" if self.msk is not None else "no "

    def _load(self, eap_type: int, is_server: bool) -> EapMethod | None:
        sa = self.sa
        server, peer = (sa.my_id, sa.other_id) if is_server else (sa.other_id, sa.my_id)
        if self.eap_identity is not None:
            peer = self.eap_identity
        aaa = self.info.config.get(AuthRule.AAA_IDENTITY)
        return create_method(sa, eap_type, aaa or server, peer, is_server)


class EapServer(EapBase):
    """We verify the peer with EAP (``process_server``/``build_server``)."""

    def process(self, msg: InMessage) -> Result:
        if self.eap_complete:
            if not self._verify_auth(msg):
                return Result.FAILED
            info = self.info
            info.auth_class = AuthClass.EAP
            assert self.method is not None
            info.eap_type = self.method.eap_type
            self.method.merge_auth(info)
            return Result.NEED_MORE
        if self.method is None:
            self.out = self._initiate(do_identity=True)
            return Result.NEED_MORE
        payload = msg.get(PayloadType.EAP)
        if payload is None:
            return Result.FAILED
        self.out = self._process(EapPacket.decode(payload.data))
        return Result.NEED_MORE if self.out is not None else Result.INVALID_ARG

    def build(self, msg: OutMessage) -> Result:
        if self.out is not None:
            packet, self.out = self.out, None
            msg.add(EapPayload(packet.encode()))
            return Result.FAILED if packet.code == FAILURE else Result.NEED_MORE
        if self.eap_complete and self.auth_complete:
            self._build_auth(msg)
            return Result.SUCCESS
        return Result.FAILED

    def _initiate(self, do_identity: bool) -> EapPacket:
        sa, cfg = self.sa, self.info.config
        if self.eap_identity is None and do_identity and cfg.get(AuthRule.EAP_IDENTITY) is not None:
            self.method = self._load(EAP_IDENTITY, True)
            assert self.method is not None
            _, packet = self.method.initiate()
            assert packet is not None
            sa.log("IKE", 1, f"initiating EAP_IDENTITY method (id 0x{packet.identifier:02X})")
            return packet
        eap_type = cfg.get(AuthRule.EAP_TYPE) or 0
        self.method = self._load(eap_type, True)
        action = "loading"
        if self.method is not None:
            action = "initiating"
            status, packet = self.method.initiate()
            if status is St.NEED_MORE and packet is not None:
                sa.log("IKE", 1, f"initiating {eap_type_name(eap_type)} method (id 0x{packet.identifier:02X})")
                return packet
        sa.log("IKE", 1, f"{action} {eap_type_name(eap_type)} method failed")
        return EapPacket(FAILURE, 0)

    def _process(self, packet: EapPacket) -> EapPacket | None:
        sa, method = self.sa, self.method
        assert method is not None
        if packet.code != RESPONSE:
            sa.log("IKE", 1, f"received {CODE_NAMES.get(packet.code, packet.code)}, sending EAP_FAILURE")
            return EapPacket(FAILURE, packet.identifier)
        if packet.type != method.eap_type:
            if packet.type == 3:  # EAP_NAK
                sa.log("IKE", 1, "received EAP_NAK, sending EAP_FAILURE")
            else:
                sa.log("IKE", 1, "received invalid EAP response, sending EAP_FAILURE")
            return EapPacket(FAILURE, packet.identifier)
        status, out = method.process(packet)
        if status is St.NEED_MORE and out is not None:
            return out
        if status is St.SUCCESS:
            if isinstance(method, IdentityMethod):
                return self._identity_done(method)
            established = self._take_msk()
            if established is None:
                sa.log("IKE", 1, "failed to establish MSK")
                return EapPacket(FAILURE, packet.identifier)
            sa.log("IKE", 1, f"EAP method {eap_type_name(method.eap_type)} succeeded, "
                             f"{established}MSK established")
            self.eap_complete = True
            return EapPacket(SUCCESS, packet.identifier)
        sa.log("IKE", 1, f"EAP method {eap_type_name(method.eap_type)} failed for peer {sa.other_id}")
        return EapPacket(FAILURE, packet.identifier)

    def _identity_done(self, method: IdentityMethod) -> EapPacket | None:
        sa = self.sa
        data = method.received()
        if data:
            ident = Identification.from_string(data.decode("utf-8", "replace"))
            sa.log("IKE", 1, f"received EAP identity '{ident}'")
        else:
            ident = sa.other_id
            sa.log("IKE", 1, f"client did not send an EAP identity, assume IKE identity '{ident}'")
        self.eap_identity = self.info.eap_identity = ident
        configured = self.info.config.get(AuthRule.EAP_IDENTITY)
        self.method = None
        if configured is not None and not ident.matches(configured):
            return None
        return self._initiate(do_identity=False)


class EapClient(EapBase):
    """We authenticate with EAP (``process_client``/``build_client``)."""

    require_mutual = False

    def process(self, msg: InMessage) -> Result:
        sa = self.sa
        if self.eap_complete:
            if not self._verify_auth(msg):
                return Result.FAILED
            return Result.SUCCESS
        payload = msg.get(PayloadType.EAP)
        if payload is None:
            return Result.FAILED
        packet = EapPacket.decode(payload.data)
        if packet.code == REQUEST:
            self.out = self._process(packet)
            return Result.NEED_MORE if self.out is not None else Result.FAILED
        if packet.code == SUCCESS:
            if self.method is None:
                sa.log("IKE", 1, "received unexpected EAP_SUCCESS")
                return Result.FAILED
            established = self._take_msk()
            if established is None:
                sa.log("IKE", 1, "received EAP_SUCCESS but failed to establish MSK")
                return Result.FAILED
            sa.log("IKE", 1, f"EAP method {eap_type_name(self.method.eap_type)} succeeded, "
                             f"{established}MSK established")
            self.info.eap_type = self.method.eap_type
            self.info.auth_class = AuthClass.EAP
            self.eap_complete = True
            return Result.NEED_MORE
        sa.log("IKE", 1, f"received {CODE_NAMES.get(packet.code, packet.code)}, EAP authentication failed")
        return Result.FAILED

    def build(self, msg: OutMessage) -> Result:
        if self.out is not None:
            packet, self.out = self.out, None
            msg.add(EapPayload(packet.encode()))
        elif self.eap_complete:
            self._build_auth(msg)
        return Result.NEED_MORE

    def _process(self, packet: EapPacket) -> EapPacket | None:
        sa, cfg = self.sa, self.info.config
        if packet.type == EAP_IDENTITY:
            ident = cfg.get(AuthRule.EAP_IDENTITY)
            if ident is None or ident.type == IdKind.ID_ANY:
                ident = sa.my_id
            sa.log("IKE", 1, f"server requested EAP_IDENTITY (id 0x{packet.identifier:02X}), sending '{ident}'")
            self.eap_identity = self.info.eap_identity = ident
            method = self._load(EAP_IDENTITY, False)
            assert method is not None
            _, out = method.process(packet)
            return out
        if self.method is None:
            sa.log("IKE", 1, f"server requested {eap_type_name(packet.type)} authentication "
                             f"(id 0x{packet.identifier:02X})")
            wanted = cfg.get(AuthRule.EAP_TYPE) or 0
            if wanted and wanted != packet.type:
                sa.log("IKE", 1, f"requesting {eap_type_name(wanted)} authentication, sending EAP_NAK")
                return nak(packet.identifier, [wanted])
            self.method = self._load(packet.type, False)
            if self.method is None:
                sa.log("IKE", 1, "EAP method not supported, sending EAP_NAK")
                return nak(packet.identifier, SUPPORTED)
        status, out = self.method.process(packet)
        if status is St.NEED_MORE and out is not None:
            return out
        sa.log("IKE", 1, f"{eap_type_name(self.method.eap_type)} method failed")
        return None
