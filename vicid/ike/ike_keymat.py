"""The key material of one IKE_SA (charon ``keymat_v2``): SK_* keys, SK ciphers, IVs.

Keys are derived once after IKE_SA_INIT and updated after every IKE_INTERMEDIATE key exchange
(RFC 9370 §2.2.2). IVs for 8-byte IV transforms (GCM, CCM, CTR, ChaCha20) are a counter XOR
a random per-key mask (unique, as RFC 4106 §3.1 requires, not secret); CBC IVs are random.
"""

from __future__ import annotations

from collections.abc import Sequence

from vicid.ike.crypto.cipher import SkCipher
from vicid.ike.crypto.keymat import (
    IkeKeys,
    IkeSuite,
    additional_ke_keys,
    ike_sk_ciphers,
    initial_ike_keys,
    rekeyed_ike_keys,
)
from vicid.ike.proposal import Proposal
from vicid.ike.rng import Rng
from vicid.ike.wire.enums import AEAD_ALGS, TransformType
from vicid.secrets import Secret


def suite_of(proposal: Proposal) -> IkeSuite:
    """The negotiated transforms of a selected IKE proposal."""
    encr = proposal.get_algorithm(TransformType.ENCR)
    prf = proposal.get_algorithm(TransformType.PRF)
    integ = proposal.get_algorithm(TransformType.INTEG)
    if encr is None or prf is None:
        raise ValueError("IKE proposal without ENCR or PRF")
    aead = encr.id in AEAD_ALGS
    return IkeSuite(encr.id, encr.key_length or None, prf.id,
                    None if aead or integ is None else integ.id)


class IkeKeymat:
    """SK_* of one IKE_SA in one role; ``outbound``/``inbound`` protect and open SK payloads."""

    def __init__(self, rng: Rng, initiator: bool) -> None:
        self._rng = rng
        self.initiator = initiator
        self.suite: IkeSuite | None = None
        self.keys: IkeKeys | None = None
        self.outbound: SkCipher | None = None
        self.inbound: SkCipher | None = None
        self._mask = 0
        self._counter = 0

    @property
    def ready(self) -> bool:
        return self.keys is not None

    @property
    def prf(self) -> int:
        assert self.suite is not None
        return self.suite.prf

    def _install(self, keys: IkeKeys) -> None:
        assert self.suite is not None
        self.keys = keys
        self.outbound, self.inbound = ike_sk_ciphers(self.suite, keys, self.initiator)
        self._mask = int.from_bytes(self._rng.bytes(8), "big")
        self._counter = 0

    def derive(self, proposal: Proposal, shared: Secret, ni: bytes, nr: bytes,
               spi_i: bytes, spi_r: bytes) -> None:
        """Keys (0) from IKE_SA_INIT, or keys (n) after IKE_INTERMEDIATE round n."""
        if self.keys is None:
            self.suite = suite_of(proposal)
            self._install(initial_ike_keys(self.suite, shared, ni, nr, spi_i, spi_r))
        else:
            assert self.suite is not None
            self._install(additional_ke_keys(self.suite, self.keys, shared, ni, nr, spi_i, spi_r))

    def derive_rekeyed(self, proposal: Proposal, old: IkeKeymat, secrets: Sequence[Secret], ni: bytes,
                       nr: bytes, spi_i: bytes, spi_r: bytes) -> None:
        """Keys of an IKE_SA that replaces ``old`` (RFC 7296 §2.18, RFC 9370 §2.2.4), derived
        once after the last key exchange of the rekeying."""
        assert old.keys is not None
        self.suite = suite_of(proposal)
        self._install(rekeyed_ike_keys(self.suite, old.keys, secrets, ni, nr, spi_i, spi_r))

    def next_iv(self, _fragment: int = 0) -> bytes:
        """A fresh IV for one SK/SKF payload of the outbound cipher."""
        assert self.outbound is not None
        size = self.outbound.iv_size
        if size != 8:
            return self._rng.bytes(size)
        self._counter += 1
        return (self._counter ^ self._mask).to_bytes(8, "big")

    @property
    def sk_p_mine(self) -> Secret:
        assert self.keys is not None
        return self.keys.sk_pi if self.initiator else self.keys.sk_pr

    @property
    def sk_p_other(self) -> Secret:
        assert self.keys is not None
        return self.keys.sk_pr if self.initiator else self.keys.sk_pi

    @property
    def sk_d(self) -> Secret:
        assert self.keys is not None
        return self.keys.sk_d
