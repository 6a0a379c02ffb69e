"""AUTH payload octets (RFC 7296 §2.15) with the RFC 9242 §3.3 IntAuth extension, and PSK MACs.

```
InitiatorSignedOctets = RealMessage1 | NonceRData | MACedIDForI [| IntAuth]
MACedIDForI = prf(SK_pi, IDi')           IDi' = ID Type | RESERVED | ID data
IntAuth     = IntAuth_iN | IntAuth_rN | IKE_AUTH_MID
IntAuth_in  = prf(SK_pi(n-1), IntAuth_i(n-1) | IntAuth_in_A | IntAuth_in_P)   (empty for n=1)
AUTH (PSK)  = prf(prf(Shared Secret, "Key Pad for IKEv2"), <SignedOctets>)
```
IntAuth_A/_P follow charon's ``message.c get_plain()``: the message is re-encoded as if
unfragmented, with no clear payloads before SK and SK flags zero (ikev2-facts §6, §13.2).
"""

from __future__ import annotations

from dataclasses import dataclass

from vicid.ike.crypto.prf import prf
from vicid.ike.wire.enums import PayloadType
from vicid.ike.wire.header import HEADER_LEN, pack_header
from vicid.ike.wire.message import Message, encode_payload_chain, first_type
from vicid.ike.wire.payloads import GENERIC_HEADER_LEN, IdPayload
from vicid.secrets import Secret

KEY_PAD = b"Key Pad for IKEv2"  # 17 ASCII bytes, no NUL (§2.15)


def maced_id(prf_alg: int, sk_p: Secret, id_payload: IdPayload) -> bytes:
    """prf(SK_p, IDx') with IDx' = ID Type | the RESERVED bytes as carried | data."""
    return prf(prf_alg, sk_p.reveal(), id_payload.body)


def signed_octets(prf_alg: int, real_message: bytes, peer_nonce: bytes, sk_p: Secret,
                  id_payload: IdPayload, int_auth: bytes = b"") -> bytes:
    """RealMessage | Nonce(peer)Data | prf(SK_p, IDx') [| IntAuth] (§2.15, RFC 9242 §3.3.2).

    ``real_message`` is the last IKE_SA_INIT message this side sent, without non-ESP marker."""
    return real_message + peer_nonce + maced_id(prf_alg, sk_p, id_payload) + int_auth


def psk_auth(prf_alg: int, psk: Secret, octets: bytes) -> bytes:
    """AUTH data for method 2 (shared key MIC) and for EAP with MSK/SK_p as the secret."""
    return prf(prf_alg, prf(prf_alg, psk.reveal(), KEY_PAD), octets)


def int_auth_a_p(message: Message) -> bytes:
    """IntAuth_[i|r]n_A | IntAuth_[i|r]n_P of one IKE_INTERMEDIATE message (RFC 9242 §3.3.2).

    A = IKE header (Next Payload = SK, Length = 28 + 4 + len(P)) | SK header (Next Payload =
    first inner payload, flags 0, Length = 4 + len(P)); P = the inner payloads in plaintext
    (no IV, padding, Pad Length or ICV). Works for received (decrypted) and outgoing messages.
    """
    plain = encode_payload_chain(message.encrypted)
    sk_len = GENERIC_HEADER_LEN + len(plain)
    sk_header = bytes([first_type(message.encrypted), 0]) + sk_len.to_bytes(2, "big")
    return pack_header(message.header, PayloadType.SK, HEADER_LEN + sk_len) + sk_header + plain


def int_auth_step(prf_alg: int, sk_p: Secret, previous: bytes, a_p: bytes) -> bytes:
    """IntAuth_n = prf(SK_p(n-1), IntAuth_(n-1) | A | P); ``previous`` is b"" for n = 1."""
    return prf(prf_alg, sk_p.reveal(), previous + a_p)


@dataclass(frozen=True, slots=True)
class IntAuth:
    """The two running IntAuth chains: ``i`` over requests, ``r`` over responses."""

    i: bytes = b""
    r: bytes = b""

    def add(self, prf_alg: int, sk_p: Secret, message: Message) -> IntAuth:
        """Fold one IKE_INTERMEDIATE message in, keyed with the SK_pi (requests) or SK_pr
        (responses) that protected it (keys n-1)."""
        value = int_auth_step(prf_alg, sk_p, self.i if message.is_request else self.r,
                              int_auth_a_p(message))
        if message.is_request:
            return IntAuth(value, self.r)
        return IntAuth(self.i, value)

    @property
    def used(self) -> bool:
        return bool(self.i)

    def octets(self, ike_auth_mid: int) -> bytes:
        """IntAuth_iN | IntAuth_rN | IKE_AUTH_MID (4 bytes); b"" if no IKE_INTERMEDIATE ran."""
        if not self.used:
            return b""
        return self.i + self.r + ike_auth_mid.to_bytes(4, "big")
