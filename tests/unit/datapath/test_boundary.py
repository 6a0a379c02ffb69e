"""The pure datapath/kernel modules import no I/O: no trio, socket, os, time or pyroute2 (design §3.2)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import vicid

ROOT = Path(vicid.__file__).parent
PURE = ["datapath/esp.py", "datapath/replay.py", "datapath/sadb.py", "datapath/ippacket.py",
        "kernel/port.py", "kernel/selector.py", "kernel/xfrm_msg.py"]
FORBIDDEN = {"trio", "socket", "os", "time", "pyroute2"}


@pytest.mark.parametrize("rel", PURE)
def test_pure_module_imports(rel):
    tree = ast.parse((ROOT / rel).read_text())
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    assert not roots & FORBIDDEN, roots & FORBIDDEN
