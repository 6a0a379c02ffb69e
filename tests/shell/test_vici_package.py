"""strongSwan's `vici` Python package drives every command of a running vicid, over unix and tcp."""

from __future__ import annotations

import pytest
import vici
from vici.exception import CommandException

from tests.shell.certs import make_pki

PSK = b"lab-psk-not-secret-0123456789"
CONN = {
    "gw": {
        "version": "2", "local_addrs": ["192.0.2.2"], "remote_addrs": ["192.0.2.3"],
        "proposals": ["aes256gcm16-sha512-x25519-ke1_mlkem768"],
        "local": {"auth": "psk", "id": "moon.example.org"},
        "remote": {"auth": "psk", "id": "carol.example.org"},
        "children": {"net": {"local_ts": ["198.51.100.0/24"], "remote_ts": ["203.0.113.0/24"],
                             "esp_proposals": ["aes256gcm16-x25519-ke1_mlkem768"]}},
    }
}


@pytest.fixture(params=["unix", "tcp"])
def session(request, vicid):
    s = vicid.session(tcp=request.param == "tcp")
    yield s
    s.transport.close()


def test_version_and_stats(session):
    version = session.version()
    assert version["daemon"] == b"vicid"
    assert version["version"] == b"6.1.0"
    stats = session.stats()
    assert set(stats) >= {"uptime", "workers", "queues", "scheduled", "ikesas", "plugins"}
    assert stats["ikesas"] == {"total": b"0", "half-open": b"0"}


def test_conn_lifecycle(session):
    session.load_conn(CONN)
    assert session.get_conns() == {"conns": [b"gw"]}
    conns = list(session.list_conns())
    assert list(conns[0]) == ["gw"]
    assert conns[0]["gw"]["version"] == b"IKEv2"
    with pytest.raises(CommandException, match="unknown option: bogus, config discarded"):
        session.load_conn({"gw": {**CONN["gw"], "bogus": "1"}})
    assert session.get_conns() == {"conns": [b"gw"]}  # the failed load changed nothing
    session.unload_conn({"name": "gw"})
    assert session.get_conns() == {"conns": []}
    with pytest.raises(CommandException, match="unload: connection 'gw' not found"):
        session.unload_conn({"name": "gw"})


def test_shared_keys_report_ids_only(session, vicid):
    session.load_shared({"id": "ike-1", "type": "IKE", "data": PSK, "owners": ["carol.example.org"]})
    assert session.get_shared() == {"keys": [b"ike-1"]}
    with pytest.raises(CommandException, match="invalid shared key type: bogus"):
        session.load_shared({"type": "bogus", "data": PSK})
    session.unload_shared({"id": "ike-1"})
    assert session.get_shared() == {"keys": []}
    assert PSK.decode() not in vicid.log


def test_keys_certs_and_authorities(session, tmp_path, vicid):
    pki = make_pki(tmp_path)
    reply = session.load_key({"type": "any", "data": pki["key"].read_bytes()})
    key_id = reply["id"]
    assert len(key_id) == 40 and session.get_keys() == {"keys": [key_id]}
    session.load_cert({"type": "X509", "flag": "NONE", "data": pki["cert"].read_bytes()})
    session.load_cert({"type": "X509", "flag": "CA", "data": pki["ca"].read_bytes()})
    with pytest.raises(CommandException, match="ca certificate lacks CA basic constraint, rejected"):
        session.load_cert({"type": "X509", "flag": "CA", "data": pki["cert"].read_bytes()})
    certs = list(session.list_certs())
    assert [(c["type"], c["flag"], c.get("has_privkey")) for c in certs] == [
        (b"X509", b"NONE", b"yes"), (b"X509", b"CA", None)]
    session.load_authority({"test-ca": {"cacert": pki["ca"].read_bytes(), "crl_uris": ["http://crl.example/ca.crl"]}})
    assert session.get_authorities() == {"authorities": [b"test-ca"]}
    listed = list(session.list_authorities())
    assert listed[0]["test-ca"]["cacert"] == b"C=CH, O=vicid test, CN=vicid test CA"
    session.unload_key({"id": key_id})
    session.clear_creds()
    assert list(session.list_certs()) == []
    assert "PRIVATE KEY" not in vicid.log


