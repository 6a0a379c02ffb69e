#!/usr/bin/env bash
# The vicid demo: install, start vicid, load swanctl.conf with the real swanctl, list it, stop.
set -euo pipefail
top=$(dirname "$(readlink -f "$0")")/../..
cd "$top"
./install.sh

demo=examples/demo
mkdir -p /run/vicid-demo
.venv/bin/vicid --foreground --conf "$demo/strongswan.conf" --pid-file /run/vicid-demo/vicid.pid \
    2>/run/vicid-demo/stderr.log &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do [ -S /run/vicid-demo/charon.vici ] && break; sleep 0.05; done

uri=unix:///run/vicid-demo/charon.vici
swanctl() { command swanctl --uri "$uri" "$@" 2>/dev/null; }   # stderr: swanctl's own plugin noise
echo "== swanctl --version --daemon"; swanctl --version --daemon
echo "== swanctl --load-all";         swanctl --load-all --noprompt --file "$demo/swanctl.conf"
echo "== swanctl --list-conns";       swanctl --list-conns
echo "== swanctl --list-pools";       swanctl --list-pools
echo "== swanctl --stats";            swanctl --stats
echo "== vicid log (/run/vicid-demo/vicid.log)"; cat /run/vicid-demo/vicid.log
