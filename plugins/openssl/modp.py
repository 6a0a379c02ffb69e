"""MODP Diffie-Hellman (RFC 3526 groups 14-18) on ``cryptography``'s OpenSSL DH."""

from __future__ import annotations

import warnings

from cryptography.hazmat.primitives.asymmetric import dh
from vicid_plugins._modp import ModpGroup

from vicid.ke import DhKeyExchange, InvalidKeData

OPENSSL_MODP = (14, 15, 16, 17, 18)




class OpensslModp(DhKeyExchange):
    """g^x mod p via OpenSSL. With ``dh_exponent_ansi_x9_42`` (the default) or a seed we pick
    x ourselves, by the same rule as the ``dh`` plugin, and let OpenSSL compute g^x (as an
    exchange with peer g); otherwise OpenSSL picks its own short exponent."""

    def __init__(self, group: ModpGroup, full_exponent: bool, seed: bytes | None = None) -> None:
        super().__init__(group.method)
        self._group = group
        self.value_size = group.size
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self._numbers = dh.DHParameterNumbers(group.p, group.g)
            if seed is None and not full_exponent:
                self._key = self._numbers.parameters().generate_private_key()
                self._y = self._key.public_key().public_numbers().y
            else:
                x = group.private_exponent(full_exponent, seed)
                # y is not known yet; g itself is a valid stand-in to compute g^x with.
                tmp = dh.DHPrivateNumbers(x, dh.DHPublicNumbers(group.g, self._numbers)).private_key()
                self._y = int.from_bytes(tmp.exchange(self._peer(group.g)), "big")
                self._key = dh.DHPrivateNumbers(x, dh.DHPublicNumbers(self._y, self._numbers)).private_key()

    def _peer(self, y: int) -> dh.DHPublicKey:
        return dh.DHPublicNumbers(y, self._numbers).public_key()

    def _public(self) -> bytes:
        return self._group.encode(self._y)

    def _derive(self, peer: bytes) -> bytes:
        y = int.from_bytes(peer, "big")
        self._group.check_peer(y)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                secret = self._key.exchange(self._peer(y))
            except ValueError:
                raise InvalidKeData(self.method, "OpenSSL rejected the peer value") from None
        return secret.rjust(self._group.size, b"\x00")
