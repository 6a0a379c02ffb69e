"""A PNG bar chart of the vicid/charon ratios, drawn without plotting libraries.

One row per figure: a bar for the ratio on a log scale from 1/16x to 16x, a line at 1x, and
the goal as a tick (green bar if met, red if missed, grey without goal). Text uses a built-in
5x7 pixel font (upper case); the PNG is written with zlib, one filter byte per row.
"""

from __future__ import annotations

import math
import struct
import zlib
from pathlib import Path

_FONT = {  # 5x7 glyphs, one string of 5 bits per row
    "A": "01110 10001 10001 11111 10001 10001 10001", "B": "11110 10001 10001 11110 10001 10001 11110",
    "C": "01110 10001 10000 10000 10000 10001 01110", "D": "11110 10001 10001 10001 10001 10001 11110",
    "E": "11111 10000 10000 11110 10000 10000 11111", "F": "11111 10000 10000 11110 10000 10000 10000",
    "G": "01110 10001 10000 10111 10001 10001 01111", "H": "10001 10001 10001 11111 10001 10001 10001",
    "I": "01110 00100 00100 00100 00100 00100 01110", "J": "00111 00010 00010 00010 00010 10010 01100",
    "K": "10001 10010 10100 11000 10100 10010 10001", "L": "10000 10000 10000 10000 10000 10000 11111",
    "M": "10001 11011 10101 10101 10001 10001 10001", "N": "10001 10001 11001 10101 10011 10001 10001",
    "O": "01110 10001 10001 10001 10001 10001 01110", "P": "11110 10001 10001 11110 10000 10000 10000",
    "Q": "01110 10001 10001 10001 10101 10010 01101", "R": "11110 10001 10001 11110 10100 10010 10001",
    "S": "01111 10000 10000 01110 00001 00001 11110", "T": "11111 00100 00100 00100 00100 00100 00100",
    "U": "10001 10001 10001 10001 10001 10001 01110", "V": "10001 10001 10001 10001 10001 01010 00100",
    "W": "10001 10001 10001 10101 10101 10101 01010", "X": "10001 10001 01010 00100 01010 10001 10001",
    "Y": "10001 10001 01010 00100 00100 00100 00100", "Z": "11111 00001 00010 00100 01000 10000 11111",
    "0": "01110 10001 10011 10101 11001 10001 01110", "1": "00100 01100 00100 00100 00100 00100 01110",
    "2": "01110 10001 00001 00010 00100 01000 11111", "3": "11111 00010 00100 00010 00001 10001 01110",
    "4": "00010 00110 01010 10010 11111 00010 00010", "5": "11111 10000 11110 00001 00001 10001 01110",
    "6": "00110 01000 10000 11110 10001 10001 01110", "7": "11111 00001 00010 00100 01000 01000 01000",
    "8": "01110 10001 10001 01110 10001 10001 01110", "9": "01110 10001 10001 01111 00001 00010 01100",
    ".": "00000 00000 00000 00000 00000 01100 01100", "-": "00000 00000 00000 11111 00000 00000 00000",
    ">": "01000 00100 00010 00001 00010 00100 01000", "<": "00010 00100 01000 10000 01000 00100 00010",
    "=": "00000 00000 11111 00000 11111 00000 00000", ":": "00000 01100 01100 00000 01100 01100 00000",
    "/": "00001 00010 00010 00100 01000 01000 10000", "(": "00010 00100 01000 01000 01000 00100 00010",
    ")": "01000 00100 00010 00010 00010 00100 01000", "%": "11000 11001 00010 00100 01000 10011 00011",
    "+": "00000 00100 00100 11111 00100 00100 00000", ",": "00000 00000 00000 00000 01100 00100 01000",
    "_": "00000 00000 00000 00000 00000 00000 11111", " ": "00000 00000 00000 00000 00000 00000 00000",
}
WHITE, BLACK, GREY, LIGHT = (255, 255, 255), (20, 20, 20), (150, 150, 150), (225, 225, 225)
GREEN, RED, BLUE = (60, 160, 80), (200, 60, 60), (40, 90, 200)
LO, HI = 1 / 16, 16.0  # ratio axis range (log scale)


