"""swanctl/settings.py: strongSwan's settings syntax, merging, includes and references.

Error messages are the ones strongSwan 6.1's swanctl printed for the same
files (observed with the lab's reference swanctl).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from swanctl.settings import Settings, parse_file


def load(tmp_path: Path, text: str, name: str = "swanctl.conf") -> tuple[Settings, list[str]]:
    path = tmp_path / name
    path.write_text(text)
    logged: list[str] = []
    return Settings.load(str(path), logged.append), logged


def test_values_are_joined_with_single_spaces_and_quotes_keep_everything(tmp_path: Path) -> None:
    s, log = load(tmp_path, 'a {\n x =   one    two\t three # comment\n y = "q  u" z\n e =\n'
                            ' s = "tab\\tnl\\nquote\\" back\\\\ cont\\\nin"\n}\n')
    assert log == []
    assert s.get_str("a.x") == "one two three"
    assert s.get_str("a.y") == "q  u z"
    assert s.get_str("a.e") is None and "e" in s.top.sections["a"].kv
    assert s.get_str("a.s") == 'tab\tnl\nquote" back\\ contin'


def test_value_characters_and_brace_on_the_same_line(tmp_path: Path) -> None:
    s, _ = load(tmp_path, "a { b = x=y:z,{w}\nc { d = 1 }")
    assert s.get_str("a.b") == "x=y:z,{w"
    assert s.get_str("c.d") == "1"


def test_repeated_sections_merge_and_keys_keep_their_first_position(tmp_path: Path) -> None:
    s, _ = load(tmp_path, "a { k1 = 1\n k2 = 2 }\nb { }\na { k1 = 3\n k3 = 4\n sub { x = y } }\n")
    assert list(s.sections("")) == ["a", "b"]
    assert list(s.key_values("a")) == [("k1", "3"), ("k2", "2"), ("k3", "4")]
    assert s.get_str("a.sub.x") == "y"


def test_references_inherit_keys_and_sections_own_first(tmp_path: Path) -> None:
    text = """
    connections {
        base { version = 2
               proposals = p1
               remote { auth = psk }
               children { c { local_ts = 10.0.0.0/8
                              mode = tunnel } } }
        other { dpd_delay = 5s
                version = 1 }
        child : connections.base, connections.other {
            proposals =
            local { auth = pubkey }
            children { c { mode = transport } d { } }
        }
    }
    """
    s, _ = load(tmp_path, text)
    # an empty value masks the inherited one; references are followed in order
    assert list(s.key_values("connections.child")) == [("version", "2"), ("dpd_delay", "5s")]
    assert list(s.sections("connections.child")) == ["local", "children", "remote"]
    assert list(s.sections("connections.child.children")) == ["c", "d"]
    assert list(s.key_values("connections.child.children.c")) == [("mode", "transport"),
                                                                   ("local_ts", "10.0.0.0/8")]
    assert s.get_str("connections.child.children.c.local_ts") == "10.0.0.0/8"
    assert s.get_str("connections.child.proposals") is None


def test_reference_loops_are_cut(tmp_path: Path) -> None:
    s, _ = load(tmp_path, "a : b { x = 1 }\nb : a { y = 2 }\n")
    assert dict(s.key_values("a")) == {"x": "1", "y": "2"}
    assert s.get_str("b.x") == "1"


def test_includes_are_textual_relative_sorted_and_may_miss(tmp_path: Path) -> None:
    (tmp_path / "conf.d" / "sub").mkdir(parents=True)
    (tmp_path / "conf.d" / "b.conf").write_text("connections { b { x = from-b } }\n")
    (tmp_path / "conf.d" / "a.conf").write_text("connections { a { include sub/*.conf\n} }\n")
    (tmp_path / "conf.d" / "sub" / "in.conf").write_text("inner = yes\n")
    (tmp_path / "conf.d" / "not-a-match.txt").write_text("}")
    s, log = load(tmp_path, 'include conf.d/*.conf\ninclude missing/*.conf\ninclude "conf.d/b.conf"\n'
                            "connections { c { } }\n")
    assert log == [f"no files found matching '{tmp_path / 'missing/*.conf'}'"]
    assert list(s.sections("connections")) == ["a", "b", "c"]
    assert s.get_str("connections.a.inner") == "yes"


def test_missing_file_is_an_empty_configuration(tmp_path: Path) -> None:
    logged: list[str] = []
    s = Settings.load(str(tmp_path / "nope.conf"), logged.append)
    assert list(s.sections("connections")) == []
    assert logged == [f"no files found matching '{tmp_path / 'nope.conf'}'",
                      f"failed to open config file '{tmp_path / 'nope.conf'}'"]


@pytest.mark.parametrize(("text", "messages"), [
    ("a.b = c", ["F:1: syntax error, unexpected ., expecting : or '{' or '='"]),
    ("}", ["F:1: syntax error, unexpected '}', expecting end of file or NAME or NEWLINE"]),
    ("= x", ["F:1: syntax error, unexpected '=', expecting end of file or NAME or NEWLINE"]),
    ("a {\n b = c\n", ["syntax error, unexpected end of file, expecting NAME or NEWLINE or '}'"]),
    ("a : { }", ["F:1: syntax error, unexpected '{', expecting NAME"]),
    ("a : b c { }", ["F:1: syntax error, unexpected NAME, expecting \",\" or '{'"]),
    ('a "x" = 1', ["F:1: unexpected string detected",
                   "F:1: syntax error, unexpected STRING_ERROR, expecting : or '{' or '='"]),
    ('a = "abc\n', ["F:2: unterminated string detected",
                    "F:2: syntax error, unexpected STRING_ERROR, expecting end of file or NAME or NEWLINE"]),
    ("a\nb = c", ["F:2: syntax error, unexpected NAME, expecting : or '{' or '='"]),
    ("a, b { }", ["F:1: syntax error, unexpected \",\", expecting : or '{' or '='"]),
    ("a = x}", ["F:1: syntax error, unexpected '}', expecting end of file or NAME or NEWLINE"]),
    ("include  = x", ["F:1: no include pattern specified, ignored",
                      "F:1: syntax error, unexpected '=', expecting end of file or NAME or NEWLINE"]),
])
def test_syntax_errors_like_swanctl_61(tmp_path: Path, text: str, messages: list[str]) -> None:
    path = tmp_path / "swanctl.conf"
    path.write_text(text)
    logged: list[str] = []
    assert parse_file(str(path), logged.append) is None
    assert logged == [m.replace("F:", f"{path}:") for m in messages] + [f"invalid config file '{path}'"]


def test_a_broken_include_breaks_the_whole_file(tmp_path: Path) -> None:
    (tmp_path / "bad.conf").write_text("x {")
    s, log = load(tmp_path, "connections { a { } }\ninclude bad.conf\n")
    assert list(s.sections("connections")) == []
    assert log[-1].startswith("invalid config file")


def test_names_allow_everything_but_the_separators(tmp_path: Path) -> None:
    s, _ = load(tmp_path, "sec-1_%/@[x]! { key-with_odd/chars = v }")
    assert s.get_str("sec-1_%/@[x]!.key-with_odd/chars") == "v"


def test_fallback_namespace(tmp_path: Path) -> None:
    s, _ = load(tmp_path, "libstrongswan { plugins { vici { socket = unix:///x } } }\n")
    s.add_fallback("swanctl", "libstrongswan")
    assert s.get_str("swanctl.plugins.vici.socket") == "unix:///x"
    assert s.get_str("swanctl.socket") is None
