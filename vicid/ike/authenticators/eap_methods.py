"""EAP methods inside IKEv2 (RFC 3748 framing): Identity, MD5-Challenge (RFC 3748 §5.4),
MS-CHAPv2 (RFC 2759, :mod:`.mschapv2`) and EAP-TLS (RFC 5216/9190, :mod:`.eap_tls`), as
charon's eap-identity, eap-md5, eap-mschapv2 and eap-tls plugins speak them.

A method object is made per role (``server``/``peer``); ``initiate()`` (server) and
``process(packet)`` return ``(status, reply packet)``; ``msk()`` gives the MSK (a Secret) for
methods that derive one (``derives_msk``: no MSK then fails the round, charon's FAILED from
``get_msk``); ``merge_auth(info)`` adds what the method proved to the round (``get_auth``).
Shared secrets come from the CredStore (type EAP) for the pair of identities, as
``get_shared(SHARED_EAP, me, other)``; they are never logged.
"""

from __future__ import annotations

import hashlib
import hmac
import struct
from dataclasses import dataclass
from enum import Enum, auto
from typing import TYPE_CHECKING

from vicid.creds.psk import best_shared_key
from vicid.identity import Identification
from vicid.secrets import Secret

if TYPE_CHECKING:
    from vicid.ike.sa import IkeSa

REQUEST, RESPONSE, SUCCESS, FAILURE = 1, 2, 3, 4
EAP_IDENTITY, EAP_NAK, EAP_MD5, EAP_TLS, EAP_MSCHAPV2 = 1, 3, 4, 13, 26
CODE_NAMES = {REQUEST: "EAP_REQUEST", RESPONSE: "EAP_RESPONSE", SUCCESS: "EAP_SUCCESS",
              FAILURE: "EAP_FAILURE"}


class St(Enum):
    NEED_MORE = auto()
    SUCCESS = auto()
    FAILED = auto()


@dataclass(frozen=True)
class EapPacket:
    code: int
    identifier: int
    type: int = 0
    data: bytes = b""  # type data (after the type octet)

    def encode(self) -> bytes:
        if self.code in (SUCCESS, FAILURE):
            return struct.pack("!BBH", self.code, self.identifier, 4)
        return struct.pack("!BBHB", self.code, self.identifier, 5 + len(self.data), self.type) + self.data

    @classmethod
    def decode(cls, raw: bytes) -> EapPacket:
        """From a decoded EAP payload (length already checked by the codec)."""
        code, ident = raw[0], raw[1]
        if code in (SUCCESS, FAILURE) or len(raw) < 5:
            return cls(code, ident)
        return cls(code, ident, raw[4], raw[5:])


def nak(identifier: int, types: list[int]) -> EapPacket:
    return EapPacket(RESPONSE, identifier, EAP_NAK, bytes(types))


def shared_eap_key(sa: IkeSa, me: Identification, other: Identification) -> Secret | None:
    return best_shared_key(sa.ctx.creds, me, other, "EAP")


class EapMethod:
    eap_type = 0
    mutual = False
    derives_msk = False

    def __init__(self, sa: IkeSa, server: Identification, peer: Identification, is_server: bool) -> None:
        self.sa = sa
        self.server, self.peer = server, peer
        self.is_server = is_server
        self.identifier = 0

    def initiate(self) -> tuple[St, EapPacket | None]:
        return St.FAILED, None

    def process(self, packet: EapPacket) -> tuple[St, EapPacket | None]:
        return St.FAILED, None

    def msk(self) -> Secret | None:
        return None

    def merge_auth(self, info) -> None:
        """Add what the method established (EAP identity, certificates) to the AuthInfo."""

    def _new_identifier(self) -> int:
        while True:
            ident = self.sa.ctx.rng.bytes(1)[0]
            if ident:
                return ident


class IdentityMethod(EapMethod):
    """EAP-Identity: the server asks, the peer answers with its EAP identity (the "MSK")."""

    eap_type = EAP_IDENTITY

    def __init__(self, *args) -> None:
        super().__init__(*args)
        self.identity = b""

    def initiate(self) -> tuple[St, EapPacket | None]:
        self.identifier = self._new_identifier()
        return St.NEED_MORE, EapPacket(REQUEST, self.identifier, EAP_IDENTITY)

    def process(self, packet: EapPacket) -> tuple[St, EapPacket | None]:
        if self.is_server:
            self.identity = packet.data
            return St.SUCCESS, None
        _, data = self.peer.to_wire()
        return St.SUCCESS, EapPacket(RESPONSE, packet.identifier, EAP_IDENTITY, data)

    def received(self) -> bytes:
        return self.identity


class Md5Method(EapMethod):
    """EAP-MD5: response = MD5(identifier | secret | challenge); no MSK, not mutual."""

    eap_type = EAP_MD5
    CHALLENGE_LEN = 16

    def __init__(self, *args) -> None:
        super().__init__(*args)
        self.challenge = b""
        self.identifier = self._new_identifier()

    def _hash(self, me: Identification, other: Identification) -> bytes | None:
        secret = shared_eap_key(self.sa, me, other)
        if secret is None:
            self.sa.log("IKE", 1, f"no EAP key found for hosts '{me}' - '{other}'")
            return None
        return hashlib.md5(bytes([self.identifier]) + secret.reveal() + self.challenge,
                           usedforsecurity=False).digest()

    def initiate(self) -> tuple[St, EapPacket | None]:
        self.challenge = self.sa.ctx.rng.bytes(self.CHALLENGE_LEN)
        return St.NEED_MORE, EapPacket(REQUEST, self.identifier, EAP_MD5,
                                       bytes([len(self.challenge)]) + self.challenge)

    def process(self, packet: EapPacket) -> tuple[St, EapPacket | None]:
        data = packet.data
        if not data or data[0] + 1 > len(data) or (self.is_server and packet.identifier != self.identifier):
            self.sa.log("IKE", 1, "received invalid EAP-MD5 message")
            return St.FAILED, None
        value = data[1:1 + data[0]]
        if not self.is_server:
            self.identifier, self.challenge = packet.identifier, value
            response = self._hash(self.peer, self.server)
            if response is None:
                return St.FAILED, None
            return St.NEED_MORE, EapPacket(RESPONSE, self.identifier, EAP_MD5, bytes([16]) + response)
        expected = self._hash(self.server, self.peer)
        if expected is None:
            return St.FAILED, None
        if len(value) < len(expected) or not hmac.compare_digest(value[:len(expected)], expected):
            self.sa.log("IKE", 1, "EAP-MD5 verification failed")
            return St.FAILED, None
        return St.SUCCESS, None


SUPPORTED = [EAP_MD5, EAP_TLS, EAP_MSCHAPV2]  # offered in EAP-Nak
