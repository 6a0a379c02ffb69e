"""Loader for tests/vectors/*.txt: ``[name]`` sections of ``key = hex`` lines, '#' comments."""

from __future__ import annotations

from pathlib import Path

VECTORS = Path(__file__).resolve().parents[2] / "vectors"


def load(filename: str) -> list[dict[str, str]]:
    entries: list[dict[str, str]] = []
    for line in (VECTORS / filename).read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            entries.append({"name": line.strip("[]")})
        else:
            key, _, value = line.partition("=")
            entries[-1][key.strip()] = value.strip()
    return entries
