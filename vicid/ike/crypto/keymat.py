"""IKE and CHILD SA key material: the SK_* split (RFC 7296 §2.14) and KEYMAT (§2.17)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from vicid.ike.crypto import prf as kdf
from vicid.ike.crypto.cipher import SkCipher, make_sk_cipher
from vicid.ike.crypto.transforms import encr_info, integ_info, prf_info
from vicid.secrets import Secret


@dataclass(frozen=True, slots=True)
class IkeSuite:
    """The negotiated IKE SA transforms (integ is None for AEAD ciphers)."""

    encr: int
    encr_key_bits: int | None
    prf: int
    integ: int | None = None


@dataclass(frozen=True, slots=True)
class ChildSuite:
    """The negotiated ESP/AH transforms (encr None for AH, integ None for AEAD)."""

    encr: int | None
    encr_key_bits: int | None
    integ: int | None = None


@dataclass(frozen=True, slots=True, repr=True)
class IkeKeys:
    """SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr, all ``Secret`` (repr is safe)."""

    prf: int
    sk_d: Secret
    sk_ai: Secret
    sk_ar: Secret
    sk_ei: Secret
    sk_er: Secret
    sk_pi: Secret
    sk_pr: Secret


@dataclass(frozen=True, slots=True)
class ChildKeys:
    """KEYMAT split: encr_i | integ_i | encr_r | integ_r (i = initiator-to-responder)."""

    encr_i: Secret
    integ_i: Secret
    encr_r: Secret
    integ_r: Secret


def ike_key_sizes(suite: IkeSuite) -> tuple[int, int, int]:
    """(SK_d/SK_p size, SK_a size, SK_e size) in bytes for ``suite``."""
    encr = encr_info(suite.encr)
    integ = 0 if encr.is_aead or suite.integ is None else integ_info(suite.integ).key_size
    return prf_info(suite.prf).key_size, integ, encr.key_size(suite.encr_key_bits)


def _split(data: bytes, sizes: Sequence[int]) -> list[Secret]:
    out, pos = [], 0
    for size in sizes:
        out.append(Secret(data[pos:pos + size]))
        pos += size
    return out


def expand_ike_keys(suite: IkeSuite, seed_key: Secret, ni: bytes, nr: bytes,
                    spi_i: bytes, spi_r: bytes, prf_plus_alg: int | None = None) -> IkeKeys:
    """{SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr} = prf+(SKEYSEED, Ni|Nr|SPIi|SPIr).

    ``prf_plus_alg`` overrides the expanding PRF: charon uses the *old* SA's PRF on rekey
    (ikev2-facts §13.1); sizes always follow ``suite``.
    """
    p, a, e = ike_key_sizes(suite)
    sizes = (p, a, a, e, e, p, p)
    stream = kdf.prf_plus(prf_plus_alg or suite.prf, seed_key.reveal(),
                          ni + nr + spi_i + spi_r, sum(sizes))
    return IkeKeys(suite.prf, *_split(stream, sizes))


def initial_ike_keys(suite: IkeSuite, shared: Secret, ni: bytes, nr: bytes,
                     spi_i: bytes, spi_r: bytes) -> IkeKeys:
    """Keys of a new IKE SA from the IKE_SA_INIT KE (RFC 7296 §2.14)."""
    seed = kdf.skeyseed(suite.prf, shared, ni, nr)
    return expand_ike_keys(suite, seed, ni, nr, spi_i, spi_r)


def additional_ke_keys(suite: IkeSuite, keys: IkeKeys, shared: Secret, ni: bytes, nr: bytes,
                       spi_i: bytes, spi_r: bytes) -> IkeKeys:
    """Keys (n) after IKE_INTERMEDIATE round n (RFC 9370 §2.2.2)."""
    seed = kdf.skeyseed_additional(suite.prf, keys.sk_d, shared, ni, nr)
    return expand_ike_keys(suite, seed, ni, nr, spi_i, spi_r)


def rekeyed_ike_keys(suite: IkeSuite, old: IkeKeys, secrets: Sequence[Secret], ni: bytes,
                     nr: bytes, spi_i: bytes, spi_r: bytes) -> IkeKeys:
    """Keys of the new IKE SA after a rekey (RFC 7296 §2.18, RFC 9370 §2.2.4).

    ``secrets`` = SK(0) of CREATE_CHILD_SA, then those of each IKE_FOLLOWUP_KE in order;
    ``spi_i``/``spi_r`` are the new SPIs. Both prf and prf+ use the old PRF, as charon does.
    """
    seed = kdf.skeyseed_rekey(old.prf, old.sk_d, secrets, ni, nr)
    return expand_ike_keys(suite, seed, ni, nr, spi_i, spi_r, prf_plus_alg=old.prf)


def child_key_sizes(suite: ChildSuite) -> tuple[int, int]:
    """(encryption key incl. salt, integrity key) sizes in bytes."""
    encr = 0 if suite.encr is None else encr_info(suite.encr).key_size(suite.encr_key_bits)
    integ = 0 if suite.integ is None else integ_info(suite.integ).key_size
    return encr, integ


def derive_child_keys(suite: ChildSuite, prf_alg: int, sk_d: Secret, ni: bytes, nr: bytes,
                      secrets: Sequence[Secret] = ()) -> ChildKeys:
    """KEYMAT = prf+(SK_d, [SK(0) |] Ni | Nr [| SK(1) | ... | SK(n)]) (§2.17, RFC 9370 §2.2.4).

    Pass no secrets for the CHILD_SA of IKE_AUTH or a CREATE_CHILD_SA without KE."""
    e, a = child_key_sizes(suite)
    head = secrets[0].reveal() if secrets else b""
    tail = b"".join(s.reveal() for s in secrets[1:])
    stream = kdf.prf_plus(prf_alg, sk_d.reveal(), head + ni + nr + tail, 2 * (e + a))
    return ChildKeys(*_split(stream, (e, a, e, a)))


def ike_sk_ciphers(suite: IkeSuite, keys: IkeKeys, initiator: bool) -> tuple[SkCipher, SkCipher]:
    """(outbound, inbound) SK ciphers: the initiator sends with SK_ei/SK_ai (§2.14)."""
    i_cipher = make_sk_cipher(suite.encr, keys.sk_ei, suite.integ, keys.sk_ai)
    r_cipher = make_sk_cipher(suite.encr, keys.sk_er, suite.integ, keys.sk_ar)
    return (i_cipher, r_cipher) if initiator else (r_cipher, i_cipher)
