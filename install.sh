#!/usr/bin/env bash
# Installs what vicid and its tests need on a fresh Debian machine (run as root), idempotently:
# Debian packages (Python venv, strongSwan's swanctl 5.9.8, debootstrap and iproute2 for the
# interop lab) and a virtualenv in .venv with vicid and its test extras installed editable.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")"

[ "$(id -u)" = 0 ] || { echo "install.sh: run as root (it installs Debian packages)" >&2; exit 1; }

PKGS="python3 python3-venv python3-dev gcc strongswan-swanctl debootstrap iproute2 iputils-ping procps tcpdump"
missing=$(for p in $PKGS; do dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q "install ok installed" || echo "$p"; done)
if [ -n "$missing" ]; then
    echo "install.sh: installing Debian packages:" $missing
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/pip install -q --disable-pip-version-check -U pip >/dev/null
.venv/bin/pip install -q --disable-pip-version-check -e '.[test]'
echo "install.sh: ready ($(.venv/bin/python --version), vicid installed in .venv)"
