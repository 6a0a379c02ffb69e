"""The README's first command, end to end: examples/demo/demo.py (what run.sh runs after
install.sh) against vicid and against strongSwan 6.1, so the demo cannot rot."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from .netns import existing_namespaces

pytestmark = pytest.mark.interop

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "examples" / "demo"


def test_run_sh_installs_then_runs_the_demo() -> None:
    text = (DEMO / "run.sh").read_text()
    assert os.access(DEMO / "run.sh", os.X_OK)
    assert subprocess.run(["bash", "-n", str(DEMO / "run.sh")]).returncode == 0
    assert "./install.sh" in text and "examples/demo/demo.py" in text and "tests.interop.provision" in text


@pytest.mark.parametrize("peer", ["vicid", "strongswan"])
def test_demo(peer: str, interop_host, request: pytest.FixtureRequest) -> None:
    if peer == "strongswan":
        request.getfixturevalue("interop_rootfs")  # provisioned (or skipped with the reason)
    res = subprocess.run([sys.executable, str(DEMO / "demo.py"), "--peer", peer], cwd=REPO, capture_output=True,
                         text=True, timeout=180, env=dict(os.environ, PYTHONPATH=str(REPO)))
    out = res.stdout
    assert res.returncode == 0, out + res.stderr
    assert "initiate completed successfully" in out
    assert "selected proposal: IKE:AES_GCM_16_256/PRF_HMAC_SHA2_512/CURVE_25519/KE1_ML_KEM_768" in out
    assert "3 packets transmitted, 3 received, 0% packet loss" in out
    assert out.count("UDP-encap: ESP(spi=") >= 4 and "ICMP" not in out
    assert out.count("ESTABLISHED, IKEv2") == 2 and out.count("INSTALLED, TUNNEL-in-UDP, ESP:AES_GCM_16-256") == 2
    assert "demo finished" in out
    # everything it created is gone: its namespaces, its run directory
    made = set(re.findall(r"^   (vicid-\d+-\w+): wan", out, re.M))
    assert len(made) == 2 and not made & existing_namespaces()
    assert not [p for p in Path("/run").glob("vicid-demo-*")]
