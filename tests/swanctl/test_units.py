"""Small pieces of swanctl: message codec and readers, libstrongswan helpers, getopt, CLI plumbing."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from swanctl import chunk, render
from swanctl.getopt import EOF, NO_ARG, REQUIRED_ARG, Getopt, LongOpt
from swanctl.message import Message, MessageError, c_strtol, dump
from tests.swanctl.conftest import run_inprocess
from tests.swanctl.fakedaemon import FakeDaemon, ok

# -- message ---------------------------------------------------------------------------------


def sample() -> Message:
    return (Message().add("k", "v").begin_section("s").add("a", "1").add_list("l", ["x", "y"])
            .begin_section("t").add("b", b"\x00\x01").end_section().end_section().add_list("e", []))


def test_encoding_round_trip_matches_the_protocol_example() -> None:
    msg = Message().add("ike", "gw").add("noblock", "yes")
    assert msg.encode().hex() == "030369 6b65 0002 6777 03076e6f626c6f636b 0003 796573".replace(" ", "")
    assert Message.decode(sample().encode()) == sample()
    with pytest.raises(MessageError):
        Message.decode(bytes([1, 1]) + b"s")  # unterminated section
    with pytest.raises(MessageError):
        Message.decode(bytes([5, 0, 0]))  # list item outside a list


def test_dump_raw_and_pretty_like_vici_dump() -> None:
    assert dump(sample(), "r", False) == "r {k=v s {a=1 l=[x y] t {b=0x0001}} e=[]}\n"
    assert dump(sample(), "r", True) == ("r {\n  k = v\n  s {\n    a = 1\n    l = [\n      x\n      y\n    ]\n"
                                         "    t {\n      b = 0x0001\n    }\n  }\n  e = [\n  ]\n}\n")


def test_find_follows_vici_message_lookup_quirks() -> None:
    msg = sample()
    assert msg.find_str("s.a") == "1" and msg.find_str("k") == "v"
    assert msg.find_str("s.t.b") is None  # not printable
    assert msg.find("s.t.b") == b"\x00\x01"
    assert msg.find_str("a", "dflt") == "dflt"  # keys of other levels are not found
    # a same-depth section after the wanted one closed is still searched (libvici does)
    quirky = Message().begin_section("x").end_section().begin_section("y").add("v", "1").end_section()
    assert quirky.find_str("x.v") == "1"
    assert Message().add("n", "0x10").find_int("n") == 16 and Message().add("n", "010").find_int("n") == 8
    assert Message().add("n", "1x").find_int("n", 7) == 7
    assert c_strtol(" -12") == -12 and c_strtol("") is None and c_strtol("9" * 30) is None


def test_parse_cb_does_not_consume_unhandled_sections() -> None:
    seen: list[str] = []
    sample().parse_cb(lambda c, n: seen.append(n) or 0, lambda c, k, v: seen.append(k) or 0,
                      lambda c, k, v: seen.append(f"{k}[]") or 0)
    assert seen == ["k", "s"]  # nested keys and lists are below the base level; "e" has no items


def test_print_label_and_null_strings() -> None:
    assert render.label("  label: ", "73797374656d5f753a6f626a6563745f723a00") == "  label: system_u:object_r:\n"
    assert render.label("x", None) == "" and render.label("x", "00") == ""
    assert render.n(None) == "(null)"


# -- chunk ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "tokens"), [
    ("a, b ,c", ["a", "b", "c"]), (" a,,b, ", ["a", "b"]), ("'x, y', z", ["x, y", "z"]),
    ("", []), ("  ", []), ("a b", ["a b"]), ("'unterminated, x", ["'unterminated", "x"]),
])
def test_tokens(value: str, tokens: list[str]) -> None:
    assert list(chunk.tokens(value)) == tokens


def test_hex_and_base64_decoders_never_fail() -> None:
    assert chunk.from_hex("0102ff") == b"\x01\x02\xff"
    assert chunk.from_hex("01:02:ff") == b"\x01\x02\xff"
    assert chunk.from_hex("abc") == b"\x0a\xbc"
    assert chunk.from_base64("Y2Fyb2wtZWFw") == b"carol-eap"
    assert chunk.from_base64("YQ==") == b"a" and chunk.from_base64("YQ") == b""


@pytest.mark.parametrize(("path", "dirname"), [
    ("/etc/swanctl/swanctl.conf", "/etc/swanctl"), ("swanctl.conf", "."), ("/swanctl.conf", "/"),
    ("a//b", "a"), ("/a/b/", "/a"),
])
def test_path_dirname(path: str, dirname: str) -> None:
    assert chunk.path_dirname(path) == dirname


# -- getopt -------------------------------------------------------------------------------------

LONGS = [LongOpt("list-sas", NO_ARG, "l"), LongOpt("list-pols", NO_ARG, "P"), LongOpt("uri", REQUIRED_ARG, "u")]


def scan(argv: list[str], optstring: str = "lPu:") -> list:
    g = Getopt(["swanctl", *argv])
    g.opterr = False
    out = []
    while (op := g.getopt_long(optstring, LONGS)) != EOF:
        out.append((op, g.optarg))
    return out


def test_getopt_like_glibc() -> None:
    assert scan(["--list-s", "x", "-u", "U"]) == [("l", None), ("u", "U")]  # abbreviation, operand skipped
    assert scan(["-lPuU"]) == [("l", None), ("P", None), ("u", "U")]
    assert scan(["--uri=a=b"]) == [("u", "a=b")]
    assert scan(["--list"]) == [("?", None)]  # ambiguous
    assert scan(["--uri"]) == [("?", None)]  # missing argument
    assert scan(["--", "--list-sas"]) == []


def test_getopt_messages(capsys: pytest.CaptureFixture[str]) -> None:
    g = Getopt(["swanctl", "--list", "-x", "--list-sas=1"])
    assert [g.getopt_long("lPu:", LONGS) for _ in range(3)] == ["?", "?", "?"]
    assert capsys.readouterr().err.splitlines() == [
        "swanctl: option '--list' is ambiguous; possibilities: '--list-sas' '--list-pols'",
        "swanctl: invalid option -- 'x'",
        "swanctl: option '--list-sas' doesn't allow an argument"]


# -- CLI plumbing ----------------------------------------------------------------------------------


def test_connect_failures_print_usage_and_exit_with_errno(tmp_path: Path) -> None:
    res = run_inprocess("--stats", "--uri", f"unix://{tmp_path}/none.vici")
    assert res.returncode == errno.ENOENT and res.stdout == ""
    lines = res.stderr.splitlines()
    assert lines[0] == f"connecting to 'unix://{tmp_path}/none.vici' failed: No such file or directory"
    assert lines[1] == "strongSwan 6.1.0 swanctl (--stats/-S)"
    assert lines[-1] == f"error: connecting to 'unix://{tmp_path}/none.vici' URI failed: No such file or directory"
    res = run_inprocess("--stats", "--uri", "foo://bar")
    assert res.returncode == errno.ENOENT and res.stderr.splitlines()[0] == "strongSwan 6.1.0 swanctl (--stats/-S)"
    res = run_inprocess("--stats", "--uri", "tcp://127.0.0.1")
    assert res.stderr.splitlines()[0] == "invalid stream URI: 'tcp://127.0.0.1'"


def test_socket_from_strongswan_conf_and_options_file(tmp_path: Path, sockdir: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeDaemon(sockdir / "d.vici", {"version": lambda m: ok()}) as d:
        conf = tmp_path / "strongswan.conf"
        conf.write_text(f"swanctl {{ plugins {{ vici {{ socket = unix:///nowhere }} }}\n socket = {d.uri} }}\n")
        monkeypatch.setenv("STRONGSWAN_CONF", str(conf))
        assert run_inprocess("--version", "--daemon").returncode == 0
        conf.write_text(f"libstrongswan {{ plugins {{ vici {{ socket = {d.uri} }} }} }}\n")
        assert run_inprocess("--version", "-d").returncode == 0
        opts = tmp_path / "opts"
        opts.write_text(f"# comment\n--uri '{d.uri}'\n")
        conf.write_text("")
        assert run_inprocess("--version", "-d", "--options", str(opts)).returncode == 0
    assert d.names() == ["version", "version", "version"]


def test_help_goes_to_stdout_errors_to_stderr() -> None:
    res = run_inprocess("--help")
    assert res.returncode == 0 and res.stderr == ""
    assert res.stdout.splitlines()[:4] == ["strongSwan 6.1.0 swanctl",
                                           "loaded plugins: x509 pubkey pkcs1 pkcs8 pkcs12 pem",
                                           "usage:", "  swanctl command [options]"]
    res = run_inprocess("--frobnicate")
    assert res.returncode == 1 and res.stdout == ""
    assert res.stderr.startswith("swanctl: unrecognized option '--frobnicate'\nstrongSwan 6.1.0 swanctl\n")
    assert res.stderr.endswith("error: invalid command\n")


def test_python_m_swanctl_and_console_script_name() -> None:
    import subprocess
    import sys

    from tests.swanctl.conftest import REPO, hermetic_env

    res = subprocess.run([sys.executable, "-m", "swanctl", "--version", "--uri", "unix:///nonexistent"],
                         capture_output=True, text=True, env=hermetic_env())
    assert res.returncode == errno.ENOENT  # even --version connects first, like swanctl
    setup = (REPO / "setup.py").read_text()
    assert '"vicid-swanctl = swanctl.cli:main"' in setup and '"swanctl = ' not in setup


def test_uris_like_the_stream_manager() -> None:
    import socket

    from swanctl.client import VMADDR_CID_ANY, ViciError, parse_uri

    assert parse_uri("unix:///run/x.vici").address == b"/run/x.vici"
    ep = parse_uri("tcp://[::1]:4502")
    assert ep.family == socket.AF_INET6 and ep.address[:2] == ("::1", 4502)
    assert parse_uri("tcp://127.0.0.1:4502").address == ("127.0.0.1", 4502)
    assert parse_uri("vsock://3:1234").address == (3, 1234)
    assert parse_uri("vsock://*:1").address == (VMADDR_CID_ANY, 1)
    for bad in ("tcp://127.0.0.1", "tcp://127.0.0.1:99999", "vsock://x:1", "vsock://3:", "http://x"):
        with pytest.raises(ViciError) as e:
            parse_uri(bad)
        assert e.value.errno == errno.ENOENT


def test_watch_interval_must_be_positive(sockdir: Path) -> None:
    with FakeDaemon(sockdir / "d.vici") as d:
        res = run_inprocess("--list-sas", "--watch=0", "--uri", d.uri)
    assert res.returncode == 1 and res.stderr.endswith("error: invalid --watch interval\n")
