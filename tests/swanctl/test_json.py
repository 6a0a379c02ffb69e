"""--json: every listing's document validates against swanctl/schema/swanctl.schema.json.

Inputs are the recorded charon 6.1 replies of the golden vectors (real SAs,
connections with certificates, pools, authorities, algorithms, stats), so
the schema is checked against what the daemon really sends.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest

from swanctl import certs
from swanctl.message import Message
from tests.swanctl.conftest import (
    SCHEMA,
    VECTORS,
    hermetic_env,
    needs_default_socket_absent,
    ours_argv,
    run_inprocess,
)
from tests.swanctl.fakedaemon import FakeDaemon
from tests.swanctl.schema_check import SchemaError, validate
from tests.swanctl.viciproxy import Replayer, Transcript

LISTINGS = ("--list-sas", "--list-conns", "--list-pols", "--list-authorities", "--list-certs", "--list-pools",
            "--list-algs", "--stats", "--version", "--counters")
FORMAT_ONLY = {"--raw", "-r", "--pretty", "-P", "--pem", "--short", "--utc"}


def schema() -> dict:
    return json.loads(SCHEMA.read_text())


def json_vectors() -> list[Path]:
    out = []
    for path in sorted(VECTORS.glob("*.json")):
        args = json.loads(path.read_text())["args"]
        resets = args[:1] == ["--counters"] and "--reset" in args
        if args and args[0] in LISTINGS and "--help" not in args and not resets:
            out.append(path)
    return out


def replay_json(path: Path, sockdir: Path) -> tuple[int, str, str]:
    vector = json.loads(path.read_text())
    needs_default_socket_absent(vector)
    args = [a for a in vector["args"] if a not in FORMAT_ONLY] + ["--json"]
    trs = [Transcript([(d, bytes.fromhex(p)) for d, p in tr]) for tr in vector["transcripts"]]
    with Replayer(sockdir / "rep.vici", trs) as rep:
        res = run_inprocess(*args, "--uri", rep.uri)
    assert rep.mismatches == [], "--json must not change the requests"
    return res.returncode, res.stdout, res.stderr


@pytest.mark.parametrize("path", json_vectors(), ids=lambda p: p.stem)
def test_json_of_recorded_replies_validates(path: Path, sockdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(certs, "now", lambda: 1_800_000_000)
    rc, out, err = replay_json(path, sockdir)
    if rc != 0:  # e.g. counters without the counters plugin: the error, not a document
        assert out == "" and "failed" in err
        return
    validate(json.loads(out), schema())


def test_the_schema_refuses_what_it_should(sockdir: Path) -> None:
    doc = {"schema": 1, "kind": "list-pools", "pools": [{"name": "p", "leases": [], "size": -1}]}
    with pytest.raises(SchemaError):
        validate(doc, schema())
    with pytest.raises(SchemaError):
        validate({"schema": 1, "kind": "list-pools", "pools": [], "extra": 1}, schema())
    validate({"schema": 1, "kind": "list-pools", "pools": []}, schema())


def _vector(stem: str) -> Path:
    return next(p for p in json_vectors() if stem in p.stem)


def test_sa_document_content(sockdir: Path) -> None:
    _, out, _ = replay_json(_vector("carol-listsas"), sockdir)
    doc = json.loads(out)
    (sa,) = [s for s in doc["ike_sas"] if s["name"] == "pq"]
    assert sa["state"] == "ESTABLISHED" and sa["version"] == 2 and sa["initiator"] is True
    assert sa["local"]["id"] == "carol.example.org" and sa["remote"]["port"] == 4500
    assert sa["ake"] == [{"n": 1, "method": "ML_KEM_768"}] and sa["dh_group"] == "CURVE_25519"
    (child,) = sa["child_sas"]
    assert child["name"] == "net" and child["encap"] is True and child["protocol"] == "ESP"
    assert child["local_ts"] == ["203.0.113.0/24"] and isinstance(child["in"]["bytes"], int)


def test_conn_and_cert_documents(sockdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(certs, "now", lambda: 1_800_000_000)
    _, out, _ = replay_json(_vector("sun-listconns"), sockdir)
    conns = {c["name"]: c for c in json.loads(out)["connections"]}
    rsa_peer = conns["rsa-peer"]
    assert rsa_peer["children"][0]["mode"] == "TRANSPORT" and rsa_peer["children"][0]["rekey_bytes"] == 1000000
    assert [a["round"] for a in rsa_peer["remote_auth"]] == [1, 2]
    assert rsa_peer["proposals"][0]["ake1"] == ["ML_KEM_1024"]
    _, out, _ = replay_json(_vector("sun-listcerts"), sockdir)
    by_subject = {c.get("subject"): c for c in json.loads(out)["certs"]}
    moon = by_subject["C=CH, O=vicid test, OU=gateways, CN=moon.example.org"]
    assert moon["serial"] == "81" and moon["has_privkey"] is True
    assert moon["flags"] == ["server_auth", "client_auth"] and "192.0.2.2" in moon["alt_names"]
    assert moon["pem"].startswith("-----BEGIN CERTIFICATE-----\n")
    ca = by_subject["C=CH, O=vicid test, CN=vicid test CA"]
    assert ca["flags"] == ["ca", "crl_sign", "self_signed"] and ca["pathlen"] == 1


def _sa_event(n: int) -> Message:
    return (Message().begin_section("gw").add("uniqueid", str(n)).add("version", "2").add("state", "ESTABLISHED")
            .add("local-host", "192.0.2.1").add("local-port", "500").add("local-id", "a")
            .add("remote-host", "192.0.2.2").add("remote-port", "500").add("remote-id", "b")
            .add("initiator-spi", "0123456789abcdef").add("responder-spi", "fedcba9876543210")
            .begin_section("child-sas").end_section().end_section())


def test_watch_emits_one_valid_document_per_round(sockdir: Path) -> None:
    rounds = [0]

    def list_sas(_msg: Message):
        rounds[0] += 1
        return [("list-sa", _sa_event(rounds[0]))], Message()

    with FakeDaemon(sockdir / "d.vici", {"list-sas": list_sas}) as d:
        p = subprocess.Popen(ours_argv("--list-sas", "--watch=0.2", "--json", "--uri", d.uri),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=hermetic_env(),
                             start_new_session=True)
        time.sleep(1.5)
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=10)
    assert p.returncode == 0, err
    # registered once: charon would deliver every list-sa event once per registration
    assert sorted(d.registrations) == ["child-rekey", "child-updown", "ike-rekey", "ike-updown", "list-sa"]
    lines = out.splitlines()
    assert len(lines) >= 3
    ids = []
    for line in lines:
        doc = json.loads(line)
        validate(doc, schema())
        assert doc["time"].endswith("Z")
        ids.append(doc["ike_sas"][0]["uniqueid"])
    assert ids == sorted(ids) and len(set(ids)) == len(ids)


def test_watch_text_rounds_and_event_triggered_refresh(sockdir: Path) -> None:
    with FakeDaemon(sockdir / "d.vici", {"list-sas": lambda m: ([("list-sa", _sa_event(7))], Message())}) as d:
        p = subprocess.Popen(ours_argv("--list-sas", "-w5", "--uri", d.uri), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=hermetic_env(), start_new_session=True)
        time.sleep(1.0)
        p.send_signal(signal.SIGTERM)
        out, _ = p.communicate(timeout=10)
    assert p.returncode == 0
    assert out.startswith("gw: #7, ESTABLISHED, IKEv2, 0123456789abcdef_i fedcba9876543210_r*\n")
    assert out.count("gw: #7") == 1  # 5 s interval: one round so far


def test_counters_text_and_json(sockdir: Path) -> None:
    def get_counters(_msg: Message) -> Message:
        msg = Message().begin_section("counters").begin_section("")
        msg.add("ike-rekey-init", "3").add("ike-rekey-resp", "0").end_section()
        msg.begin_section("pq").add("ike-rekey-init", "1").add("invalid", "12").end_section().end_section()
        return msg.add("success", "yes")

    with FakeDaemon(sockdir / "d.vici", {"get-counters": get_counters}) as d:
        text = run_inprocess("--counters", "--all", "--uri", d.uri)
        doc = run_inprocess("--counters", "--all", "--json", "--uri", d.uri)
    assert text.stdout == ("global:\n  ike-rekey-init        : 3\n  ike-rekey-resp        : 0\n"
                           "pq:\n  ike-rekey-init        : 1\n  invalid               : 12\n")
    parsed = json.loads(doc.stdout)
    validate(parsed, schema())
    assert parsed["counters"] == [{"name": None, "counters": {"ike-rekey-init": 3, "ike-rekey-resp": 0}},
                                  {"name": "pq", "counters": {"ike-rekey-init": 1, "invalid": 12}}]
    assert [m.find_str("all") for m in d.of("get-counters")] == ["yes", "yes"]
