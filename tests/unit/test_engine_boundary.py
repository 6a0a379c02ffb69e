"""The engine (vicid/ike) must not import trio, socket, pyroute2, os or time (design §1.1)."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import pytest

import vicid.ike

FORBIDDEN = {"trio", "socket", "pyroute2", "os", "time"}
ROOT = Path(vicid.ike.__file__).parent
SOURCES = sorted(ROOT.rglob("*.py"))


def _imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_forbidden_imports(path):
    assert not _imported_roots(path) & FORBIDDEN


def test_every_engine_module_imports():
    for info in pkgutil.walk_packages(vicid.ike.__path__, "vicid.ike."):
        importlib.import_module(info.name)
