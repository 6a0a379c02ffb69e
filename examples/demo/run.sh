#!/usr/bin/env bash
# The vicid demo: installs vicid, creates two network namespaces, brings up a post-quantum IKEv2
# tunnel (X25519 + ML-KEM-768) with the real swanctl, pings through it, shows swanctl --list-sas,
# and removes everything it created. Run as root from a clone of the repository.
#   ./examples/demo/run.sh                    vicid <-> vicid
#   ./examples/demo/run.sh --peer strongswan  vicid <-> strongSwan 6.1's charon (interop lab)
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/../.."
./install.sh
if [ "${1:-}" = "--peer" ] && [ "${2:-}" = "strongswan" ]; then
    .venv/bin/python -m tests.interop.provision   # strongSwan 6.1 root filesystem, cached
fi
PYTHONPATH=$PWD exec .venv/bin/python examples/demo/demo.py "$@"
