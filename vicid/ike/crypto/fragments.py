"""IKE message fragmentation (RFC 7383) as charon does it, and a bounded reassembler.

``fragment()`` sizes fragments so each whole IP datagram stays within ``fragment_size``
(charon's ``charon.fragment_size``, default 1280): it subtracts the IP header (20/40), UDP
(8), the non-ESP marker (4, on port 4500), the IKE header (28), the SKF header (8), IV and
ICV, rounds down to the cipher block size and keeps one byte for Pad Length. The inner
payloads are then cut into chunks of that size, the last one shorter (message.c fragment()).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from vicid.ike.crypto.cipher import SkCipher
from vicid.ike.crypto.sk import SKF_HEADER_LEN, decode_inner, padded_len, protect, protect_fragment
from vicid.ike.wire.buffer import DecodeError
from vicid.ike.wire.enums import PayloadType
from vicid.ike.wire.header import HEADER_LEN
from vicid.ike.wire.message import Message, encode_payload_chain, first_type
from vicid.ike.wire.payloads import GENERIC_HEADER_LEN, Payload, SkfPayload

MAX_FRAGMENTS = 255  # charon MAX_FRAGMENTS
MAX_PACKET = 10000  # charon.max_packet default
DEFAULT_FRAGMENT_SIZE = 1280

IvSource = Callable[[int], bytes]
"""Returns the IV for fragment number n (0 = unfragmented SK); must never repeat per key."""


def _reduce(length: int, amount: int) -> int:
    return max(1, length - amount)  # charon REDUCE_FRAG_LEN keeps it positive


def _ip_budget(fragment_size: int, ipv6: bool, non_esp_marker: bool) -> int:
    budget = _reduce(fragment_size, 40 if ipv6 else 20)
    budget = _reduce(budget, 8)
    return _reduce(budget, 4) if non_esp_marker else budget


def _chunk_size(budget: int, cipher: SkCipher) -> int:
    size = _reduce(budget, HEADER_LEN)
    size = _reduce(size, cipher.iv_size)
    size = _reduce(size, cipher.icv_size)
    size = _reduce(size, SKF_HEADER_LEN)
    size -= size % cipher.block_size
    return _reduce(size, 1)


def _whole_length(message: Message, plain: bytes, cipher: SkCipher) -> int:
    clear = encode_payload_chain(message.payloads, last_next=PayloadType.SK)
    sealed = cipher.iv_size + padded_len(len(plain), cipher.block_size) + cipher.icv_size
    return HEADER_LEN + len(clear) + GENERIC_HEADER_LEN + sealed


def whole_length(message: Message, cipher: SkCipher) -> int:
    """Length of ``message`` protected as one SK payload (what charon logs when splitting)."""
    return _whole_length(message, encode_payload_chain(message.encrypted), cipher)


def fragment(message: Message, cipher: SkCipher, ivs: IvSource, *,
             fragment_size: int = DEFAULT_FRAGMENT_SIZE, ipv6: bool = False,
             non_esp_marker: bool = False) -> list[bytes]:
    """Protect ``message`` as one SK payload, or as SKF fragments if it is too large.

    ``non_esp_marker``: the datagram goes to/from a port other than 500 (UDP 4500)."""
    plain = encode_payload_chain(message.encrypted)
    budget = _ip_budget(fragment_size, ipv6, non_esp_marker)
    if _whole_length(message, plain, cipher) <= budget:
        return [protect(message, cipher, ivs(0), plain)]
    size = _chunk_size(budget, cipher)
    chunks = [plain[i:i + size] for i in range(0, len(plain), size)]
    if len(chunks) > MAX_FRAGMENTS:
        raise ValueError(f"message needs {len(chunks)} fragments (max {MAX_FRAGMENTS})")
    return [protect_fragment(message, n, len(chunks), chunk, cipher, ivs(n))
            for n, chunk in enumerate(chunks, start=1)]


class Reassembler:
    """Collects verified SKF plaintext chunks of one message (RFC 7383 §2.6).

    Feed each fragment after ``sk.open_fragment`` succeeded. A larger Total Fragments
    restarts reassembly, a smaller one is dropped; duplicates are ignored. Exceeding
    ``max_fragments`` or ``max_size`` resets the state and raises ``DecodeError``.
    """

    def __init__(self, message_id: int, max_fragments: int = MAX_FRAGMENTS,
                 max_size: int = MAX_PACKET) -> None:
        self.message_id = message_id
        self.max_fragments = max_fragments
        self.max_size = max_size
        self._reset(0)

    def _reset(self, total: int) -> None:
        self.total = total
        self._chunks: dict[int, bytes] = {}
        self._size = 0
        self._first_inner = PayloadType.NONE
        self._clear: tuple[Payload, ...] = ()

    @property
    def size(self) -> int:
        """Plaintext bytes collected so far."""
        return self._size

    def add(self, message: Message, chunk: bytes) -> Message | None:
        """Add one fragment; returns the reassembled, decoded message once complete.

        Raises ``DecodeError`` (limits, malformed inner payloads) or
        ``UnsupportedCriticalPayload``."""
        skf = message.sk
        if not isinstance(skf, SkfPayload) or message.message_id != self.message_id:
            raise DecodeError("not a fragment of this message")
        if not 1 <= skf.number <= skf.total:  # RFC 7383 §2.6
            raise DecodeError(f"fragment {skf.number} of {skf.total}")
        if not self._accept_total(skf.total) or skf.number in self._chunks:
            return None
        self._store(message, skf, chunk)
        if len(self._chunks) < self.total:
            return None
        return self._complete(message)

    def _accept_total(self, total: int) -> bool:
        if total > self.max_fragments:
            self._reset(0)
            raise DecodeError(f"{total} fragments exceed the limit of {self.max_fragments}")
        if total > self.total:
            self._reset(total)
        return total == self.total

    def _store(self, message: Message, skf: SkfPayload, chunk: bytes) -> None:
        self._size += len(chunk)
        if self._size > self.max_size:
            self._reset(0)
            raise DecodeError(f"reassembled message exceeds {self.max_size} bytes")
        self._chunks[skf.number] = chunk
        if skf.number == 1:
            self._first_inner = skf.first_inner
            self._clear = message.payloads[:-1]

    def _complete(self, last: Message) -> Message:
        plain = b"".join(self._chunks[n] for n in range(1, self.total + 1))
        first_inner, clear = self._first_inner, self._clear
        self._reset(0)
        header = dataclasses.replace(last.header, next_payload=first_type(clear) or PayloadType.SK,
                                     length=0)
        return Message(header, clear, decode_inner(plain, first_inner))
