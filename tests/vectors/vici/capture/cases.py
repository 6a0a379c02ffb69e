"""Send crafted load-conn/unload-conn/load-pool/... requests to real charon; record replies."""
import json
import sys

from cap import conv, session
from vici.exception import CommandException

K20 = "keyid:#0102030405060708090a0b0c0d0e0f1011121314"
CONN_CASES = [
    ("unknown-kv", {"t": {"foo": "bar"}}),
    ("list-key-as-kv", {"t": {"local_addrs": "192.0.2.1"}}),
    ("kv-key-as-list", {"t": {"version": ["2"]}}),
    ("kv-key-as-empty-list", {"t": {"version": []}}),
    ("unknown-empty-list", {"t": {"foo": []}}),
    ("bad-bool", {"t": {"mobike": "maybe"}}),
    ("bad-time", {"t": {"rekey_time": "1x"}}),
    ("bad-proposal", {"t": {"proposals": ["aes128-foo"]}}),
    ("bad-esp-proposal", {"t": {"children": {"c": {"esp_proposals": ["aes128-sha256", "bogus"]}}}}),
    ("invalid-section", {"t": {"foo": {}}}),
    ("invalid-auth-section", {"t": {"local": {"bar": {}}}}),
    ("cert-missing", {"t": {"local": {"cert1": {}}}}),
    ("cert-both", {"t": {"local": {"cert1": {"file": "/x", "handle": "01"}}}}),
    ("cert-unloadable", {"t": {"local": {"cacert-x": {"file": "/nonexistent.pem"}}}}),
    ("cert-unknown-key", {"t": {"local": {"cert1": {"foo": "x"}}}}),
    ("child-unknown", {"t": {"children": {"c": {"foo": "1"}}}}),
    ("child-list-unknown", {"t": {"children": {"c": {"foo": ["1"]}}}}),
    ("ts-bad-prefix", {"t": {"children": {"c": {"local_ts": ["10.0.0.0/33"]}}}}),
    ("ts-bad-proto", {"t": {"children": {"c": {"local_ts": ["10.0.0.0/8[foo]"]}}}}),
    ("ts-bad-port", {"t": {"children": {"c": {"local_ts": ["10.0.0.0/8[tcp/99999]"]}}}}),
    ("ts-unclosed", {"t": {"children": {"c": {"local_ts": ["10.0.0.0/8[tcp"]}}}}),
    ("ts-bad-addr", {"t": {"children": {"c": {"remote_ts": ["foo"]}}}}),
    ("bad-auth", {"t": {"local": {"auth": "foo"}}}),
    ("auth-Pubkey", {"t": {"local": {"auth": "Pubkey"}}}),
    ("bad-vips", {"t": {"vips": ["abc"]}}),
    ("bad-mode", {"t": {"children": {"c": {"mode": "tunnelx"}}}}),
    ("bad-action", {"t": {"children": {"c": {"start_action": "trap|foo"}}}}),
    ("bad-uint", {"t": {"keyingtries": "abc"}}),
    ("uint-trailing-space", {"t": {"version": "2 "}}),
    ("nonprintable", {"t": {"version": b"\x01"}}),
    ("bad-unique", {"t": {"unique": "yes"}}),
    ("bad-mark", {"t": {"children": {"c": {"mark_in": "abc"}}}}),
    ("bad-if-id", {"t": {"if_id_in": "abc"}}),
    ("bad-dscp", {"t": {"dscp": "2"}}),
    ("bad-tfc", {"t": {"children": {"c": {"tfc_padding": "MTU"}}}}),
    ("bad-packets", {"t": {"children": {"c": {"rekey_packets": "1e3"}}}}),
    ("bad-frag", {"t": {"fragmentation": "maybe"}}),
    ("bad-revocation", {"t": {"remote": {"revocation": "soft"}}}),
    ("bad-round", {"t": {"remote": {"round": "x"}}}),
    ("second-invalid", {"a": {}, "b": {"foo": "1"}}),
    ("children-kv-ignored", {"t": {"children": {"x": "y"}}}),
    ("toplevel-kv-ignored", {"x": "y", "l": ["z"], "t": {}}),
    ("empty-message", {}),
    ("section-case", {"t": {"Local": {"auth": "psk"}, "REMOTE-x": {"auth": "psk"}, "CHILDREN": {"C": {}}}}),
    ("local-prefix", {"t": {"localfoo": {"id": "a"}, "remotebar": {"id": "b"}}}),
    ("child-nested-ignored", {"t": {"children": {"c": {"sub": {"x": "y"}}}}}),
    ("eap-unknown-type", {"t": {"local": {"auth": "eap-foo"}}}),
    ("auth-variants", {"t": {"local": {"auth": "PSK"}, "local-2": {"auth": "XAUTH"}, "local-3": {"auth": "ecdsa"},
                              "local-4": {"auth": "ike:rsa/pss-sha256"}, "local-5": {"auth": "EAP-MD5"},
                              "remote": {"auth": "eap-md5:ecdsa-sha256"}, "remote-2": {"auth": "xauth-"},
                              "remote-3": {"auth": "eap-1"}, "remote-4": {"auth": "eap-vendor-1-2"}}}),
    ("rounds", {"t": {"local-1": {"round": "2", "id": "r2"}, "local-2": {"round": "1", "id": "r1"},
                      "local-3": {"id": "r0"}, "local-4": {"round": "1", "id": "r1b"},
                      "remote-a": {"round": "5", "id": "x5"}, "remote-b": {"id": "x0"}}}),
    ("ids", {"t": {"local": {"id": K20}, "local-2": {"id": ""}, "local-3": {"id": "%any"},
                   "local-4": {"id": "keyid:#0102"}, "local-5": {"id": "asn1dn:#300f310d300b06035504031304746573740a"},
                   "local-6": {"id": "CN=a,O=b"}, "local-7": {"id": "rfc822:u@x"}, "local-8": {"id": "ipv4:10.0.0.1"},
                   "local-9": {"id": "%any6"}, "local-10": {"id": "{27}:hello"}, "local-11": {"id": "fqdn:^a.*b$"},
                   "remote": {"id": "2001:db8::1", "eap_id": "%any", "aaa_id": "a@b", "xauth_id": "x",
                              "ca_id": "CN=ca"},
                   "remote-2": {"groups": ["g1", "CN=g2"], "cert_policy": ["1.2.3"], "revocation": "relaxed"}}}),
    ("ppk-empty", {"t": {"ppk_id": ""}}),
    ("value-syntax-1", {"t": {"version": "0x2", "local_port": "-1", "remote_port": "70000", "dpd_delay": "1d",
                             "dpd_timeout": "2 H", "reauth_time": "", "rekey_time": "m"}}),
    ("value-syntax-2", {"t": {"version": "01", "local_port": " 4500", "reauth_time": "010", "rekey_time": "90 ",
                             "dpd_delay": "0x10"}}),
    ("value-syntax-3", {"t": {"version": "0b10", "children": {"c": {"rekey_bytes": "1k", "life_packets": "0x10",
                             "rekey_time": "2h", "life_time": "1h", "mode": "Transport_Proxy"}}}}),
    ("value-syntax-4", {"t": {"children": {"c": {"rekey_bytes": "2 M", "rekey_packets": "010", "mode": "transport",
                             "dpd_action": "Restart", "close_action": " trap | start ", "priority": "0"},
                             "d": {"rekey_bytes": "1g", "rekey_time": "", "dpd_action": "", "close_action": "none|trap",
                                   "mode": "IPTFS"}}}}),
    ("value-syntax-5", {"t": {"rekey_time": "99999999999", "dpd_delay": "4294967296", "children": {"c": {
                              "rekey_time": "99999999999", "rekey_bytes": "18446744073709551615",
                              "life_packets": "18446744073709551615"}}}}),
    ("value-syntax-6", {"t": {"version": "3", "dpd_delay": "1s", "dpd_timeout": "0"}}),
    ("long-time", {"t": {"rekey_time": "0000000000000000000000001"}}),
    ("addrs", {"t": {"local_addrs": ["a, b", " c ", "'d,e'", ""], "remote_addrs": ["%any6"], "pools": ["x , y"]}}),
    ("proposal-mix", {"t": {"proposals": ["DEFAULT", "aes128-sha256-x25519"],
                            "children": {"c": {"ah_proposals": ["sha1"], "esp_proposals": ["default"]},
                                         "d": {"ah_proposals": ["sha384-esn"]}}}}),
    ("lifetimes", {"t": {"reauth_time": "1h", "rekey_time": "2h", "children": {
        "a": {"rekey_time": "2h", "life_time": "1h"}, "b": {"rand_time": "1h"},
        "c": {"life_bytes": "1000", "rekey_bytes": "2000"}, "e": {"life_time": "0"}}}}),
    ("ts-variants", {"t": {"children": {"c": {
        "local_ts": ["dynamic", "10.0.0.1", "10.0.0.0/8[tcp]", "10.0.0.0/8[any]", "10.0.0.0/8[tcp/any]",
                     "dynamic[tcp/http]", "10.0.0.0/8[17/53]", "10.0.0.0/8[udp/0x35]", "10.0.0.0/8[icmp/2048]",
                     "10.0.0.0/8[icmp/3-4]", "fe80::1-fe80::9", "::1", "10.0.0.0/8[tcp/80-79]"],
        "remote_ts": ["0.0.0.0/0", "10.0.0.0/16", "0.0.0.0/0[tcp]", "::/0[udp/53]", "::/0"]}}}}),
    ("ts-dup-order", {"t": {"children": {"c": {
        "local_ts": ["10.1.0.0/16", "10.2.0.0/16", "10.0.0.0/8", "10.3.0.0/16"],
        "remote_ts": ["10.0.0.0/24[tcp/80]", "10.0.0.0/24", "10.0.0.0/24[tcp]", "10.0.0.0/24"]}}}}),
    ("label", {"t": {"children": {"c": {"label": "system_u:object_r:ipsec_spd_t:s0", "label_mode": "simple"}}}}),
]