class Canvas:
    def __init__(self, width: int, height: int) -> None:
        self.w, self.h = width, height
        self.px = bytearray(bytes(WHITE) * (width * height))

    def rect(self, x0: int, y0: int, x1: int, y1: int, color: tuple[int, int, int]) -> None:
        x0, x1 = max(0, min(x0, x1)), min(self.w, max(x0, x1))
        y0, y1 = max(0, min(y0, y1)), min(self.h, max(y0, y1))
        row = bytes(color) * (x1 - x0)
        for y in range(y0, y1):
            start = (y * self.w + x0) * 3
            self.px[start:start + len(row)] = row

    def text(self, x: int, y: int, text: str, color: tuple[int, int, int] = BLACK, scale: int = 2) -> None:
        for ch in text.upper():
            rows = _FONT.get(ch, _FONT[" "]).split()
            for r, bits in enumerate(rows):
                for c, bit in enumerate(bits):
                    if bit == "1":
                        self.rect(x + c * scale, y + r * scale, x + (c + 1) * scale, y + (r + 1) * scale, color)
            x += 6 * scale

    def png(self) -> bytes:
        raw = b"".join(b"\0" + bytes(self.px[y * self.w * 3:(y + 1) * self.w * 3]) for y in range(self.h))

        def chunk(kind: bytes, data: bytes) -> bytes:
            return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

        header = struct.pack(">IIBBBBB", self.w, self.h, 8, 2, 0, 0, 0)
        body = chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
        return b"\x89PNG\r\n\x1a\n" + body


def ratio_chart(rows: list[dict], title: str, path: Path) -> None:
    """ROWS: {"label", "ratio", "goal" (ratio or None), "higher_is_better", "met" (bool/None)}."""
    label_w, bar_w, row_h, top = 560, 640, 30, 70
    width, height = label_w + bar_w + 140, top + row_h * len(rows) + 60
    cv = Canvas(width, height)
    cv.text(16, 16, title, BLACK, 2)
    cv.text(16, 40, "RATIO VICID / CHARON 6.1, LOG SCALE; TICK = GOAL", GREY, 2)

    def x_of(ratio: float) -> int:
        r = min(max(ratio, LO), HI)
        return label_w + int((math.log(r) - math.log(LO)) / (math.log(HI) - math.log(LO)) * bar_w)

    for tick in (1 / 16, 1 / 4, 1, 4, 16):
        x = x_of(tick)
        cv.rect(x, top - 6, x + 1, top + row_h * len(rows), LIGHT if tick != 1 else GREY)
        text = f"{tick:g}X" if tick >= 1 else f"1/{round(1 / tick)}X"
        cv.text(x - len(text) * 6, top + row_h * len(rows) + 8, text, GREY, 2)
    for i, row in enumerate(rows):
        y = top + i * row_h
        cv.text(16, y + 8, row["label"][:45], BLACK, 2)
        ratio = row.get("ratio")
        if ratio is None or not math.isfinite(ratio) or ratio <= 0:
            cv.text(label_w + 8, y + 8, "N/A", GREY, 2)
            continue
        color = GREY if row.get("met") is None else GREEN if row["met"] else RED
        cv.rect(min(x_of(1), x_of(ratio)), y + 6, max(x_of(1), x_of(ratio)) + 1, y + row_h - 6, color)
        goal = row.get("goal")
        if goal:
            gx = x_of(goal)
            cv.rect(gx - 1, y + 2, gx + 2, y + row_h - 2, BLUE)
        cv.text(label_w + bar_w + 10, y + 8, f"{ratio:.2f}X", color, 2)
    path.write_bytes(cv.png())
