"""The third-party example (examples/ke-plugin), pip-installed into this environment for the
duration of the module, shows up in the registry and in get-algorithms, its keyword works in
proposals, and two in-memory engines negotiate it."""

from __future__ import annotations

import importlib
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from importlib import metadata
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.plugins.conftest import FakeSettings
from vicid.ike.proposal import ProposalError, parse_proposal
from vicid.ike.sa import IkeState
from vicid.ike.wire.enums import ProtocolId, TransformType
from vicid.ke import KeRegistry

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "ke-plugin"
DIST = "vicid-ke-example"


def _pip(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pip", *args], capture_output=True, text=True, timeout=300)


def _installed() -> bool:
    try:
        metadata.version(DIST)
    except metadata.PackageNotFoundError:
        return False
    return True


@pytest.fixture(scope="module")
def example_installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    if _installed():
        pytest.skip(f"{DIST} is already installed here; not touching someone else's install")
    # Build from a copy so no build/ or egg-info lands in the source tree.
    src = tmp_path_factory.mktemp("ke-plugin") / "ke-plugin"
    shutil.copytree(EXAMPLE, src)
    result = _pip("install", "--no-deps", "--quiet", str(src))
    if result.returncode != 0:
        pytest.skip(f"cannot pip install the example here: {result.stderr.strip()[-300:]}")
    importlib.invalidate_caches()
    try:
        yield
    finally:
        _pip("uninstall", "--yes", "--quiet", DIST)
        importlib.invalidate_caches()
        sys.modules.pop("vicid_ke_example", None)


def test_example_in_registry_and_algorithms(example_installed: None) -> None:
    reg = KeRegistry.from_entry_points(FakeSettings())
    assert "example" in reg.plugins
    assert 1025 in reg.supported()
    assert reg.algorithms()["1025"] == "example"  # private IDs print as numbers
    assert reg.lookup("x25519mlkem768toy") == 1025 and reg.is_kem(1025)
    # The built-ins are untouched.
    assert reg.algorithms()["CURVE_25519"] == "openssl"


def test_example_negotiates_through_the_generic_calls(example_installed: None) -> None:
    reg = KeRegistry.from_entry_points(FakeSettings())
    for _ in range(3):
        ini, res = reg.create(1025), reg.create(1025)
        res.set_peer_value(ini.public_value())
        ini.set_peer_value(res.public_value())
        assert ini.shared_secret() == res.shared_secret()
        assert len(ini.public_value()) == 32 + 1184 and len(res.public_value()) == 32 + 1088


def test_example_respects_charon_load(example_installed: None) -> None:
    reg = KeRegistry.from_entry_points(FakeSettings({"charon.plugins.example.load": "no"}))
    assert 1025 not in reg.supported()
    reg = KeRegistry.from_entry_points(FakeSettings({"charon.load": "openssl example"}))
    assert reg.plugins == ["openssl", "example"]



def _negotiate(reg: KeRegistry, ike: str, **settings: bool):
    """carol and moon in memory, both with ``reg``; returns carol's IKE_SA and moon's effects."""
    from tests.exchange.helpers import CAROL, CAROL_ID, MOON, MOON_ID, Node, child_cfg, creds, ep, peer_cfg
    from tests.exchange.test_multi_ke import run
    from vicid.ike.manager import IkeSaManager
    from vicid.ike.rng import SystemRng
    from vicid.ike.settings import EngineSettings

    engine = replace(EngineSettings(), **settings)
    carol_peer = peer_cfg("hybrid", CAROL, MOON, CAROL_ID, MOON_ID, ike,
                          [child_cfg("net", ["10.1.0.0/16"], ["10.2.0.0/16"])])
    moon_peer = peer_cfg("hybrid", MOON, "%any", MOON_ID, CAROL_ID, ike,
                         [child_cfg("net", ["10.2.0.0/16"], ["10.1.0.0/16"])])

    def side(name: str, host: str, peer) -> Node:
        manager = IkeSaManager(engine, reg, SystemRng(), lambda: [peer], creds(CAROL_ID, MOON_ID))
        return Node(name, manager, [peer], host)

    pair = SimpleNamespace(carol=side("carol", CAROL, carol_peer), moon=side("moon", MOON, moon_peer))
    pair.carol.manager.initiate(carol_peer, carol_peer.children[0], ep(CAROL), ep(MOON), 0.0, request_id=1)
    run(pair)
    return pair


def test_example_method_is_negotiated_in_the_engine(example_installed: None) -> None:
    """Acceptance 4: the plugin's keyword works in a proposal (`ke1_x25519mlkem768toy`) and two
    engines select private-use method 1025 in IKE_INTERMEDIATE once they know each other as
    strongSwan (vendor ID), as charon requires for IDs >= 1024."""
    reg = KeRegistry.from_entry_points(FakeSettings())
    ike = "aes256gcm16-sha512-x25519-ke1_x25519mlkem768toy"
    proposal = parse_proposal(ProtocolId.IKE, ike)
    assert proposal.algorithms(TransformType.ADDKE1)[0].id == 1025
    pair = _negotiate(reg, ike, send_vendor_id=True)
    for side in (pair.carol, pair.moon):
        sa = side.sa
        assert sa.state == IkeState.ESTABLISHED
        assert sa.proposal.get_algorithm(TransformType.ADDKE1).id == 1025
        assert sa.proposal.get_algorithm(TransformType.KE).id == 31
        assert len(sa.children) == 1
    # both derived the same keys through the plugin: the CHILD_SA SPIs pair up
    c, m = pair.carol.sa.children[0], pair.moon.sa.children[0]
    assert (c.spi_in, c.spi_out) == (m.spi_out, m.spi_in)


def test_example_method_needs_a_known_peer_like_charon(example_installed: None) -> None:
    """Without vendor IDs (or accept_private_algs) private-use methods are not selected."""
    reg = KeRegistry.from_entry_points(FakeSettings())
    pair = _negotiate(reg, "aes256gcm16-sha512-x25519-ke1_x25519mlkem768toy")
    assert all(sa.state != IkeState.ESTABLISHED for sa in pair.carol.manager.ike_sas())
    pair = _negotiate(reg, "aes256gcm16-sha512-x25519-ke1_x25519mlkem768toy", accept_private_algs=True)
    assert pair.carol.sa.state == IkeState.ESTABLISHED


def test_unknown_keyword_still_rejected() -> None:
    with pytest.raises(ProposalError):
        parse_proposal(ProtocolId.IKE, "aes256gcm16-sha512-x25519-ke1_nosuchmethod")


def test_daemon_lists_and_accepts_the_example_method(example_installed: None, tmp_path: Path) -> None:
    """The real daemon, driven by the vici package: get-algorithms names the plugin, and a
    connection using the plugin's keyword loads and lists like any other proposal."""
    from tests.shell.conftest import start_vicid, stop_vicid

    daemon = start_vicid(tmp_path)
    try:
        session = daemon.session()
        assert session.get_algorithms()["ke"]["1025"] == b"example"
        session.load_conn({"hybrid": {
            "remote_addrs": ["192.0.2.2"],
            "proposals": ["aes256gcm16-sha512-x25519-ke1_x25519mlkem768toy"],
            "local-1": {"auth": "psk"}, "remote-1": {"auth": "psk"},
        }})
        conns = list(session.list_conns())
        assert [name for block in conns for name in block] == ["hybrid"]
        # charon prints a method without a name as its number (``%N``)
        assert conns[0]["hybrid"]["proposals"]["0"]["ake1"] == [b"(1025)"]
    finally:
        stop_vicid(daemon)
