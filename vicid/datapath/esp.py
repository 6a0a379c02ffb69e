"""ESP encapsulation and decapsulation (RFC 4303) as pure functions.

      0                   1                   2                   3
      0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
     +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
     |               Security Parameters Index (SPI)                 |
     +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
     |                      Sequence Number                          |
     +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
     |                    IV (per transform)                         |
     +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
     ~         Payload Data, Padding (0-255), Pad Length, Next Header ~  encrypted
     +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
     |         Integrity Check Value (ICV, variable)                 |
     +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+

Transforms: AES-GCM with 8/12/16-byte ICVs (RFC 4106), AES-CCM (RFC 4309), ChaCha20-Poly1305
(RFC 7634), AES-GMAC (RFC 4543), AES-CBC (RFC 3602) and AES-CTR (RFC 3686) or NULL with
HMAC-SHA2-256/384/512 (RFC 4868), HMAC-SHA1-96 (RFC 2404) or HMAC-MD5-96. With extended sequence
numbers the high 32 bits are never sent but authenticated: in the AAD of AEAD transforms
(RFC 4106 §5), appended to the ICV input otherwise (RFC 4303 §3.3.2.1).

No randomness and no clock here: callers pass the IV (:meth:`EspCrypto.counter_iv` suits the
counter-mode transforms, CBC needs unpredictable bytes from the caller's RNG). ``decap`` reads
untrusted bytes; it raises only :class:`EspError`, whose ``reason`` is the drop counter to bump.
"""

from __future__ import annotations

import hmac
import struct
from typing import NamedTuple

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESCCM, AESGCM, ChaCha20Poly1305

from vicid.ike.crypto.transforms import EncrInfo, IntegInfo, Mode, encr_info, integ_info
from vicid.ike.effects import SaKeys
from vicid.ike.wire.enums import IntegAlg
from vicid.secrets import Secret

HEADER = struct.Struct("!II")  # SPI, sequence number (low 32 bits)
_HASHES = {"hmac-sha1": "sha1", "hmac-sha256": "sha256", "hmac-sha384": "sha384",
           "hmac-sha512": "sha512", "hmac-md5": "md5"}
IPPROTO_NONE = 59  # RFC 4303 §2.6: dummy packet for traffic flow confidentiality
PADDING = tuple(bytes(range(1, n + 1)) for n in range(256))  # RFC 4303 §2.4: 1, 2, 3, ...
_TRAILERS: dict[int, bytes] = {}  # pad length << 8 | next header -> padding, pad length, next header


