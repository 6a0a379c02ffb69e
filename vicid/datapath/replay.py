"""Anti-replay sliding window (RFC 4303 §3.4.3, Appendix A), ESN-aware. Pure.

In the spirit of wireguard-go's ``replay`` filter: a bitmap behind the highest sequence number
seen so far; one bit per packet, shifted forward when a newer packet arrives. The receiver
checks a packet *before* the (costly) ICV check and marks it only *after* the ICV verified, so a
forged packet can never move the window.

With ESN only the low 32 bits travel; :meth:`ReplayWindow.infer` reconstructs the high half
from the window position (RFC 4303 Appendix A2.2). The ICV covers the high half too, so a wrong
guess fails authentication rather than corrupting the window.
"""

from __future__ import annotations

_LOW = 1 << 32
ESN_INFER_WINDOW = 64  # used to place the window for ESN inference when replay checks are off


class ReplayWindow:
    """Window of SIZE packets below the highest authenticated sequence number (0 = no checks)."""

    __slots__ = ("_bits", "esn", "size", "top")

    def __init__(self, size: int = 32, esn: bool = False) -> None:
        if size < 0:
            raise ValueError("replay window size must be >= 0")
        self.size = size
        self.esn = esn
        self.top = 0  # highest authenticated sequence number (64 bits with ESN)
        self._bits = 0  # bit i set: sequence number top - i was seen

    def infer(self, seq_low: int) -> int | None:
        """The full sequence number of a received 32-bit one (itself without ESN).

        None if the inferred high half would be negative (a packet from "before" the SA).
        """
        if not self.esn:
            return seq_low
        window = self.size or ESN_INFER_WINDOW
        top_low, top_high = self.top % _LOW, self.top // _LOW
        if top_low >= window - 1:
            # window inside one 2^32 block: a low number means the next block
            high = top_high if seq_low >= top_low - window + 1 else top_high + 1
        else:
            # window straddles a block boundary: a high number belongs to the previous block
            high = top_high - 1 if seq_low >= (top_low - window + 1) % _LOW else top_high
        if high < 0:
            return None
        return high * _LOW + seq_low

    def check(self, seq: int) -> bool:
        """Whether SEQ may be accepted (new, or inside the window and not seen yet)."""
        if seq <= 0 or (not self.esn and seq >= _LOW):
            return False
        if not self.size or seq > self.top:
            return True
        offset = self.top - seq
        return offset < self.size and not (self._bits >> offset) & 1

    def accept(self, seq: int) -> None:
        """Mark SEQ as seen; call only after its ICV verified."""
        if seq > self.top:
            shift, width = seq - self.top, max(self.size, 1)
            # a jump past the whole window forgets everything (and never builds huge ints)
            self._bits = 1 if shift >= width else ((self._bits << shift) | 1) & ((1 << width) - 1)
            self.top = seq
        elif self.size:
            self._bits |= 1 << (self.top - seq)

    def __repr__(self) -> str:
        return f"<ReplayWindow size={self.size} esn={self.esn} top={self.top}>"