UNLOAD_CASES = [
    ("unload-missing-name", {}),
    ("unload-not-found", {"name": "nope"}),
    ("unload-name-list", {"name": ["t"]}),
]

POOL_CASES = [
    ("pool-missing-addrs", {"p": {}}),
    ("pool-attr-no-addrs", {"p": {"dns": ["1.2.3.4"]}}),
    ("pool-bad-attr-value", {"p": {"addrs": "10.0.0.0/24", "dns": ["abc"]}}),
    ("pool-bad-addrs", {"p": {"addrs": "x"}}),
    ("pool-addrs-list", {"p": {"addrs": ["10.0.0.0/24"]}}),
    ("pool-unknown-attr", {"p": {"addrs": "10.0.0.0/24", "foo": ["1.2.3.4"]}}),
    ("pool-unknown-kv", {"p": {"addrs": "10.0.0.0/24", "foo": "x"}}),
    ("pool-kv-attr", {"p": {"addrs": "10.0.0.0/24", "dns": "1.2.3.4"}}),
    ("pool-bad-range", {"p": {"addrs": "10.0.0.5-10.0.0.1"}}),
    ("pool-v6-range-too-large", {"p": {"addrs": "2001:db8::1-2001:db9::1"}}),
    ("pool-mixed-range", {"p": {"addrs": "10.0.0.1-2001:db8::1"}}),
    ("pool-nonprintable", {"p": {"addrs": b"\x01"}}),
    ("pool-empty", {"p": {"addrs": "10.0.0.3/31"}}),
    ("pool-nested", {"p": {"addrs": "10.0.0.0/30", "sub": {"x": "y"}}}),
    ("pool-second-invalid", {"pa": {"addrs": "10.7.0.0/24"}, "pb": {}}),
    ("pool-attrs", {"q1": {"addrs": "10.8.0.0/16", "address": ["10.8.0.1"], "dhcp": ["10.8.0.2/24"],
                           "p_cscf": ["2001:db8::9"], "split_exclude": ["192.168.0.0/16", "fd00::/8"],
                           "28675": ["10.0.0.0/8", "raw"]}}),
    ("pool-host32", {"q2": {"addrs": "10.9.0.0/32"}}),
    ("pool-host32b", {"q3": {"addrs": "10.9.1.1/32"}}),
    ("pool-31", {"q4": {"addrs": "10.9.2.0/31"}}),
    ("pool-nonnet", {"q5": {"addrs": "10.9.3.5/24"}}),
    ("pool-v6", {"q6": {"addrs": "2001:db8:2::/64"}}),
    ("pool-range-spaces", {"q7": {"addrs": "10.9.4.0 - 10.9.4.3"}}),
    ("pool-prefix-40", {"q8": {"addrs": "10.9.5.0/40"}}),
    ("pool-v6-all", {"q9": {"addrs": "::/0"}}),
    ("pool-prefix-abc", {"q10": {"addrs": "10.10.0.0/abc"}}),
    ("pool-prefix-neg", {"q11": {"addrs": "10.10.0.0/-1"}}),
    ("pool-prefix-0", {"q12": {"addrs": "10.10.0.0/0"}}),
    ("pool-v6-129", {"q13": {"addrs": "2001:db8::/129"}}),
    ("pool-any", {"q14": {"addrs": "%any"}}),
    ("pool-v4-host", {"q15": {"addrs": "10.11.0.1"}}),
    ("pool-range-same", {"q16": {"addrs": "10.11.0.1-10.11.0.1"}}),
    ("pool-v6-range", {"q17": {"addrs": "2001:db8::10-2001:db8::20"}}),
    ("pool-attr-subnet-v4-0", {"q18": {"addrs": "10.12.0.0/24", "subnet": ["0.0.0.0/0", "10.0.0.0/33"]}}),
    ("pool-attr-num-zero", {"q19": {"addrs": "10.12.0.0/24", "0": ["1.2.3.4"]}}),
    ("pool-attr-num-prefix", {"q20": {"addrs": "10.12.0.0/24", "3abc": ["1.2.3.4"]}}),
]

