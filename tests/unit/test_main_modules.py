"""Importing the ``__main__`` modules starts nothing: tools that walk the package (an import
check, pydoc, a coverage run) must not leave a detached daemon on the default vici socket."""

from __future__ import annotations

import subprocess
import sys


def test_importing_main_modules_runs_nothing():
    out = subprocess.run([sys.executable, "-c", "import vicid.__main__, swanctl.__main__; print('ok')"],
                         capture_output=True, text=True, timeout=60)
    assert (out.returncode, out.stdout, out.stderr) == (0, "ok\n", "")
