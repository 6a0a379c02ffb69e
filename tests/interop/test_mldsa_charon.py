"""Acceptance (issue #9): ML-DSA (FIPS 204) certificates between vicid and charon 6.1, both ways.

IKE_AUTH with an RFC 7427 digital signature whose AlgorithmIdentifier is id-ml-dsa-65 (no
parameters, draft-ietf-ipsecme-ikev2-pqc-auth / RFC 9881) over the AUTH octets, with a
certificate chain signed with ML-DSA-65. charon only takes part if its build can load ML-DSA
keys: the test first asks the lab's charon to load the credentials and is skipped, naming
charon's answer, when it cannot (Debian's strongSwan 6.1.0 in the lab has no ML-DSA key type:
neither its x509/pkcs8 parsers nor its openssl plugin know the OIDs). vicid <-> vicid with
ML-DSA is covered by tests/exchange/test_mldsa.py.
"""

from __future__ import annotations

import pytest

from .test_certs_charon import ca, issue, keygen, write_pair
from .test_ike_charon import established, vicid_sas
from .test_tunnel_charon import ping

pytestmark = pytest.mark.interop


def _pki(tmp_path):
    authority = ca("vicid interop ML-DSA CA", "mldsa65")
    moon = issue("moon.example.org", keygen("mldsa65"), authority, san=["moon.example.org"])
    carol = issue("carol.example.org", keygen("mldsa65"), authority, san=["carol.example.org"])
    return write_pair(tmp_path, authority, moon, carol)


@pytest.mark.parametrize("initiator", ["vicid", "charon"])
def test_net_to_net_with_mldsa65(
    initiator, tmp_path, netns_pair, charon_factory, vicid_factory, rootfs_swanctl, rootfs_exec
):
    moon_dir, carol_dir = _pki(tmp_path)
    charon_node, vicid_node = (
        (netns_pair.moon, netns_pair.carol) if initiator == "vicid" else (netns_pair.carol, netns_pair.moon)
    )
    charon_dir, vicid_dir = (moon_dir, carol_dir) if initiator == "vicid" else (carol_dir, moon_dir)
    charon = charon_factory(charon_node, charon_dir, load_all=False)
    loaded = charon.swanctl("--load-creds", "--noprompt")
    text = loaded.stdout + loaded.stderr
    if loaded.returncode != 0 or "loaded private key" not in text:
        pytest.skip(
            "charon 6.1 in the lab cannot load ML-DSA credentials (its build has no ML-DSA key type); "
            f"swanctl --load-creds said: {' | '.join(text.strip().splitlines()[-3:])}"
        )
    assert charon.swanctl("--load-conns").returncode == 0
    vicid = vicid_factory(vicid_node)
    assert rootfs_swanctl(vicid.vici_uri, "--load-all", "--noprompt", confdir=vicid_dir).returncode == 0
    if initiator == "vicid":
        res = rootfs_swanctl(vicid.vici_uri, "--initiate", "--child", "net", "--ike", "certs", timeout=60)
    else:
        res = charon.swanctl("--initiate", "--child", "net", "--ike", "certs", timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr
    established(vicid_sas(rootfs_swanctl, vicid), "certs")
    assert "with ML_DSA_65 successful" in vicid.log_text()
    out = ping(rootfs_exec, netns_pair.carol, netns_pair.carol.inner, netns_pair.moon.inner)
    assert " 0% packet loss" in out.stdout
