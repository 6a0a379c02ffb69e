"""prf, prf+ and SKEYSEED derivation (RFC 7296 §2.13/§2.14/§2.18, RFC 9370 §2.2).

``prf``/``prf_plus`` work on raw bytes for the callers in this package; everything that
produces key material returns ``Secret``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from vicid.ike.crypto.mac import keyed_mac, mac_function
from vicid.ike.crypto.transforms import prf_info
from vicid.secrets import Secret

MAX_PRF_PLUS_BLOCKS = 255  # RFC 7296 §2.13: the counter is a single octet


def prf(alg: int, key: bytes, data: bytes) -> bytes:
    """prf(K, S) of the negotiated PRF transform."""
    fn = _PRF_FUNCTIONS.get(alg)
    if fn is None:
        fn = _PRF_FUNCTIONS[alg] = mac_function(prf_info(alg).mac)
    return fn(key, data)


# PRF ID -> mac(kind, ...) for its kind: a dozen prf() calls per handshake skip two lookups
_PRF_FUNCTIONS: dict[int, Callable[[bytes, bytes], bytes]] = {}


def prf_plus(alg: int, key: bytes, seed: bytes, length: int) -> bytes:
    """prf+(K, S) = T1 | T2 | ... with Tn = prf(K, T(n-1) | S | n) (RFC 7296 §2.13)."""
    out = bytearray()
    block = b""
    counter = 1
    keyed = keyed_mac(prf_info(alg).mac, key)  # one key for every block
    while len(out) < length:
        if counter > MAX_PRF_PLUS_BLOCKS:
            raise ValueError(f"prf+ cannot produce {length} bytes (255 blocks max)")
        block = keyed(block + seed + bytes([counter]))
        out += block
        counter += 1
    return bytes(out[:length])


def _nonce_key(alg: int, ni: bytes, nr: bytes) -> bytes:
    """Ni | Nr as the SKEYSEED key; fixed-key PRFs take half their key from each nonce.

    RFC 7296 §2.14: "...only the first 64 bits of Ni and the first 64 bits of Nr are used"
    for PRFs with a fixed-length key (AES-XCBC, AES-CMAC); charon does the same.
    """
    info = prf_info(alg)
    if info.fixed_key:
        half = info.key_size // 2
        return ni[:half] + nr[:half]
    return ni + nr


def skeyseed(alg: int, shared: Secret, ni: bytes, nr: bytes) -> Secret:
    """SKEYSEED = prf(Ni | Nr, g^ir) for a new IKE SA (RFC 7296 §2.14)."""
    return Secret(prf(alg, _nonce_key(alg, ni, nr), shared.reveal()))


def skeyseed_rekey(alg: int, sk_d: Secret, secrets: Sequence[Secret], ni: bytes, nr: bytes) -> Secret:
    """SKEYSEED = prf(SK_d (old), SK(0) | Ni | Nr | SK(1) | ... | SK(n)).

    RFC 7296 §2.18 with the RFC 9370 §2.2.4 extension for additional key exchanges; ``alg``
    is the PRF of the old IKE SA. Nonces are used in full here.
    """
    if not secrets:
        raise ValueError("an IKE SA rekey needs at least one KE secret")
    data = secrets[0].reveal() + ni + nr + b"".join(s.reveal() for s in secrets[1:])
    return Secret(prf(alg, sk_d.reveal(), data))


def skeyseed_additional(alg: int, sk_d: Secret, secret: Secret, ni: bytes, nr: bytes) -> Secret:
    """SKEYSEED(n) = prf(SK_d(n-1), SK(n) | Ni | Nr) after IKE_INTERMEDIATE round n
    (RFC 9370 §2.2.2); Ni/Nr are the IKE_SA_INIT nonces."""
    return skeyseed_rekey(alg, sk_d, (secret,), ni, nr)
