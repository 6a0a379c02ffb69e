#!/usr/bin/env bash
# Installs everything the test suite needs and runs all of it: lint, unit, property, shell and
# interop tests (the latter against real strongSwan 6.1 in network namespaces; the root
# filesystem is built once with debootstrap and cached in /var/cache/vicid-interop).
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."

./install.sh
echo "== provisioning the interop lab (strongSwan 6.1, libreswan 5.2)"
.venv/bin/python -m tests.interop.provision || echo "tests/run.sh: interop provisioning failed; interop tests will skip with the reason"
echo "== ruff"
.venv/bin/ruff check --output-format concise .
echo "== pytest"
exec .venv/bin/pytest -q -rs "$@" tests
