"""Fixtures for the KE plugin tests: a dict-backed strongswan.conf, vector files, a registry."""

from __future__ import annotations

from pathlib import Path

import pytest

from vicid.ke import KeRegistry

VECTORS = Path(__file__).resolve().parent.parent / "vectors"


class FakeSettings(dict):
    """strongswan.conf as a flat dict of dotted keys, with the registry's ``get``."""

    def get(self, key: str, default: str | None = None) -> str | None:  # type: ignore[override]
        return super().get(key, default)


def read_vectors(name: str) -> dict[str, list[dict[str, str]]]:
    """Parse tests/vectors/<name>: ``[section]`` headers, ``key = hex`` lines, blank-line
    separated cases, ``#`` comments (the provenance header)."""
    sections: dict[str, list[dict[str, str]]] = {}
    section, case = "", {}
    for raw in [*(VECTORS / name).read_text().splitlines(), ""]:
        line = raw.strip()
        if line.startswith("#"):
            continue
        if not line or line.startswith("["):
            if case:
                sections.setdefault(section, []).append(case)
                case = {}
            if line:
                section = line.strip("[]")
            continue
        key, _, value = line.partition(" = ")
        case[key] = value
    return sections


@pytest.fixture
def settings() -> FakeSettings:
    return FakeSettings()


@pytest.fixture(scope="session")
def registry() -> KeRegistry:
    """All installed plugins with default settings (built once: probing costs a little)."""
    return KeRegistry.from_entry_points(FakeSettings())
