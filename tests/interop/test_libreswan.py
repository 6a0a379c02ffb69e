"""Acceptance (issue #5): libreswan 5.2 establishes a classic IKE SA with vicid in both directions.

libreswan cannot install ESP on this kernel (and has no userspace ESP), so its CHILD_SA always
fails after the IKE SA is up: as initiator it reports the IKE SA established; as responder it
answers IKE_AUTH with TEMPORARY_FAILURE once its IKE SA is established.
"""

from __future__ import annotations

import re

import pytest

from .conftest import CONFIGS
from .test_ike_charon import vicid_sas

pytestmark = pytest.mark.interop


def test_libreswan_initiates_to_vicid(netns_pair, vicid_factory, pluto_factory, rootfs_swanctl):
    moon = vicid_factory(netns_pair.moon)
    rootfs_swanctl(moon.vici_uri, "--load-all", "--noprompt", confdir=CONFIGS / "moon", check=True)
    carol = pluto_factory(netns_pair.carol, "carol-libreswan")
    carol.ipsec("add", "classic", check=True)
    try:
        res = carol.ipsec("up", "classic", timeout=30)
        assert "established IKE SA" in res.stdout + res.stderr, res.stdout + res.stderr
        ike = vicid_sas(rootfs_swanctl, moon)["pq"]
        assert ike["state"] == "ESTABLISHED" and ike["dh-group"] == "CURVE_25519"
        assert ike["remote-id"] == "carol.example.org"
        spi = re.search(r"IKE SPIi=([0-9a-f]+)|\bSPIi ([0-9a-f]+)", carol.log_text())
        if spi:  # pluto logs the SPIs when it is verbose enough
            assert ike["initiator-spi"] == (spi.group(1) or spi.group(2)).zfill(16)
    finally:
        carol.ipsec("delete", "classic")


def test_vicid_initiates_to_libreswan(netns_pair, vicid_factory, pluto_factory, rootfs_swanctl):
    moon = pluto_factory(netns_pair.moon, "moon-libreswan")
    moon.ipsec("add", "classic", check=True)
    carol = vicid_factory(netns_pair.carol)
    rootfs_swanctl(carol.vici_uri, "--load-all", "--noprompt", confdir=CONFIGS / "carol", check=True)
    res = rootfs_swanctl(carol.vici_uri, "--initiate", "--child", "net", "--ike", "classic", timeout=60)
    # libreswan authenticated vicid and established its IKE SA...
    assert "responder established IKE SA" in moon.log_text(), moon.log_text()[-3000:]
    # ...then failed its CHILD_SA install and said so, which ends the attempt on vicid's side
    # (as charon does: an error notify in the IKE_AUTH response ends the IKE_SA on our side)
    assert "received TEMPORARY_FAILURE notify error" in res.stdout, res.stdout
    assert res.returncode == 1
