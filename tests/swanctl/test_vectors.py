"""Golden vectors: strongSwan 6.1's swanctl output for recorded charon 6.1 exchanges.

Each vector (tests/swanctl/vectors, made by record_vectors.py) holds what
the reference swanctl sent and received and what it printed.  Replaying the
daemon's side to our swanctl must yield the very same requests (byte for
byte), stdout, stderr and exit code -- no daemon involved, no normalisation
(the clock is pinned to the recording's).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from swanctl import certs
from tests.swanctl.conftest import VECTORS, needs_default_socket_absent, run_inprocess
from tests.swanctl.viciproxy import Replayer, Transcript

FILES = sorted(VECTORS.glob("*.json"))


def load(path: Path) -> dict:
    return json.loads(path.read_text())


def transcripts(vector: dict) -> list[Transcript]:
    return [Transcript([(d, bytes.fromhex(p)) for d, p in tr]) for tr in vector["transcripts"]]


def comparable(text: str) -> str:
    """Usage texts differ by design in two ways: our extension options, our plugin list."""
    return "".join(line for line in text.splitlines(True)
                   if "(vicid" not in line and not line.startswith("loaded plugins:"))


def test_vectors_exist() -> None:
    assert len(FILES) >= 60, "run: python -m tests.swanctl.record_vectors"


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_replayed_output_is_identical(path: Path, sockdir: Path, utc: None, monkeypatch: pytest.MonkeyPatch) -> None:
    vector = load(path)
    needs_default_socket_absent(vector)
    monkeypatch.setattr(certs, "now", lambda: int(vector["time"]))
    with Replayer(sockdir / "rep.vici", transcripts(vector)) as rep:
        res = run_inprocess(*vector["args"], "--uri", rep.uri)
    assert rep.mismatches == [], "requests differ from swanctl 6.1's"
    assert comparable(res.stdout) == comparable(vector["stdout"])
    assert res.returncode == vector["rc"]
    assert comparable(res.stderr) == comparable(vector["stderr"])
    if comparable(res.stdout + res.stderr) == res.stdout + res.stderr:  # nothing filtered: all of it
        assert (res.stdout, res.stderr) == (vector["stdout"], vector["stderr"])


def test_vectors_carry_no_secrets() -> None:
    """The lab PSK and key material never appear in a recording."""
    for path in FILES:
        text = path.read_text()
        assert "lab-psk-not-secret" not in text and b"lab-psk".hex() not in text
        assert "PRIVATE KEY" not in text
