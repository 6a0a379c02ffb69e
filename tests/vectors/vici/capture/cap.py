"""Capture list-conns / get-pools / get-conns bodies from the running charon into JSON."""
import json
import socket
import sys

import vici


def conv(v):
    if isinstance(v, dict):
        return {k: conv(x) for k, x in v.items()}
    if isinstance(v, list):
        return [conv(x) for x in v]
    return v.decode("ascii")

def session():
    s = socket.socket(socket.AF_UNIX)
    s.connect("/tmp/vicid-cfg/run/charon.vici")
    return vici.Session(s)

def capture(out, source, pools=False):
    v = session()
    ver = v.version()["version"].decode()
    data = {
        "_note": (f"Captured from real charon {ver} (Debian forky strongswan-charon 6.1.0-2, rootfs "
                  "/var/cache/ikelab/forky) in a private netns: swanctl --load-all of " + source +
                  ", then vici.Session.list_conns() (each list-conn event body, in order), get_conns()"
                  + (" and get_pools({'leases': 'yes'})" if pools else "") + ". Values are the ASCII bytes as str."),
        "list-conn": [conv(e) for e in v.list_conns()],
        "get-conns": conv(v.get_conns()),
    }
    if pools:
        data["get-pools"] = conv(v.get_pools({"leases": "yes"}))
    with open(out, "w") as f:
        json.dump(data, f, indent=1)
        f.write("\n")

if __name__ == "__main__":
    capture(sys.argv[1], sys.argv[2], len(sys.argv) > 3)
