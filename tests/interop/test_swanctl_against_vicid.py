"""Acceptance: the real swanctl binaries drive vicid exactly as they drive charon 6.1.

For each configuration (the lab's moon and carol, and a certificate + pool one made here), charon 6.1
runs in a namespace and vicid on the host; both Debian's swanctl 5.9.8 and strongSwan 6.1's swanctl
load the same swanctl.conf into each, and `--list-conns` / `--list-pools` must print the same text.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.interop.conftest import CONFIGS
from tests.shell.certs import make_pki
from tests.shell.conftest import start_vicid, stop_vicid

pytestmark = pytest.mark.interop

CERT_SWANCTL = """
connections {
    rw-cert {
        version = 2
        local_addrs = 192.0.2.2
        pools = rw-pool, rw-pool6
        proposals = aes256gcm16-sha384-ecp384-ke1_mlkem1024, default
        send_certreq = no
        dpd_delay = 30s
        local {
            auth = pubkey
            certs = moon.pem
            id = moon.example.org
        }
        remote {
            auth = pubkey
            cacerts = ca.pem
            revocation = strict
        }
        remote-2 {
            auth = eap-md5
            eap_id = %any
        }
        children {
            rw {
                local_ts = 0.0.0.0/0, ::/0
                esp_proposals = aes128gcm16-ecp256, aes256-sha256-modp3072
                rekey_time = 20m
                dpd_action = restart
                start_action = none
            }
        }
    }
}
pools {
    rw-pool {
        addrs = 198.51.100.128/25
        dns = 198.51.100.53, 198.51.100.54
    }
    rw-pool6 {
        addrs = 2001:db8:1::/112
    }
}
"""


@pytest.fixture(scope="module")
def cert_confdir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("certconf")
    make_pki(d)
    (d / "swanctl.conf").write_text(CERT_SWANCTL)
    shutil.copy(CONFIGS / "moon" / "strongswan.conf", d / "strongswan.conf")
    return d


CASES = ["moon", "carol", "cert", "rich"]
RICH = Path(__file__).resolve().parents[1] / "vectors" / "vici" / "swanctl-rich.conf"


@pytest.fixture(scope="module")
def rich_confdir(tmp_path_factory) -> Path:
    """The many-options configuration the vici golden captures were made with."""
    d = tmp_path_factory.mktemp("richconf")
    shutil.copy(RICH, d / "swanctl.conf")
    shutil.copy(CONFIGS / "moon" / "strongswan.conf", d / "strongswan.conf")
    return d


def confdir_of(case: str, cert_confdir: Path, rich_confdir: Path) -> Path:
    return {"cert": cert_confdir, "rich": rich_confdir}.get(case) or CONFIGS / case


def host_swanctl(uri: str, *args: str, confdir: Path | None = None) -> subprocess.CompletedProcess:
    binary = shutil.which("swanctl")
    if binary is None:
        pytest.skip("Debian's swanctl 5.9.8 is not installed (install.sh installs strongswan-swanctl)")
    extra = ["--file", str(confdir / "swanctl.conf")] if confdir else []
    return subprocess.run([binary, *args, *extra, "--uri", uri], capture_output=True, text=True, timeout=60)


def normalise(text: str) -> str:
    """Drop what legitimately differs between two daemons: uptime, timestamps, plugin lists."""
    return re.sub(r"\d+ (second|minute|hour|day)s?", "N", text)


@pytest.fixture
def vicid_host(tmp_path):
    v = start_vicid(tmp_path, ports=(500, 4500))  # charon.port is the default local_port: keep it
    yield v
    stop_vicid(v)


@pytest.mark.parametrize("case", CASES)
def test_swanctl_61_and_598_print_the_same_for_vicid_and_charon(
        case, cert_confdir, rich_confdir, netns_pair, charon_factory, rootfs_swanctl, vicid_host):
    confdir = confdir_of(case, cert_confdir, rich_confdir)
    charon = charon_factory(netns_pair.moon, confdir, load_all=False)
    outputs: dict[tuple[str, str, str], subprocess.CompletedProcess] = {}
    for daemon, uri in (("charon", charon.vici_uri), ("vicid", vicid_host.uri)):
        runners = {
            "6.1": lambda *a, load=False, uri=uri: rootfs_swanctl(uri, *a, confdir=confdir if load else None),
            "5.9.8": lambda *a, load=False, uri=uri: host_swanctl(uri, *a, confdir=confdir if load else None),
        }
        # rich: --load-all stops at its broken pool, so the connections are loaded on their own
        first = "--load-conns" if case == "rich" else "--load-all"
        outputs[(daemon, "6.1", "first load")] = runners["6.1"](first, load=True)
        for version, run in runners.items():
            for cmd in ("--list-conns", "--list-pools", "--list-certs", "--list-sas", "--stats",
                        "--version", "--load-all"):
                result = run(cmd, "--noprompt", load=True) if cmd == "--load-all" else run(cmd)
                outputs[(daemon, version, cmd)] = result
    for (daemon, version, cmd), result in outputs.items():
        # the "rich" file holds a pool charon rejects: --load-all then fails alike on both (EINVAL)
        expected = 22 if case == "rich" and cmd == "--load-all" else 0
        assert result.returncode == expected, f"{daemon} swanctl {version} {cmd}: {result.stdout}{result.stderr}"
    for version in ("6.1", "5.9.8"):
        for cmd in ("--list-conns", "--list-pools", "--load-all"):
            ours = normalise(outputs[("vicid", version, cmd)].stdout)
            theirs = normalise(outputs[("charon", version, cmd)].stdout)
            assert ours == theirs, f"swanctl {version} {cmd} differs for {case}"
    first = normalise(outputs[("vicid", "6.1", "first load")].stdout)
    assert first == normalise(outputs[("charon", "6.1", "first load")].stdout)
    assert "loaded connection" in outputs[("vicid", "6.1", "first load")].stdout
    if case == "cert":
        assert "rw-pool" in outputs[("vicid", "6.1", "--list-pools")].stdout
        certs = outputs[("vicid", "6.1", "--list-certs")].stdout
        assert "moon.example.org" in certs and "vicid test CA" in certs
        assert normalise(certs) == normalise(outputs[("charon", "6.1", "--list-certs")].stdout)
