"""charon's C value syntaxes (strtoul base 0, time/byte suffixes, stringify limits, tokens)."""

from __future__ import annotations

import pytest

from vicid.config.values import (
    mark_from_string,
    parse_bool,
    parse_bytes,
    parse_time,
    parse_uint32,
    stringify,
    strtoul,
    tokens,
)


@pytest.mark.parametrize(("text", "value"), [
    ("0x10", 16), ("010", 8), (" 7", 7), ("-1", 2**64 - 1), ("0b101", 5), ("", 0), ("x", 0),
    ("99999999999999999999999", 2**64 - 1),
])
def test_strtoul_base0(text: str, value: int) -> None:
    assert strtoul(text)[0] == value


@pytest.mark.parametrize(("raw", "value"), [
    (b"1h", 3600), (b"30m", 1800), (b"1d", 86400), (b"90", 90), (b"2 H", 7200), (b"m", 0),
    (b"", 0), (b"90 ", 90), (b"1x", None), (b"1hs", None), (b"\x01", None),
])
def test_parse_time(raw: bytes, value: int | None) -> None:
    assert parse_time(raw) == value


@pytest.mark.parametrize(("raw", "value"), [
    (b"500k", 512000), (b"10M", 10 * 2**20), (b"1G", 2**30), (b"2 m", 2 * 2**20), (b"1t", None),
])
def test_parse_bytes(raw: bytes, value: int | None) -> None:
    assert parse_bytes(raw) == value


def test_uint32_wraps_and_rejects_trailing_garbage() -> None:
    assert parse_uint32(b"4294967298") == 2
    assert parse_uint32(b"-1") == 0xFFFFFFFF
    assert parse_uint32(b"2 ") is None
    assert parse_uint32(b"0123456789012345678") == parse_uint32(b"012345678901234")  # 15-char buffer


def test_bool_words() -> None:
    assert [parse_bool(w) for w in (b"Yes", b"TRUE", b"enabled", b"1")] == [True] * 4
    assert [parse_bool(w) for w in (b"no", b"False", b"DISABLED", b"0")] == [False] * 4
    assert parse_bool(b"on") is None


def test_stringify_is_printable_ascii_cut_to_the_buffer() -> None:
    assert stringify(b"abc\xc3\xa9") is None
    assert stringify(b"x" * 20, 16) == "x" * 15


def test_tokens_like_enumerator_create_token() -> None:
    assert list(tokens("a, b ,, c", ",", " ")) == ["a", "b", "c"]
    assert list(tokens("'d,e', f", ",", " ")) == ["d,e", "f"]
    assert list(tokens(" trap | start ", "|", " ")) == ["trap", "start"]
    assert list(tokens("", ",", " ")) == []


def test_marks() -> None:
    assert mark_from_string("0x10/0xff", True, False) == (0x10, 0xFF)
    assert mark_from_string("5", False, True) == (5, 0xFFFFFFFF)
    assert mark_from_string("%unique", True, False) == (0xFFFFFFFF, 0xFFFFFFFF)
    assert mark_from_string("%unique-dir", True, False) == (0xFFFFFFFE, 0xFFFFFFFF)
    assert mark_from_string("%same", True, False) is None
    assert mark_from_string("0x1ff/0xff", True, False) == (0xFF, 0xFF)