def test_pools(session):
    session.load_pool({"rw": {"addrs": "198.51.100.128/25", "dns": ["198.51.100.53"]}})
    pools = session.get_pools({"leases": "yes"})
    # as charon: the network address is not handed out, and neither is the broadcast address
    assert pools["rw"]["base"] == b"198.51.100.129" and pools["rw"]["size"] == b"126"
    session.unload_pool({"name": "rw"})
    assert session.get_pools() == {}


def test_algorithms_list_ke_plugins(session):
    algs = session.get_algorithms()
    assert algs["ke"]["ML_KEM_768"] in (b"ml", b"openssl")
    assert algs["ke"]["CURVE_25519"] == b"openssl"


def test_initiate_timeout_terminate_and_errors(session):
    session.load_conn(CONN)
    with pytest.raises(CommandException, match="CHILD_SA config 'nope' not found"):
        for _ in session.initiate({"child": "nope"}):
            pass
    # nobody answers at 192.0.2.3 here: the request gives up after its timeout, the SA stays
    with pytest.raises(CommandException, match="CHILD_SA 'net' not established after 300ms"):
        for _ in session.initiate({"child": "net", "ike": "gw", "timeout": 300}):
            pass
    sas = list(session.list_sas())
    assert [list(sa) for sa in sas] == [["gw"]]
    assert sas[0]["gw"]["state"] == b"CONNECTING" and sas[0]["gw"]["initiator"] == b"yes"
    logs = list(session.terminate({"ike": "gw", "force": "yes", "timeout": 2000}))
    assert list(session.list_sas()) == []
    assert logs and all(entry["ikesa-name"] == b"gw" for entry in logs)  # control-log of that IKE_SA
    with pytest.raises(CommandException, match="no matching SAs to terminate found"):
        for _ in session.terminate({"ike": "gw"}):
            pass
    assert list(session.list_policies({"drop": "yes"})) == []
    session.reload_settings()
    session.flush_certs()


def test_unknown_command_is_reported(session):
    with pytest.raises(vici.exception.SessionException, match="Unexpected response type 2"):
        session.request("no-such-command")  # CMD_UNKNOWN, as charon answers


def test_remaining_commands_answer_as_charon(session, tmp_path):
    """The commands not exercised above, with charon's success/errmsg conventions."""
    pki = make_pki(tmp_path)
    session.load_authority({"ca": {"cacert": pki["ca"].read_bytes()}})
    session.unload_authority({"name": "ca"})
    with pytest.raises(CommandException, match="unload: authority 'ca' not found"):
        session.unload_authority({"name": "ca"})
    with pytest.raises(CommandException, match="no matching SAs to rekey found"):
        session.rekey({"ike": "gw"})
    with pytest.raises(CommandException, match="missing target gateway"):
        session.redirect({"ike": "gw"})
    with pytest.raises(CommandException, match="no matching SAs to redirect found"):
        session.redirect({"ike": "gw", "gateway": "192.0.2.9"})
    session.load_conn(CONN)
    session.install({"child": "net"})  # a trap policy
    session.uninstall({"child": "net"})
    with pytest.raises(CommandException, match="policy 'nope' not found"):
        session.uninstall({"child": "nope"})
    with pytest.raises(CommandException, match="configuration name not found"):
        session.install({"child": "nope"})
    counters = session.request("get-counters")
    assert set(counters["counters"][""]) >= {"ike-init-in-req", "info-out-resp"}
    session.request("reset-counters")
    with pytest.raises(CommandException, match="loading private key from token failed"):
        session.request("load-token", {"handle": "0102"})
