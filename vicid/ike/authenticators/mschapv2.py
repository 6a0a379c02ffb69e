"""EAP-MSCHAPv2 (RFC 2759 inside EAP, draft-kamath-pppext-eap-mschapv2), as charon's
eap-mschapv2 plugin speaks it, with the MSK of RFC 3079 (MasterReceiveKey | MasterSendKey |
32 zero octets, both seen from the server).

Server: Challenge (16 random octets, name "strongSwan") -> Response (peer challenge, NT-Response,
user name) -> Success request carrying "S=<authenticator response>" -> the peer's Success
response -> EAP-Success. A wrong NT-Response (or no secret for the user) is answered with a
retriable Failure request (``E=691 R=1 C=<new challenge>``) at most twice; charon sleeps 2 s
before each retry, which a sans-I/O engine cannot do, so vicid answers at once. The peer, as
charon's, does not retry: a Failure request ends the method.

Secrets: an NTLM shared key (the NT hash itself) for the pair of identities, else an EAP
secret whose UTF-8 password is hashed (MD4 over UTF-16LE). Only the user part after a
backslash (DOMAIN\\user) enters the challenge hash. Nothing secret is ever logged.
"""

from __future__ import annotations

import hashlib
import hmac
import struct

from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.ciphers import Cipher, modes

from vicid.creds.psk import best_shared_key
from vicid.identity import Identification
from vicid.ike.authenticators.eap_methods import (
    EAP_MSCHAPV2,
    REQUEST,
    RESPONSE,
    EapMethod,
    EapPacket,
    St,
    shared_eap_key,
)
from vicid.ike.crypto.md4 import md4
from vicid.secrets import Secret

CHALLENGE, RESPONSE_OP, SUCCESS_OP, FAILURE_OP, CHANGE_PASSWORD = 1, 2, 3, 4, 7
OPCODE_NAMES = {
    CHALLENGE: "CHALLENGE",
    RESPONSE_OP: "RESPONSE",
    SUCCESS_OP: "SUCCESS",
    FAILURE_OP: "FAILURE",
    CHANGE_PASSWORD: "CHANGE_PASSWORD",
}
ERROR_NAMES = {
    646: "ERROR_RESTRICTED_LOGON_HOURS",
    647: "ERROR_ACCT_DISABLED",
    648: "ERROR_PASSWD_EXPIRED",
    649: "ERROR_NO_DIALIN_PERMISSION",
    691: "ERROR_AUTHENTICATION_FAILURE",
    709: "ERROR_CHANGING_PASSWORD",
}
CHALLENGE_LEN = 16
RESPONSE_LEN = 49  # peer challenge 16 | reserved 8 | NT-Response 24 | flags 1
HOST_NAME = b"strongSwan"
SUCCESS_MESSAGE = b" M=Welcome2strongSwan\x00"  # charon sends the C string's NUL too
MAX_RETRIES = 2
_HEADER = 4  # opcode, MS-CHAPv2-ID, MS-Length (after the EAP type octet)

_MAGIC_SIGN = b"Magic server to client signing constant"
_MAGIC_PAD = b"Pad to make it do more than one iteration"
_MAGIC_MASTER = b"This is the MPPE Master Key"
_MAGIC_CLIENT_SEND = b"On the client side, this is the send key; on the server side, it is the receive key."
_MAGIC_CLIENT_RECV = b"On the client side, this is the receive key; on the server side, it is the send key."
_SHS_PAD1, _SHS_PAD2 = b"\x00" * 40, b"\xf2" * 40


# --- RFC 2759 §8 / RFC 3079 §3 ---------------------------------------------------------------
def _sha1(*parts: bytes) -> bytes:
    return hashlib.sha1(b"".join(parts), usedforsecurity=False).digest()


def nt_password_hash(password: bytes) -> bytes:
    """MD4 over the UTF-16LE password (``password`` as UTF-8; invalid octets are dropped)."""
    text = password.decode("utf-8", "ignore")
    return md4(text.encode("utf-16-le", "ignore"))


def challenge_hash(peer_challenge: bytes, server_challenge: bytes, username: bytes) -> bytes:
    return _sha1(peer_challenge, server_challenge, username)[:8]