class EspError(Exception):
    """An ESP packet (or SA setup) that must be dropped; ``reason`` names the drop counter."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


class EspPayload(NamedTuple):
    """What decryption yields: the inner packet (tunnel) or upper-layer data (transport).

    A named tuple: one is made for every packet received."""

    next_header: int
    data: bytes
    seq: int
    pad_length: int


def decode_header(packet: bytes) -> tuple[int, int]:
    """(SPI, 32-bit sequence number) of an ESP packet; the SPI routes it to an SA."""
    if len(packet) < HEADER.size:
        raise EspError("malformed", "shorter than the ESP header")
    return HEADER.unpack_from(packet)


class EspCrypto:
    """The negotiated transform of one SA direction with its keys, ready to seal and open."""

    def __init__(self, keys: SaKeys) -> None:
        try:
            self.encr: EncrInfo = encr_info(keys.encr_alg)
        except ValueError as exc:
            raise EspError("unsupported", str(exc)) from None
        self.esn = keys.esn
        key = keys.encr_key.reveal()
        salt = self.encr.salt_size
        cipher_key, self._salt = (key[:-salt], key[-salt:]) if salt else (key, b"")
        if self.encr.key_bits and len(cipher_key) * 8 not in self.encr.key_bits:
            raise EspError("unsupported", f"{self.encr.alg.name} has no {len(cipher_key) * 8}-bit key")
        self.integ: IntegInfo | None = None
        self._integ_key: Secret | None = None
        if self.encr.is_aead:
            if keys.integ_alg not in (0, IntegAlg.NONE):
                raise EspError("unsupported", "an AEAD transform takes no integrity algorithm")
            self.icv_size = self.encr.icv_size
        else:
            self._set_integ(keys)
        self.iv_size = self.encr.iv_size
        # RFC 4303 §2.4: the ciphertext ends on a 4-byte boundary, CBC on its block size
        self.pad_block = max(4, self.encr.block_size)
        self._aead = self._make_aead(cipher_key)
        # AEAD with the ciphertext and ICV in one piece (not GMAC): the per-packet fast path
        self.plain_aead = self._aead is not None and self.encr.mode != Mode.GMAC
        self._cipher_key = Secret(cipher_key)  # CBC/CTR build a Cipher per packet

    def _set_integ(self, keys: SaKeys) -> None:
        try:
            self.integ = integ_info(keys.integ_alg)
        except ValueError as exc:
            raise EspError("unsupported", str(exc)) from None
        if self.integ.mac not in _HASHES:
            raise EspError("unsupported", f"{self.integ.alg.name} is not available for ESP")
        if keys.integ_key is None or len(keys.integ_key) != self.integ.key_size:
            raise EspError("unsupported", f"{self.integ.alg.name} needs a {self.integ.key_size}-byte key")
        self._integ_key = keys.integ_key
        self.icv_size = self.integ.icv_size

    def _make_aead(self, key: bytes) -> AESGCM | AESCCM | ChaCha20Poly1305 | None:
        mode = self.encr.mode
        if mode in (Mode.GCM, Mode.GMAC):
            return AESGCM(key)
        if mode == Mode.CCM:
            return AESCCM(key, tag_length=self.encr.icv_size)
        if mode == Mode.CHACHA20_POLY1305:
            return ChaCha20Poly1305(key)
        if mode in (Mode.CBC, Mode.CTR, Mode.NULL):
            return None
        raise EspError("unsupported", f"{self.encr.alg.name} is not available for ESP")

    def __repr__(self) -> str:
        integ = self.integ.alg.name if self.integ else "AEAD"
        return f"<EspCrypto {self.encr.alg.name}/{integ} esn={self.esn}>"

    # --- helpers --------------------------------------------------------------------------------
    def counter_iv(self, seq: int, mask: int = 0) -> bytes:
        """A per-packet IV for counter-based transforms: unique as long as SEQ is (RFC 4106 §3.1)."""
        return ((seq ^ mask) & (1 << (8 * self.iv_size)) - 1).to_bytes(self.iv_size, "big")

    @property
    def needs_random_iv(self) -> bool:
        return self.encr.mode == Mode.CBC

    def _aad(self, spi: int, seq: int) -> bytes:
        if self.esn:
            return struct.pack("!III", spi, seq >> 32, seq & 0xFFFFFFFF)
        return HEADER.pack(spi, seq & 0xFFFFFFFF)

    def _mac(self, data: bytes, seq: int) -> bytes:
        if self.esn:
            data += struct.pack("!I", seq >> 32)
        return hmac.digest(self._integ_key.reveal(), data, _HASHES[self.integ.mac])[:self.icv_size]

    def _stream(self, iv: bytes) -> Cipher:
        key = algorithms.AES(self._cipher_key.reveal())
        if self.encr.mode == Mode.CBC:
            return Cipher(key, modes.CBC(iv))
        # RFC 3686 §4: nonce (salt) | IV | 32-bit block counter starting at 1
        return Cipher(key, modes.CTR(self._salt + iv + b"\0\0\0\x01"))

    # --- seal / open ----------------------------------------------------------------------------
    def seal(self, spi: int, seq: int, iv: bytes, plaintext: bytes) -> bytes:
        """IV | ciphertext | ICV for PLAINTEXT (payload, padding, pad length, next header)."""
        header = HEADER.pack(spi, seq & 0xFFFFFFFF)
        mode = self.encr.mode
        if mode == Mode.GMAC:
            tag = self._aead.encrypt(self._salt + iv, b"", self._aad(spi, seq) + iv + plaintext)
            return iv + plaintext + tag
        if self._aead is not None:
            return iv + self._aead.encrypt(self._salt + iv, plaintext, self._aad(spi, seq))
        if mode == Mode.NULL:
            body = plaintext
        else:
            enc = self._stream(iv).encryptor()
            body = enc.update(plaintext) + enc.finalize()
        return iv + body + self._mac(header + iv + body, seq)

    def open(self, packet: bytes, seq: int) -> bytes:
        """The decrypted plaintext of a whole ESP PACKET whose full sequence number is SEQ."""
        spi = HEADER.unpack_from(packet)[0]
        iv_end = HEADER.size + self.iv_size
        iv, body, icv = packet[HEADER.size:iv_end], packet[iv_end:-self.icv_size], packet[-self.icv_size:]
        mode = self.encr.mode
        try:
            if mode == Mode.GMAC:
                self._aead.decrypt(self._salt + iv, icv, self._aad(spi, seq) + iv + body)
                return body
            if self._aead is not None:  # ciphertext and ICV are contiguous: no copy
                return self._aead.decrypt(self._salt + iv, memoryview(packet)[iv_end:], self._aad(spi, seq))
        except InvalidTag:
            raise EspError("auth", "ICV mismatch") from None
        if not hmac.compare_digest(self._mac(packet[:-self.icv_size], seq), icv):
            raise EspError("auth", "ICV mismatch")
        if mode == Mode.NULL:
            return body
        dec = self._stream(iv).decryptor()
        return dec.update(body) + dec.finalize()


def padding_length(crypto: EspCrypto, payload_length: int, tfc_pad: int = 0) -> int:
    """Self-describing padding so payload + padding + 2 fills whole blocks (RFC 4303 §2.4)."""
    return (-(payload_length + tfc_pad + 2)) % crypto.pad_block


def encap(crypto: EspCrypto, spi: int, seq: int, payload: bytes, next_header: int, iv: bytes) -> bytes:
    """A complete ESP packet carrying PAYLOAD as sequence number SEQ (64-bit with ESN)."""
    if len(iv) != crypto.iv_size:
        raise ValueError(f"IV must be {crypto.iv_size} bytes")
    pad = (-(len(payload) + 2)) % crypto.pad_block  # padding_length() without TFC padding
    key = pad << 8 | next_header
    trailer = _TRAILERS.get(key)
    if trailer is None:
        trailer = _TRAILERS[key] = PADDING[pad] + bytes((pad, next_header))
    if crypto.plain_aead:  # header, IV and AEAD output straight into one buffer
        header = HEADER.pack(spi, seq & 0xFFFFFFFF)
        aad = crypto._aad(spi, seq) if crypto.esn else header
        return b"".join((header, iv, crypto._aead.encrypt(crypto._salt + iv, payload + trailer, aad)))
    return HEADER.pack(spi, seq & 0xFFFFFFFF) + crypto.seal(spi, seq, iv, payload + trailer)


def decap(crypto: EspCrypto, packet: bytes, seq: int) -> EspPayload:
    """Verify and decrypt an ESP packet; SEQ is its full (ESN-inferred) sequence number.

    Raises EspError("malformed" | "auth" | "padding"). Check replay before, mark it after.
    """
    overhead = HEADER.size + crypto.iv_size + crypto.icv_size
    body_length = len(packet) - overhead
    if body_length < 2:
        raise EspError("malformed", "too short for this SA's transform")
    if crypto.encr.mode == Mode.CBC and body_length % crypto.encr.block_size:
        raise EspError("malformed", "ciphertext is not a whole number of blocks")
    if crypto.plain_aead:  # the header on the wire is the AAD unless ESN adds the high half
        iv_end = HEADER.size + crypto.iv_size
        aad = crypto._aad(HEADER.unpack_from(packet)[0], seq) if crypto.esn else packet[: HEADER.size]
        try:
            plaintext = crypto._aead.decrypt(crypto._salt + packet[HEADER.size : iv_end],
                                             memoryview(packet)[iv_end:], aad)
        except InvalidTag:
            raise EspError("auth", "ICV mismatch") from None
    else:
        plaintext = crypto.open(packet, seq)
    pad, next_header = plaintext[-2], plaintext[-1]
    if pad > len(plaintext) - 2:
        raise EspError("padding", "pad length exceeds the payload")
    data_end = len(plaintext) - 2 - pad
    if plaintext[data_end:-2] != PADDING[pad]:
        raise EspError("padding", "padding bytes are not 1, 2, 3, ...")
    return EspPayload(next_header, plaintext[:data_end], seq, pad)