def req(v, cmd, body):
    try:
        return conv(v.request(cmd, body))
    except CommandException as e:
        return {"success": "no", "errmsg": str(e).removeprefix("Command failed: ")}

def unload_all(v):
    for n in v.get_conns()["conns"]:
        v.request("unload-conn", {"name": n})
    for n in v.get_pools():
        v.request("unload-pool", {"name": n})

def main(out):
    v = session()
    unload_all(v)
    results = []
    for name, body in CONN_CASES:
        r = {"case": name, "request": conv_req(body), "response": req(v, "load-conn", body)}
        r["get-conns"] = conv(v.get_conns())
        r["list-conn"] = [conv(e) for e in v.list_conns()]
        unload_all(v)
        results.append(r)
    v.request("load-conn", {"t": {}})
    for name, body in UNLOAD_CASES:
        results.append({"case": name, "command": "unload-conn", "request": conv_req(body),
                        "response": req(v, "unload-conn", body)})
    unload_all(v)
    for name, body in POOL_CASES:
        r = {"case": name, "command": "load-pool", "request": conv_req(body), "response": req(v, "load-pool", body)}
        r["get-pools"] = conv(v.get_pools({"leases": "yes"}))
        unload_all(v)
        results.append(r)
    # ordering: conns and pools after reloads/unloads
    seq = []
    for cmd, body in [("load-conn", {"a": {}}), ("load-conn", {"b": {}}), ("load-conn", {"c": {}}),
                      ("unload-conn", {"name": "b"}), ("load-conn", {"b": {}}),
                      ("load-conn", {"a": {"version": "1"}}), ("load-conn", {"c": {}}),
                      ("load-conn", {"c": {"children": {"x": {}}}}),
                      ("load-pool", {"p1": {"addrs": "10.1.0.0/24"}}), ("load-pool", {"p2": {"addrs": "10.2.0.0/24"}}),
                      ("load-pool", {"p1": {"addrs": "10.1.0.0/24", "dns": ["1.1.1.1"]}}),
                      ("load-pool", {"p3": {"addrs": "10.3.0.0/24"}}),
                      ("load-pool", {"p2": {"addrs": "10.2.0.0/25"}}),
                      ("unload-pool", {"name": "p3"}), ("unload-pool", {}), ("unload-pool", {"name": "zz"}),
                      ("get-pools", {"name": "p1"}), ("get-pools", {"leases": "no", "name": "zz"}),
                      ("get-pools", {})]:
        entry = {"command": cmd, "request": conv_req(body), "response": req(v, cmd, body),
                 "get-conns": conv(v.get_conns()), "pools": list(v.get_pools())}
        seq.append(entry)
    unload_all(v)
    results.append({"case": "ordering", "sequence": seq})
    with open(out, "w") as f:
        json.dump({"_note": ("Captured from real charon 6.1.0 (Debian forky strongswan-charon 6.1.0-2) over vici with "
                             "the Python vici package: each case sends 'request' with the named command on a fresh "
                             "store and records the response, then get-conns/list-conns (or get-pools with leases). "
                             "Request values given as str are sent as ASCII bytes; 'hex:' prefixed ones are raw "
                             "bytes."),
                   "cases": results}, f, indent=1)
        f.write("\n")

def conv_req(b):
    if isinstance(b, dict):
        return {k: conv_req(x) for k, x in b.items()}
    if isinstance(b, list):
        return [conv_req(x) for x in b]
    if isinstance(b, bytes):
        return "hex:" + b.hex()
    return b

main(sys.argv[1])