def expand_des_key(key7: bytes) -> bytes:
    """Spread 56 key bits over 8 octets (7 bits each) and set odd parity in the low bit."""
    bits = int.from_bytes(key7, "big")
    out = bytearray()
    for i in range(8):
        octet = ((bits >> (49 - 7 * i)) & 0x7F) << 1
        out.append(octet | (bin(octet).count("1") + 1) % 2)
    return bytes(out)


def _des_encrypt(key7: bytes, block: bytes) -> bytes:
    key = expand_des_key(key7)
    enc = Cipher(TripleDES(key * 3), modes.ECB()).encryptor()  # K1=K2=K3: single DES
    return enc.update(block) + enc.finalize()


def challenge_response(chash: bytes, password_hash: bytes) -> bytes:
    z = password_hash.ljust(21, b"\x00")
    return b"".join(_des_encrypt(z[i : i + 7], chash) for i in (0, 7, 14))


def authenticator_response(password_hash_hash: bytes, chash: bytes, nt_response: bytes) -> bytes:
    digest = _sha1(password_hash_hash, nt_response, _MAGIC_SIGN)
    return _sha1(digest, chash, _MAGIC_PAD)


def master_key(password_hash_hash: bytes, nt_response: bytes) -> bytes:
    return _sha1(password_hash_hash, nt_response, _MAGIC_MASTER)[:16]


def msk_from(password_hash_hash: bytes, nt_response: bytes) -> bytes:
    """MasterReceiveKey | MasterSendKey (server view) | 32 zero octets, as charon derives it."""
    master = master_key(password_hash_hash, nt_response)
    receive = _sha1(master, _SHS_PAD1, _MAGIC_CLIENT_SEND, _SHS_PAD2)[:16]
    send = _sha1(master, _SHS_PAD1, _MAGIC_CLIENT_RECV, _SHS_PAD2)[:16]
    return receive + send + b"\x00" * 32


def extract_username(userid: bytes) -> bytes:
    """The part after the first backslash (DOMAIN\\user), else all of it."""
    pos = userid.find(b"\\")
    return userid if pos < 0 else userid[pos + 1 :]


class Computed:
    """NT-Response, authenticator response and MSK for one challenge pair (kept out of repr)."""

    def __init__(self, server_challenge: bytes, peer_challenge: bytes, username: bytes, nt_hash: bytes) -> None:
        hash_hash = md4(nt_hash)
        chash = challenge_hash(peer_challenge, server_challenge, username)
        self.nt_response = challenge_response(chash, nt_hash)
        self.auth_response = authenticator_response(hash_hash, chash, self.nt_response)
        self.msk = Secret(msk_from(hash_hash, self.nt_response))

    def __repr__(self) -> str:
        return "Computed(<hidden>)"


