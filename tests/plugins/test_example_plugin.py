"""The third-party example (examples/ke-plugin), pip-installed into this environment for the
duration of the module, shows up in the registry and in get-algorithms, and negotiates."""

from __future__ import annotations

import importlib
import shutil
import subprocess
import sys
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import pytest

from tests.plugins.conftest import FakeSettings
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

