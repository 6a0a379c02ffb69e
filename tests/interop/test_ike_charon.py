"""Acceptance (issue #5): vicid negotiates IKEv2 with real charon 6.1, in both directions.

carol (192.0.2.3) initiates to moon (192.0.2.2). In `vicid initiates` vicid is carol, driven by
strongSwan 6.1's swanctl; in `charon initiates` charon is carol and vicid is moon. Each case checks
that both sides list the IKE_SA as ESTABLISHED with the same SPIs and selected algorithms, and the
CHILD_SA with crossed SPIs and traffic selectors.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from . import swanctl_raw
from .conftest import CONFIGS

pytestmark = pytest.mark.interop

# carol's extra connections: an optional third key exchange that moon does not offer (so the
# ke2_none alternative is chosen) and a proposal moon cannot accept at all
EXTRA_CAROL = """
connections {
    opt : connections.pq {
        proposals = aes256gcm16-sha512-x25519-ke1_mlkem768-ke2_mlkem512-ke2_none
    }
    mismatch : connections.pq {
        proposals = aes128-sha256-ecp256
        children { net { esp_proposals = aes128-sha256 } }
    }
}
"""

CASES = {
    # connection: (selected IKE algorithms as list-sas shows them, additional key exchanges)
    "classic": ("CURVE_25519", []),
    "pq": ("CURVE_25519", ["ML_KEM_768"]),
    "pq3": ("CURVE_25519", ["ML_KEM_768", "ML_KEM_1024"]),
    "big": ("MODP_8192", ["ML_KEM_1024"]),
    "opt": ("CURVE_25519", ["ML_KEM_768"]),
}


@pytest.fixture(scope="module")
def carol_confdir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("carol")
    shutil.copy(CONFIGS / "carol" / "strongswan.conf", d / "strongswan.conf")
    (d / "swanctl.conf").write_text((CONFIGS / "carol" / "swanctl.conf").read_text() + EXTRA_CAROL)
    return d


def established(sas: dict, name: str, timeout: float = 0.0, poll=None) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        ike = sas.get(name)
        if ike and ike.get("state") == "ESTABLISHED" and swanctl_raw.child_sas(ike):
            return ike
        if time.monotonic() >= deadline or poll is None:
            raise AssertionError(f"{name} not established: {sas}")
        time.sleep(0.1)
        sas = poll()


def check_pair(ini: dict, resp: dict, ke: str, akes: list[str]) -> None:
    for key in ("initiator-spi", "responder-spi", "encr-alg", "encr-keysize", "prf-alg", "dh-group"):
        assert ini.get(key) == resp.get(key), f"{key}: {ini.get(key)} != {resp.get(key)}"
    assert ini["dh-group"] == ke
    assert [ini.get(f"ake{n}") for n in range(1, len(akes) + 1)] == akes
    assert [resp.get(f"ake{n}") for n in range(1, len(akes) + 1)] == akes
    assert ini.get("initiator") == "yes" and "initiator" not in resp
    (ini_child,) = swanctl_raw.child_sas(ini).values()
    (resp_child,) = swanctl_raw.child_sas(resp).values()
    assert (ini_child["spi-in"], ini_child["spi-out"]) == (resp_child["spi-out"], resp_child["spi-in"])
    assert ini_child["local-ts"] == resp_child["remote-ts"] == ["203.0.113.0/24"]
    assert ini_child["remote-ts"] == resp_child["local-ts"] == ["198.51.100.0/24"]
    assert ini_child["encr-alg"] == resp_child["encr-alg"] == "AES_GCM_16"


def vicid_sas(rootfs_swanctl, vicid) -> dict:
    res = rootfs_swanctl(vicid.vici_uri, "--list-sas", "--pretty", check=True)
    return swanctl_raw.sas(res.stdout)


@pytest.mark.parametrize("conn", list(CASES))
def test_vicid_initiates_to_charon(conn, carol_confdir, netns_pair, charon_factory, vicid_factory,
                                   rootfs_swanctl):
    moon = charon_factory(netns_pair.moon, "moon")
    carol = vicid_factory(netns_pair.carol)
    loaded = rootfs_swanctl(carol.vici_uri, "--load-all", "--noprompt", confdir=carol_confdir)
    assert loaded.returncode == 0, loaded.stdout + loaded.stderr
    res = rootfs_swanctl(carol.vici_uri, "--initiate", "--child", "net", "--ike", conn, timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "initiate completed successfully" in res.stdout
    ini = established(vicid_sas(rootfs_swanctl, carol), conn)
    resp = established(moon.list_sas(), "pq")
    check_pair(ini, resp, *CASES[conn])


@pytest.mark.parametrize("conn", list(CASES))
def test_charon_initiates_to_vicid(conn, carol_confdir, netns_pair, charon_factory, vicid_factory,
                                   rootfs_swanctl):
    moon = vicid_factory(netns_pair.moon)
    loaded = rootfs_swanctl(moon.vici_uri, "--load-all", "--noprompt", confdir=CONFIGS / "moon")
    assert loaded.returncode == 0, loaded.stdout + loaded.stderr
    carol = charon_factory(netns_pair.carol, carol_confdir)
    res = carol.swanctl("--initiate", "--child", "net", "--ike", conn, timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr
    ini = established(carol.list_sas(), conn)
    resp = established(vicid_sas(rootfs_swanctl, moon), "pq", timeout=5,
                       poll=lambda: vicid_sas(rootfs_swanctl, moon))
    check_pair(ini, resp, *CASES[conn])


def test_proposal_mismatch_fails_like_charon(carol_confdir, netns_pair, charon_factory, vicid_factory,
                                              rootfs_swanctl, netns_factory):
    moon = charon_factory(netns_pair.moon, "moon")
    carol = vicid_factory(netns_pair.carol)
    rootfs_swanctl(carol.vici_uri, "--load-all", "--noprompt", confdir=carol_confdir, check=True)
    ours = rootfs_swanctl(carol.vici_uri, "--initiate", "--child", "net", "--ike", "mismatch", timeout=60)
    # the same attempt between two charons
    lab2 = netns_factory()
    charon_moon = charon_factory(lab2.moon, "moon", name="moon2")
    charon_carol = charon_factory(lab2.carol, carol_confdir, name="carol2")
    theirs = charon_carol.swanctl("--initiate", "--child", "net", "--ike", "mismatch", timeout=60)
    assert ours.returncode == theirs.returncode == 1
    last = [line for line in ours.stdout.splitlines() if line.startswith("initiate failed")]
    assert last == [line for line in theirs.stdout.splitlines() if line.startswith("initiate failed")]
    assert "received NO_PROPOSAL_CHOSEN notify error" in ours.stdout
    assert vicid_sas(rootfs_swanctl, carol) == {} and moon.list_sas() == {} and charon_moon.list_sas() == {}
