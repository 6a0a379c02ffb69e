"""SK payload protection primitives (RFC 7296 §3.14, RFC 5282 for AEAD in IKEv2).

``SkCipher.seal(aad, iv, padded_plaintext) -> ciphertext | ICV`` and ``open`` are the only
operations the wire layer needs. AEAD: nonce = salt | IV (8-byte explicit IV), AAD = IKE
header .. SK header. Classic: ICV = truncated MAC(SK_a, AAD | IV | ciphertext).
"""

from __future__ import annotations

import hmac as _hmac
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESCCM, AESGCM, ChaCha20Poly1305

from vicid.ike.crypto.mac import mac
from vicid.ike.crypto.transforms import EncrInfo, IntegInfo, Mode, encr_info, integ_info
from vicid.ike.wire.buffer import DecodeError
from vicid.secrets import Secret


class IntegrityError(DecodeError):
    """ICV/tag verification failed: drop the packet (reason ``bad_icv``)."""


@dataclass(frozen=True, slots=True, repr=False)
class SkCipher:
    """One direction's SK protection: an encryption transform plus, unless AEAD, an INTEG one."""

    encr: EncrInfo
    key: Secret  # cipher key followed by the salt (RFC 7296 §2.14: salt = last bytes)
    integ: IntegInfo | None = None
    integ_key: Secret | None = None

    def __repr__(self) -> str:
        return f"SkCipher({self.encr.alg.name}, {self.integ.alg.name if self.integ else 'aead'})"

    @property
    def iv_size(self) -> int:
        return self.encr.iv_size

    @property
    def icv_size(self) -> int:
        return self.encr.icv_size if self.encr.is_aead else self.integ.icv_size  # type: ignore[union-attr]

    @property
    def block_size(self) -> int:
        return self.encr.block_size

    def _split_key(self) -> tuple[bytes, bytes]:
        raw = self.key.reveal()
        cut = len(raw) - self.encr.salt_size
        return raw[:cut], raw[cut:]

    def seal(self, aad: bytes, iv: bytes, plaintext: bytes) -> bytes:
        """Encrypt padded plaintext; returns ciphertext followed by the ICV."""
        if len(iv) != self.iv_size:
            raise ValueError(f"IV must be {self.iv_size} bytes")
        if self.encr.is_aead:
            return _aead_seal(self.encr, *self._split_key(), iv, plaintext, aad)
        ct = _classic_crypt(self.encr, *self._split_key(), iv, plaintext, encrypt=True)
        return ct + self._icv(aad + iv + ct)

    def open(self, aad: bytes, iv: bytes, ct_icv: bytes) -> bytes:
        """Verify and decrypt; raises ``IntegrityError`` (a ``DecodeError``) on a bad ICV."""
        icv_len = self.icv_size
        if len(ct_icv) < icv_len or (len(ct_icv) - icv_len) % self.block_size:
            raise DecodeError("encrypted data not a multiple of the block size")
        if self.encr.is_aead:
            return _aead_open(self.encr, *self._split_key(), iv, ct_icv, aad)
        ct, icv = ct_icv[:-icv_len], ct_icv[-icv_len:]
        if not _hmac.compare_digest(icv, self._icv(aad + iv + ct)):
            raise IntegrityError("ICV mismatch")
        return _classic_crypt(self.encr, *self._split_key(), iv, ct, encrypt=False)

    def _icv(self, data: bytes) -> bytes:
        assert self.integ is not None and self.integ_key is not None
        return mac(self.integ.mac, self.integ_key.reveal(), data)[:self.integ.icv_size]


def _classic_crypt(encr: EncrInfo, key: bytes, salt: bytes, iv: bytes, data: bytes,
                   *, encrypt: bool) -> bytes:
    if encr.mode is Mode.CBC:
        mode: modes.Mode = modes.CBC(iv)
    elif encr.mode is Mode.CTR:  # RFC 5930 / RFC 3686 §4: nonce | IV | counter starting at 1
        mode = modes.CTR(salt + iv + b"\x00\x00\x00\x01")
    else:
        raise ValueError(f"{encr.alg.name} is not usable for IKE")
    ctx = Cipher(algorithms.AES(key), mode)
    op = ctx.encryptor() if encrypt else ctx.decryptor()
    return op.update(data) + op.finalize()


def _aead_seal(encr: EncrInfo, key: bytes, salt: bytes, iv: bytes, data: bytes, aad: bytes) -> bytes:
    nonce = salt + iv
    if encr.mode is Mode.GCM and encr.icv_size == 16:  # the full tag: one call
        return AESGCM(key).encrypt(nonce, data, aad)
    if encr.mode is Mode.GCM:  # truncated tags are the leading bytes of the full tag
        enc = Cipher(algorithms.AES(key), modes.GCM(nonce)).encryptor()
        enc.authenticate_additional_data(aad)
        ct = enc.update(data) + enc.finalize()
        return ct + enc.tag[:encr.icv_size]
    if encr.mode is Mode.CCM:
        return AESCCM(key, tag_length=encr.icv_size).encrypt(nonce, data, aad)
    if encr.mode is Mode.CHACHA20_POLY1305:
        return ChaCha20Poly1305(key).encrypt(nonce, data, aad)
    raise ValueError(f"{encr.alg.name} is not usable for IKE")


def _aead_open(encr: EncrInfo, key: bytes, salt: bytes, iv: bytes, data: bytes, aad: bytes) -> bytes:
    nonce = salt + iv
    try:
        if encr.mode is Mode.GCM and encr.icv_size == 16:
            return AESGCM(key).decrypt(nonce, data, aad)
        if encr.mode is Mode.GCM:
            ct, tag = data[:-encr.icv_size], data[-encr.icv_size:]
            dec = Cipher(algorithms.AES(key), modes.GCM(nonce, tag, min_tag_length=len(tag))).decryptor()
            dec.authenticate_additional_data(aad)
            return dec.update(ct) + dec.finalize()
        if encr.mode is Mode.CCM:
            return AESCCM(key, tag_length=encr.icv_size).decrypt(nonce, data, aad)
        if encr.mode is Mode.CHACHA20_POLY1305:
            return ChaCha20Poly1305(key).decrypt(nonce, data, aad)
    except InvalidTag:
        raise IntegrityError("AEAD tag mismatch") from None
    raise ValueError(f"{encr.alg.name} is not usable for IKE")


def make_sk_cipher(encr: int, key: Secret, integ: int | None = None,
                   integ_key: Secret | None = None) -> SkCipher:
    """Build one direction's cipher from transform IDs and keys (SK_e[i|r], SK_a[i|r])."""
    info = encr_info(encr)
    if info.is_aead:
        return SkCipher(info, key)
    if integ is None or integ_key is None:
        raise ValueError(f"{info.alg.name} needs an integrity algorithm")
    return SkCipher(info, key, integ_info(integ), integ_key)
