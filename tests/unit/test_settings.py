"""strongSwan settings syntax: grammar, merging, includes, references and typed getters."""

from __future__ import annotations

import pytest

from vicid.settings import Settings, SettingsError, parse_text


def settings(text: str, path: str = "/nonexistent/strongswan.conf") -> Settings:
    return Settings(parse_text(text, path))


def test_sections_keys_and_value_joining():
    s = settings('charon {\n  load = a   b  "c d"  # comment\n  plugins { vici { socket = unix:///x } }\n}\n')
    assert s.get("charon.load") == "a b c d"
    assert s.get("charon.plugins.vici.socket") == "unix:///x"
    assert s.get("charon.missing", "dflt") == "dflt"


def test_quoted_string_escapes_and_continuation():
    s = settings('a = "x\\ty\\"z\\\\w"\nb = "one\\\ntwo"\nc = "multi\nline"\n')
    assert s.get("a") == 'x\ty"z\\w'
    assert s.get("b") == "onetwo"
    assert s.get("c") == "multi\nline"


def test_repeated_key_keeps_position_takes_last_value_and_sections_merge():
    s = settings("x { a = 1\n b = 2 }\nx { a = 3\n c = 4 }\n")
    assert s.items("x") == [("a", "3"), ("b", "2"), ("c", "4")]


def test_empty_value_masks_inherited_key():
    s = settings("base { a = 1\n b = 2 }\nchild : base { a =\n c = 3 }\n")
    assert s.get("child.a") is None
    assert s.get("child.b") == "2"
    assert s.keys("child") == ["c", "b"]


def test_section_references_like_swanctl_conf():
    text = """
connections {
    pq { version = 2
         children { net { esp_proposals = a } } }
    pq3 : connections.pq {
        proposals = x
        children { net { esp_proposals = b } }
    }
}
"""
    s = settings(text)
    assert s.get("connections.pq3.version") == "2"
    assert s.get("connections.pq3.children.net.esp_proposals") == "b"
    assert s.sections("connections") == ["pq", "pq3"]
    assert s.keys("connections.pq3") == ["proposals", "version"]


def test_value_may_contain_punctuation_and_brace_ends_it():
    s = settings("a { b = x=y:z,w.v }\n")
    assert s.get("a.b") == "x=y:z,w.v"


def test_dollar_references_expand_at_lookup():
    s = settings('piddir = /run/x\ncharon { plugins { vici { socket = "unix://${piddir}/c.vici" } } }\n'
                 'a = "${piddir}/${unknown.key}"\n')
    assert s.get("charon.plugins.vici.socket") == "unix:///run/x/c.vici"
    assert s.get("a") == "/run/x/${unknown.key}"
    assert settings('b = "${piddir}"\n').get("b") == "/var/run"


def test_reference_loop_is_cut():
    s = settings("a : b { x = 1 }\nb : a { y = 2 }\n")
    assert s.get("a.y") == "2"
    assert s.get("b.x") == "1"
    assert s.get("a.nothing") is None


def test_include_glob_relative_and_in_current_section(tmp_path):
    (tmp_path / "conf.d").mkdir()
    (tmp_path / "conf.d" / "b.conf").write_text("k2 = v2\n")
    (tmp_path / "conf.d" / "a.conf").write_text("k1 = v1\n")
    main = tmp_path / "strongswan.conf"
    main.write_text("charon {\n include conf.d/*.conf\n}\ninclude missing/*.conf\n")
    s = Settings.load(main)
    assert s.items("charon") == [("k1", "v1"), ("k2", "v2")]


def test_include_keyword_as_plain_key():
    s = settings("include = yes\n")
    assert s.get("include") == "yes"


@pytest.mark.parametrize("text", ["a {\n b = 1\n", "}\n", 'a = "open\n', "a b\n", "a : {\n}\n"])
def test_syntax_errors_name_file_and_line(text):
    with pytest.raises(SettingsError, match=r"strongswan\.conf:"):
        settings(text)


def test_typed_getters():
    s = settings("t = 4h\nm = 1.5m\nb = Enabled\ni = 0x10\nbad = x\n")
    assert s.get_time("t", 0) == 14400
    assert s.get_time("m", 0) == 90
    assert s.get_bool("b", False) is True
    assert s.get_int("i", 0) == 16
    assert s.get_int("bad", 7) == 7
    assert s.get_bool("bad", True) is True


def test_missing_top_level_file_is_an_error(tmp_path):
    with pytest.raises(SettingsError, match="unable to open"):
        Settings.load(tmp_path / "nope.conf")


def test_inheritance_applies_to_subsections_of_the_same_name():
    text = """
connections {
    pq {
        local_addrs = 192.0.2.3
        children { net { local_ts = 203.0.113.0/24
                         remote_ts = 198.51.100.0/24
                         esp_proposals = a } }
    }
    pq3 : connections.pq {
        children { net { esp_proposals = b } }
    }
}
"""
    s = settings(text)
    assert s.get("connections.pq3.children.net.esp_proposals") == "b"
    assert s.get("connections.pq3.children.net.local_ts") == "203.0.113.0/24"
    assert s.items("connections.pq3.children.net") == [
        ("esp_proposals", "b"), ("local_ts", "203.0.113.0/24"), ("remote_ts", "198.51.100.0/24")]
    assert s.sections("connections.pq3") == ["children"]