# --- the EAP method --------------------------------------------------------------------------
class MsChapV2Method(EapMethod):
    eap_type = EAP_MSCHAPV2
    mutual = False  # charon's is_mutual() says no
    derives_msk = True

    def __init__(self, *args) -> None:
        super().__init__(*args)
        self.state = "challenge" if not self.is_server else "response"
        self.challenge = b""
        self.computed: Computed | None = None
        self.retries = 0
        self.mschapv2id = 0
        self.userid: Identification | None = None
        if self.is_server:
            self.identifier = self._new_identifier()
            self.mschapv2id = self.identifier

    def msk(self) -> Secret | None:
        return self.computed.msk if self.computed is not None and self.state == "done" else None

    def merge_auth(self, info) -> None:
        """The user name the peer answered with becomes the round's EAP identity."""
        if self.userid is not None:
            info.eap_identity = self.userid

    def _log(self, msg: str) -> None:
        self.sa.log("IKE", 1, msg)

    def _packet(self, code: int, identifier: int, opcode: int, body: bytes) -> EapPacket:
        ms_length = _HEADER + len(body)  # MS-Length = EAP length - 5
        return EapPacket(code, identifier, EAP_MSCHAPV2, struct.pack("!BBH", opcode, self.mschapv2id, ms_length) + body)

    def _nt_hash(self, me: Identification, other: Identification) -> bytes | None:
        found = best_shared_key(self.sa.ctx.creds, me, other, "NTLM")
        if found is not None:
            return found.reveal()
        secret = shared_eap_key(self.sa, me, other)
        return nt_password_hash(secret.reveal()) if secret is not None else None

    # server ------------------------------------------------------------------------------------
    def initiate(self) -> tuple[St, EapPacket | None]:
        if not self.is_server:
            return St.FAILED, None
        self.challenge = self.sa.ctx.rng.bytes(CHALLENGE_LEN)
        self.state = "response"
        return St.NEED_MORE, self._packet(
            REQUEST, self.identifier, CHALLENGE, bytes([CHALLENGE_LEN]) + self.challenge + HOST_NAME
        )

    def process(self, packet: EapPacket) -> tuple[St, EapPacket | None]:
        return self._process_server(packet) if self.is_server else self._process_peer(packet)

    def _process_server(self, packet: EapPacket) -> tuple[St, EapPacket | None]:
        if packet.identifier != self.identifier:
            self._log("received invalid EAP-MS-CHAPv2 message: unexpected identifier")
            return St.FAILED, None
        if len(packet.data) < 1:
            self._log("received invalid EAP-MS-CHAPv2 message: too short")
            return St.FAILED, None
        opcode = packet.data[0]
        if self.state == "response" and opcode == RESPONSE_OP:
            return self._server_response(packet)
        if self.state == "success" and opcode == SUCCESS_OP and self.computed is not None:
            self.state = "done"
            return St.SUCCESS, None
        if opcode != FAILURE_OP:  # the peer may abort with a Failure in any state
            self._unexpected(opcode)
        return St.FAILED, None

    def _server_response(self, packet: EapPacket) -> tuple[St, EapPacket | None]:
        data = packet.data
        if len(data) < _HEADER + 1 + RESPONSE_LEN:
            self._log("received invalid EAP-MS-CHAPv2 message: too short")
            return St.FAILED, None
        response = data[_HEADER + 1 : _HEADER + 1 + RESPONSE_LEN]
        peer_challenge, nt_response = response[:16], response[24:48]
        name = data[_HEADER + 1 + RESPONSE_LEN :][:255].decode("utf-8", "replace")
        try:
            userid = Identification.from_string(name)
        except ValueError:
            userid = Identification.from_string("%any")
        if str(userid) != str(self.peer):
            self._log(f"EAP-MS-CHAPv2 username: '{userid}'")
        nt_hash = self._nt_hash(self.server, userid)
        if nt_hash is None:
            self._log(f"no EAP key found for hosts '{self.server}' - '{userid}'")
            return self._retry()
        computed = Computed(self.challenge, peer_challenge, extract_username(userid.to_wire()[1]), nt_hash)
        if not hmac.compare_digest(computed.nt_response, nt_response):
            return self._retry()
        self.computed, self.userid, self.state = computed, userid, "success"
        self.identifier = (self.identifier + 1) & 0xFF
        body = b"S=" + computed.auth_response.hex().upper().encode() + SUCCESS_MESSAGE
        return St.NEED_MORE, self._packet(REQUEST, self.identifier, SUCCESS_OP, body)

    def _retry(self) -> tuple[St, EapPacket | None]:
        self.retries += 1
        if self.retries > MAX_RETRIES:
            self._log("EAP-MS-CHAPv2 verification failed: maximum number of retries reached")
            return St.FAILED, None
        self._log(f"EAP-MS-CHAPv2 verification failed, retry ({self.retries})")
        self.challenge = self.sa.ctx.rng.bytes(CHALLENGE_LEN)
        self.computed = None
        self.identifier = (self.identifier + 1) & 0xFF
        packet = self._packet(
            REQUEST, self.identifier, FAILURE_OP, b"E=691 R=1 C=" + self.challenge.hex().upper().encode()
        )
        self.mschapv2id = (self.mschapv2id + 1) & 0xFF  # a new ID for the next attempt
        return St.NEED_MORE, packet

    def _unexpected(self, opcode: int) -> None:
        name = OPCODE_NAMES.get(opcode, f"({opcode})")
        if opcode in (CHALLENGE, RESPONSE_OP, SUCCESS_OP, FAILURE_OP):
            self._log(f"received unexpected EAP-MS-CHAPv2 message with OpCode ({name})!")
        else:
            self._log(f"EAP-MS-CHAPv2 received packet with unsupported OpCode ({name})!")

    # peer --------------------------------------------------------------------------------------
    def _process_peer(self, packet: EapPacket) -> tuple[St, EapPacket | None]:
        self.identifier = packet.identifier
        if len(packet.data) < 1:
            self._log("received invalid EAP-MS-CHAPv2 message")
            return St.FAILED, None
        opcode = packet.data[0]
        if self.state == "challenge" and opcode == CHALLENGE:
            return self._peer_challenge(packet)
        if self.state == "success" and opcode == SUCCESS_OP:
            return self._peer_success(packet)
        if self.state == "success" and opcode == FAILURE_OP:
            return self._peer_failure(packet)
        self._unexpected(opcode)
        return St.FAILED, None

    def _peer_challenge(self, packet: EapPacket) -> tuple[St, EapPacket | None]:
        data = packet.data
        if len(data) < _HEADER + 1 + CHALLENGE_LEN + 1:  # the name has at least one octet
            self._log("received invalid EAP-MS-CHAPv2 message: too short")
            return St.FAILED, None
        if data[_HEADER] != CHALLENGE_LEN:
            self._log("received invalid EAP-MS-CHAPv2 message: invalid challenge size")
            return St.FAILED, None
        self.mschapv2id = data[1]
        self.challenge = data[_HEADER + 1 : _HEADER + 1 + CHALLENGE_LEN]
        peer_challenge = self.sa.ctx.rng.bytes(CHALLENGE_LEN)
        nt_hash = self._nt_hash(self.peer, self.server)
        if nt_hash is None:
            self._log(f"no EAP key found for hosts '{self.server}' - '{self.peer}'")
            return St.FAILED, None
        userid = self.peer.to_wire()[1]  # sent whole; only the user part is hashed
        self.computed = Computed(self.challenge, peer_challenge, extract_username(userid), nt_hash)
        body = bytes([RESPONSE_LEN]) + peer_challenge + b"\x00" * 8 + self.computed.nt_response + b"\x00" + userid
        self.state = "success"
        return St.NEED_MORE, self._packet(RESPONSE, self.identifier, RESPONSE_OP, body)

    @staticmethod
    def _tokens(data: bytes) -> list[str]:
        text = data[_HEADER:].split(b"\x00", 1)[0].decode("latin-1")
        return [t for t in text.split(" ") if t]

    @staticmethod
    def _printable(text: str | None) -> str:
        return "(null)" if text is None else "".join(c if c.isprintable() and ord(c) < 128 else "?" for c in text)

    def _peer_success(self, packet: EapPacket) -> tuple[St, EapPacket | None]:
        data = packet.data
        if len(data) < _HEADER + 42:
            self._log("received invalid EAP-MS-CHAPv2 message: too short")
            return St.FAILED, None
        auth, message = None, None
        for token in self._tokens(data):
            if token.startswith("S="):
                if len(token) != 42:
                    self._log("received invalid EAP-MS-CHAPv2 message: invalid auth string")
                    return St.FAILED, None
                try:
                    auth = bytes.fromhex(token[2:])
                except ValueError:
                    auth = b""
            elif token.startswith("M="):
                message = token[2:]
        if auth is None:
            self._log("received invalid EAP-MS-CHAPv2 message: auth string missing")
            return St.FAILED, None
        assert self.computed is not None
        if not hmac.compare_digest(auth, self.computed.auth_response):
            self._log("EAP-MS-CHAPv2 verification failed")
            return St.FAILED, None
        self._log(f"EAP-MS-CHAPv2 succeeded: '{self._printable(message)}'")
        self.state = "done"
        return St.NEED_MORE, EapPacket(RESPONSE, self.identifier, EAP_MSCHAPV2, bytes([SUCCESS_OP]))

    def _peer_failure(self, packet: EapPacket) -> tuple[St, EapPacket | None]:
        if len(packet.data) < _HEADER + 3:  # at least "E=e"
            self._log("received invalid EAP-MS-CHAPv2 message: too short")
            return St.FAILED, None
        error, message = 0, None
        for token in self._tokens(packet.data):
            if token.startswith("E="):
                digits = "".join(c for c in token[2:].split()[0] if c.isdigit()) if token[2:] else ""
                error = int(digits) if digits else 0
            elif token.startswith("M="):
                message = token[2:]
        self._log(
            f"EAP-MS-CHAPv2 failed with error {ERROR_NAMES.get(error, f'({error})')}: '{self._printable(message)}'"
        )
        # like charon (and Windows), no Failure response and no retry: the method ends here
        self.state = "done"
        self.computed = None
        return St.FAILED, None


__all__ = [
    "MsChapV2Method",
    "authenticator_response",
    "challenge_hash",
    "challenge_response",
    "expand_des_key",
    "master_key",
    "msk_from",
    "nt_password_hash",
]
