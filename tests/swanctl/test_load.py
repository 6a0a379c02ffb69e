"""swanctl/load.py against a scripted daemon: what --load-* send, print and return.

The byte-exact comparison with strongSwan's swanctl is in test_interop.py
(recorded requests); these tests pin the behaviour without any daemon.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from swanctl import keys
from swanctl.message import Message
from tests.swanctl import pki
from tests.swanctl.conftest import run_inprocess
from tests.swanctl.fakedaemon import FakeDaemon, fail, ok


def conf(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "swanctl.conf"
    path.write_text(text)
    return path


def names(items: Message, key: str) -> Message:
    return Message().add_list(key, items)  # type: ignore[arg-type]


@pytest.fixture
def no_prompt(monkeypatch: pytest.MonkeyPatch) -> None:
    """A test never reads a terminal: the prompt answers nothing."""
    monkeypatch.setattr(keys.Prompt, "ask", lambda self: None)


def test_conns_are_translated_like_swanctl(tmp_path: Path, sockdir: Path) -> None:
    (tmp_path / "x509").mkdir()
    (tmp_path / "x509" / "c.pem").write_bytes(b"CERTDATA")
    path = conf(tmp_path, """
    connections {
        a {
            remote_addrs = 10.0.0.1, 'b, c' ,, d
            rekey_time = 1h
            Proposals = aes128-sha256
            local { certs = c.pem, 0x0102, 0sAwQ=
                    id = me }
            children { x { esp_proposals = aes128gcm16
                           updown = /bin/true arg } }
        }
        b : connections.a { rekey_time = }
    }""")
    with FakeDaemon(sockdir / "d.vici", {"get-conns": lambda m: Message().add_list("conns", ["old", "a"])}) as d:
        res = run_inprocess("--load-conns", "--file", str(path), "--uri", d.uri)
    assert res.stdout == ("loaded connection 'a'\nloaded connection 'b'\n"
                          "successfully loaded 2 connections, 1 unloaded\n")
    assert res.returncode == 0 and res.stderr == ""
    assert d.names() == ["get-conns", "load-conn", "load-conn", "unload-conn"]
    a = d.of("load-conn")[0].tree()["a"]
    assert a["remote_addrs"] == [b"10.0.0.1", b"b, c", b"d"]
    assert a["rekey_time"] == b"1h" and a["Proposals"] == [b"aes128-sha256"]  # list keys match any case
    assert a["local"] == {"certs": [b"CERTDATA", b"\x01\x02", b"\x03\x04"], "id": b"me"}
    assert a["children"]["x"] == {"esp_proposals": [b"aes128gcm16"], "updown": b"/bin/true arg"}
    b = d.of("load-conn")[1].tree()["b"]
    assert "rekey_time" not in b and b["remote_addrs"] == a["remote_addrs"]  # masked, inherited
    assert d.of("unload-conn")[0].tree() == {"name": b"old"}


def test_a_conn_the_daemon_rejects_or_that_misses_a_file(tmp_path: Path, sockdir: Path) -> None:
    path = conf(tmp_path, """
    connections {
        good { remote_addrs = 1.2.3.4 }
        bad { frobnicate = yes }
        nocert { local { certs = missing.pem } }
    }""")

    def load_conn(msg: Message) -> Message:
        return fail("unknown option: frobnicate, config discarded") if "bad" in msg.tree() else ok()

    with FakeDaemon(sockdir / "d.vici", {"load-conn": load_conn}) as d:
        res = run_inprocess("--load-conns", "--file", str(path), "--uri", d.uri)
    assert res.returncode == 22
    assert res.stdout == "loaded connection 'good'\n"
    assert res.stderr == (
        "loading connection 'bad' failed: unknown option: frobnicate, config discarded\n"
        f"loading certs certificate '{tmp_path}/x509/missing.pem' failed: No such file or directory\n"
        "loaded 1 of 3 connections, 2 failed to load, 0 unloaded\n")
    assert [list(m.tree()) for m in d.of("load-conn")] == [["good"], ["bad"]]  # nocert never sent


def test_a_broken_file_loads_nothing_and_unloads_everything_like_swanctl(tmp_path: Path, sockdir: Path) -> None:
    path = conf(tmp_path, "connections { a { remote_addrs = 1.2.3.4 }\n b.c = 5 }\n")
    handlers = {"get-conns": lambda m: Message().add_list("conns", ["a", "z"]),
                "get-pools": lambda m: Message().begin_section("p").add("base", "10.0.0.1").end_section(),
                "get-shared": lambda m: Message().add_list("keys", ["ike-1"])}
    with FakeDaemon(sockdir / "d.vici", handlers) as d:
        res = run_inprocess("--load-all", "--noprompt", "--file", str(path), "--uri", d.uri)
    assert res.returncode == 0
    assert res.stdout == ("no authorities found, 0 unloaded\nno pools found, 1 unloaded\n"
                          "no connections found, 2 unloaded\n")
    assert res.stderr == (f"{path}:2: syntax error, unexpected ., expecting : or '{{' or '='\n"
                          f"invalid config file '{path}'\n")
    assert not any(n.startswith("load-") for n in d.names())
    assert d.names().count("unload-conn") == 2 and d.names().count("unload-shared") == 1


def test_creds_directories_keys_and_secrets(tmp_path: Path, sockdir: Path, no_prompt: None) -> None:
    pki.make_confdir(tmp_path)
    key_ids = iter(f"{i:040x}" for i in range(1, 20))
    handlers = {"load-key": lambda m: ok(id=next(key_ids)),
                "get-keys": lambda m: Message().add_list("keys", ["f" * 40, f"{1:040x}"]),
                "get-shared": lambda m: Message().add_list("keys", ["ike-rw", "gone"])}
    with FakeDaemon(sockdir / "d.vici", handlers) as d:
        res = run_inprocess("--load-creds", "--file", str(tmp_path / "swanctl.conf"), "--uri", d.uri)
    assert res.returncode == 0
    out = res.stdout.splitlines()
    d_ = str(tmp_path)
    assert f"loaded certificate from '{d_}/x509ca/ca.pem'" in out
    assert f"loaded certificate from '{d_}/x509crl/ca.crl'" in out
    assert f"loaded certificate from '{d_}/pubkey/jupiter.pem'" in out
    assert f"loaded ECDSA key from '{d_}/private/moon.pem'" in out
    assert f"loaded RSA key from '{d_}/rsa/sun.pem'" in out  # passphrase from secrets (second one wrong)
    assert f"loaded ED25519 key from '{d_}/pkcs8/venus.der'" in out
    assert out.count(f"loaded certificate from '{d_}/pkcs12/mars.p12'") == 2
    assert f"loaded ECDSA key from '{d_}/pkcs12/mars.p12'" in out
    assert out[-5:] == ["loaded ike secret 'ike-rw'", "loaded eap secret 'eap-carol'",
                        "loaded xauth secret 'xauth-x'", "loaded ntlm secret 'ntlm-n'", "loaded ppk secret 'ppk-p'"]
    # the most recently configured passphrase is tried first, like a credential set hands them out
    assert res.stderr.splitlines() == ["  invalid passphrase",
                                       "  C=CH, O=vicid test, CN=vicid test CA",
                                       "  C=CH, O=vicid test, OU=gateways, CN=mars.example.org",
                                       "ignoring unsupported secret 'unknownthing'",
                                       "missing secret in 'ike-nosecret', ignored"]
    certs = {m.find_str("type"): m.find_str("flag") for m in d.of("load-cert")}
    assert certs == {"X509": "NONE", "X509_CRL": None, "PUBKEY": None}
    # keys travel decrypted, as DER of their own type; only unknown ids are unloaded
    types = [m.find_str("type") for m in d.of("load-key")]
    assert sorted(types) == ["ECDSA", "ECDSA", "ECDSA", "ED25519", "RSA"]
    for m in d.of("load-key"):
        data = m.find("data") or b""
        assert b"ENCRYPTED" not in data and not data.startswith(b"-----")
        serialization.load_der_private_key(data, None)
    assert [m.find_str("id") for m in d.of("unload-key")] == ["f" * 40]
    assert [m.find_str("id") for m in d.of("unload-shared")] == ["gone"]
    shared = {m.find_str("id"): m.tree() for m in d.of("load-shared")}
    assert shared["ike-rw"] == {"id": b"ike-rw", "type": b"ike", "data": bytes.fromhex("0123456789abcdef"),
                                "owners": [b"moon.example.org"]}
    assert shared["eap-carol"]["data"] == b"carol-eap"
    assert shared["xauth-x"]["owners"] == [b"a", b"b"] and shared["xauth-x"]["data"] == b"xauth pw 123"
    assert len(shared["ppk-p"]["data"]) == 32


def test_wrong_passphrase_sends_the_file_as_is_and_says_so(tmp_path: Path, sockdir: Path, no_prompt: None) -> None:
    (tmp_path / "private").mkdir()
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.BestAvailableEncryption(b"right-pass"))
    (tmp_path / "private" / "k.pem").write_bytes(pem)
    path = conf(tmp_path, "secrets { private-k { file = K.PEM\n secret = wrong-pass } }")
    handlers = {"load-key": lambda m: fail("parsing ANY private key failed")}
    with FakeDaemon(sockdir / "d.vici", handlers) as d:
        res = run_inprocess("--load-creds", "--noprompt", "--file", str(path), "--uri", d.uri)
    assert res.returncode == 0 and res.stdout == ""
    assert res.stderr == ("building CRED_PRIVATE_KEY - ANY failed, tried 5 builders\n"
                          "configured decryption secret for 'k.pem' invalid\n"
                          f"loading '{tmp_path}/private/k.pem' failed: parsing ANY private key failed\n")
    (sent,) = d.of("load-key")
    assert sent.find_str("type") == "any" and sent.find("data") == pem
    assert "wrong-pass" not in res.stdout + res.stderr and "right-pass" not in res.stdout + res.stderr


def test_noprompt_sends_unencrypted_keys_unparsed(tmp_path: Path, sockdir: Path) -> None:
    (tmp_path / "rsa").mkdir()
    (tmp_path / "ecdsa").mkdir()
    rsa_key = rsa.generate_private_key(65537, 2048)
    (tmp_path / "rsa" / "r.pem").write_bytes(rsa_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()))
    (tmp_path / "ecdsa" / "e.der").write_bytes(ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    path = conf(tmp_path, "")
    with FakeDaemon(sockdir / "d.vici", {"load-key": lambda m: ok(id="00" * 20)}) as d:
        res = run_inprocess("--load-creds", "--noprompt", "--file", str(path), "--uri", d.uri)
    assert res.stdout.splitlines() == [f"loaded rsa key from '{tmp_path}/rsa/r.pem'",
                                       f"loaded ecdsa key from '{tmp_path}/ecdsa/e.der'"]
    assert [m.find_str("type") for m in d.of("load-key")] == ["rsa", "ecdsa"]


def test_an_ed25519_key_in_ecdsa_is_not_an_ecdsa_key(tmp_path: Path, sockdir: Path, no_prompt: None) -> None:
    (tmp_path / "ecdsa").mkdir()
    raw = ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    (tmp_path / "ecdsa" / "e.pem").write_bytes(raw)
    with FakeDaemon(sockdir / "d.vici", {"load-key": lambda m: fail("parsing ECDSA private key failed")}) as d:
        res = run_inprocess("--load-creds", "--file", str(conf(tmp_path, "")), "--uri", d.uri)
    assert res.stderr.startswith("building CRED_PRIVATE_KEY - ECDSA failed, tried 4 builders\n")
    assert [m.find_str("type") for m in d.of("load-key")] == ["ecdsa"]


def test_pools_and_authorities(tmp_path: Path, sockdir: Path) -> None:
    (tmp_path / "x509ca").mkdir()
    (tmp_path / "x509ca" / "ca.der").write_bytes(b"\x30\x00")
    path = conf(tmp_path, """
    pools { p1 { addrs = 10.0.0.0/24
                 dns = 10.0.0.53, 10.0.0.54
                 28674 = 0x01 } }
    authorities { ca { cacert = ca.der
                       crl_uris = http://a, http://b
                       cert_uri_base = http://c }
                  broken { cacert = /nonexistent/ca.der } }
    """)
    handlers = {"get-pools": lambda m: Message().begin_section("stale").end_section(),
                "get-authorities": lambda m: Message().add_list("authorities", ["ca", "old"])}
    with FakeDaemon(sockdir / "d.vici", handlers) as d:
        res = run_inprocess("--load-all", "--noprompt", "--file", str(path), "--uri", d.uri)
    assert res.returncode == 22  # an authority failed: pools and conns are not even tried
    assert res.stdout == f"loaded certificate from '{tmp_path}/x509ca/ca.der'\nloaded authority 'ca'\n"
    assert res.stderr == ("loading ca certificate '/nonexistent/ca.der' failed: No such file or directory\n"
                          "loaded 1 of 2 authorities, 1 failed to load, 1 unloaded\n")
    assert d.of("load-authority")[0].tree() == {"ca": {"cacert": b"\x30\x00", "crl_uris": [b"http://a", b"http://b"],
                                                       "cert_uri_base": b"http://c"}}
    assert "load-pool" not in d.names()
    with FakeDaemon(sockdir / "e.vici", handlers) as d:
        res = run_inprocess("--load-pools", "--raw", "--file", str(path), "--uri", d.uri)
    assert res.stdout == ("get-pools reply {stale {}}\nload-pool reply {success=yes}\n"
                          "unload-pool reply {success=yes}\n")
    assert d.of("load-pool")[0].tree() == {"p1": {"addrs": b"10.0.0.0/24", "dns": [b"10.0.0.53", b"10.0.0.54"],
                                                  "28674": [b"0x01"]}}


def test_clear_and_swanctl_dir(tmp_path: Path, sockdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    conf(tmp_path, "connections { a { } }")
    monkeypatch.setenv("SWANCTL_DIR", str(tmp_path))
    with FakeDaemon(sockdir / "d.vici") as d:
        res = run_inprocess("--load-all", "--clear", "--noprompt", "--uri", d.uri)
    assert res.stdout.endswith("loaded connection 'a'\nsuccessfully loaded 1 connections, 0 unloaded\n")
    assert d.names()[:3] == ["clear-creds", "get-keys", "get-shared"]


def test_no_secret_or_key_is_ever_printed(tmp_path: Path, sockdir: Path, no_prompt: None) -> None:
    pki.make_confdir(tmp_path)
    with FakeDaemon(sockdir / "d.vici", {"load-key": lambda m: ok(id="ab" * 20)}) as d:
        runs = [run_inprocess(*args, "--file", str(tmp_path / "swanctl.conf"), "--uri", d.uri)
                for args in (["--load-all"], ["--load-all", "--raw"], ["--load-creds", "--pretty"])]
    text = "".join(r.stdout + r.stderr for r in runs)
    for secret in ("0123456789abcdef", "carol-eap", "xauth pw 123", "ntlm-secret", "sun-pass", "venus-pass",
                   "mars-pass", "Y2Fyb2wtZWFw", "PRIVATE KEY"):
        assert secret not in text


def test_tokens_are_sent_verbatim(tmp_path: Path, sockdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = conf(tmp_path, "secrets { token-1 { handle = 0a0b\n slot = 1\n module = softhsm\n pin = 1234 }\n"
                          "          token-2 { handle = 0c } }")
    asked: list[str] = []
    monkeypatch.setattr(keys.Prompt, "ask", lambda self: asked.append(self.prompt) or "5678")
    with FakeDaemon(sockdir / "d.vici", {"load-token": lambda m: ok(id="cd" * 20),
                                        "get-keys": lambda m: Message().add_list("keys", ["cd" * 20])}) as d:
        res = run_inprocess("--load-creds", "--file", str(path), "--uri", d.uri)
    assert res.stdout == (f"loaded key token-1 from token [keyid: {'cd' * 20}]\n"
                          f"loaded key token-2 from token [keyid: {'cd' * 20}]\n")
    assert asked == ["PIN for token-2: "]  # only where no pin is configured
    assert [m.tree() for m in d.of("load-token")] == [
        {"handle": b"0a0b", "slot": b"1", "module": b"softhsm", "pin": b"1234"},
        {"handle": b"0c", "pin": b"5678"}]
    assert "unload-key" not in d.names()
    assert "1234" not in res.stdout + res.stderr and "5678" not in res.stdout + res.stderr
