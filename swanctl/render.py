"""swanctl's text output for vici replies and events, byte for byte.

Each function is a port of the matching callback in strongSwan's
src/swanctl/commands/*.c: values are collected while walking the element
stream (only printable ones, lists joined by single spaces), and a missing
value prints as "(null)" exactly as glibc's printf does for a NULL "%s".
"""

from __future__ import annotations

from .message import Cursor, Message, printable, text

Table = dict[str, str]


def n(value: str | None) -> str:
    """printf("%s", NULL) in glibc."""
    return "(null)" if value is None else value


def collect(cur: Cursor, table: Table) -> int:
    """Walk the current section into TABLE like sa_values/sa_list (values, list items joined)."""

    def kv(_c: Cursor, name: str, value: bytes) -> int:
        if printable(value):
            table[name] = text(value)
        return 0

    def li(_c: Cursor, name: str, value: bytes) -> int:
        if printable(value):
            old = table.get(name)
            table[name] = text(value) if old is None else f"{old} {text(value)}"
        return 0

    return cur.parse_cb(None, kv, li)


def label(prefix: str, value: str | None) -> str:
    """print_label(): a hex-encoded security label as text ("" if absent/invalid)."""
    if value is None:
        return ""
    raw = _from_hex(value)
    if not raw or raw == b"\0":
        return ""
    if raw[-1] != 0:
        raw += b"\0"
    body = raw[:-1]
    shown = "".join(chr(b) if 0x20 <= b < 0x7F else "?" for b in body)
    return f"{prefix}{shown}\n" if shown else ""


def _from_hex(value: str) -> bytes:
    """chunk_from_hex(): pairs of hex digits, non-hex characters skipped, odd length padded."""
    digits = [c for c in value if c in "0123456789abcdefABCDEF"]
    if len(digits) % 2:
        digits.insert(0, "0")
    return bytes(int("".join(digits[i:i + 2]), 16) for i in range(0, len(digits), 2))


# -- list-sas ---------------------------------------------------------------

def _ake(t: Table) -> str:
    return "".join(f"/KE{i}_{t[f'ake{i}']}" for i in range(1, 8) if t.get(f"ake{i}") is not None)


def _child_sa(cur: Cursor, out: list[str]) -> int:
    c: Table = {}
    ret = collect(cur, c)
    if ret:
        return ret
    g = c.get
    line = f"  {n(g('name'))}: #{n(g('uniqueid'))}, reqid {n(g('reqid'))}"
    if g("per-cpu-sas") is not None:
        line += f", cpu {g('cpu') if g('cpu') is not None else '-'}"
    line += f", {n(g('state'))}, {n(g('mode'))}{'-in-UDP' if g('encap') is not None else ''}, {n(g('protocol'))}:"
    if g("encr-alg") is not None:
        line += g("encr-alg")
        if g("encr-keysize") is not None:
            line += f"-{g('encr-keysize')}"
    if g("integ-alg") is not None:
        if g("encr-alg") is not None:
            line += "/"
        line += g("integ-alg")
        if g("integ-keysize") is not None:
            line += f"-{g('integ-keysize')}"
    if g("prf-alg") is not None:
        line += f"/{g('prf-alg')}"
    if g("dh-group") is not None:
        line += f"/{g('dh-group')}"
    line += _ake(c)
    if g("esn") is not None:
        line += "/ESN"
    out.append(line + "\n")

    line = f"    installed {n(g('install-time'))}s ago"
    if g("rekey-time") is not None:
        line += f", rekeying in {g('rekey-time')}s"
    if g("life-time") is not None:
        line += f", expires in {g('life-time')}s"
    out.append(line + "\n")
    for d, tag in (("in", "in "), ("out", "out")):
        cpi = g(f"cpi-{d}")
        line = f"    {tag} {n(g(f'spi-{d}'))}{'/' if cpi is not None else ''}{cpi or ''}"
        mark, if_id = g(f"mark-{d}"), g(f"if-id-{d}")
        if mark is not None or if_id is not None:
            line += " ("
            if mark is not None:
                line += f"0x{mark}"
                if g(f"mark-mask-{d}") is not None:
                    line += f"/0x{g(f'mark-mask-{d}')}"
            else:
                line += "-"
            if if_id is not None:
                line += f"|0x{if_id}"
            line += ")"
        line += f", {n(g(f'bytes-{d}')):>6} bytes, {n(g(f'packets-{d}')):>5} packets"
        if g(f"use-{d}") is not None:
            line += f", {g(f'use-{d}'):>5}s ago"
        out.append(line + "\n")
    out.append(label("    label  ", g("label")))
    out.append(f"    local  {n(g('local-ts'))}\n")
    out.append(f"    remote {n(g('remote-ts'))}\n")
    return 0


def _ike_header(t: Table) -> str:
    g = t.get
    init = g("initiator") == "yes"
    out = [f"{n(g('name'))}: #{n(g('uniqueid'))}, {n(g('state'))}, IKEv{n(g('version'))}, "
           f"{n(g('initiator-spi'))}_i{'*' if init else ''} {n(g('responder-spi'))}_r{'' if init else '*'}\n"]
    line = f"  local  '{n(g('local-id'))}' @ {n(g('local-host'))}[{n(g('local-port'))}]"
    if g("local-vips") is not None:
        line += f" [{g('local-vips')}]"
    out.append(line + "\n")
    line = f"  remote '{n(g('remote-id'))}' @ {n(g('remote-host'))}[{n(g('remote-port'))}]"
    if g("remote-eap-id") is not None:
        line += f" EAP: '{g('remote-eap-id')}'"
    if g("remote-xauth-id") is not None:
        line += f" XAuth: '{g('remote-xauth-id')}'"
    if g("remote-vips") is not None:
        line += f" [{g('remote-vips')}]"
    out.append(line + "\n")
    if g("encr-alg") is not None:
        line = f"  {g('encr-alg')}"
        if g("encr-keysize") is not None:
            line += f"-{g('encr-keysize')}"
        if g("integ-alg") is not None:
            line += f"/{g('integ-alg')}"
        if g("integ-keysize") is not None:
            line += f"-{g('integ-keysize')}"
        line += f"/{n(g('prf-alg'))}/{n(g('dh-group'))}{_ake(t)}"
        if g("ppk") == "yes":
            line += "/PPK"
        out.append(line + "\n")
    if g("established") is not None:
        line = f"  established {g('established')}s ago"
        if g("rekey-time") is not None:
            line += f", rekeying in {g('rekey-time')}s"
        if g("reauth-time") is not None:
            line += f", reauth in {g('reauth-time')}s"
        if g("life-time") is not None:
            line += f", expires in {g('life-time')}s"
        out.append(line + "\n")
    for key, tag in (("tasks-queued", "queued:  "), ("tasks-active", "active:  "), ("tasks-passive", "passive: ")):
        if g(key) is not None:
            out.append(f"  {tag}{g(key)}\n")
    return "".join(out)


def sa_event(msg: Message) -> tuple[str, int]:
    """A list-sa / child-updown / ike-updown event as --list-sas prints it; (text, status)."""
    out: list[str] = []

    def ike_sas(cur: Cursor, name: str) -> int:
        t: Table = {"name": name}

        def ike_sa(cur: Cursor, sect: str) -> int:
            if sect == "child-sas":
                out.append(_ike_header(t))
                return cur.parse_cb(lambda c, _n: _child_sa(c, out), None, None)
            return 0

        def kv(_c: Cursor, key: str, value: bytes) -> int:
            if printable(value):
                t[key] = text(value)
            return 0

        def li(_c: Cursor, key: str, value: bytes) -> int:
            if printable(value):
                t[key] = text(value) if key not in t else f"{t[key]} {text(value)}"
            return 0

        return cur.parse_cb(ike_sa, kv, li)

    ret = msg.parse_cb(ike_sas, None, None)
    return "".join(out), ret


# -- list-conns -------------------------------------------------------------

def conn_event(msg: Message) -> tuple[str, int]:
    out: list[str] = []

    def conns(cur: Cursor, name: str) -> int:
        version = msg.find_str(f"{name}.version", "")
        reauth = msg.find_str(f"{name}.reauth_time", "0")
        rekey = msg.find_str(f"{name}.rekey_time", "0")
        dpd = msg.find_str(f"{name}.dpd_delay", "0")
        ike: Table = {"dpd_delay": dpd, "local_port": msg.find_str(f"{name}.local_port", "0"),
                      "remote_port": msg.find_str(f"{name}.remote_port", "0")}
        line = f"{name}: {version}, "
        if version == "IKEv1" and reauth == "0":
            reauth = rekey
        line += "no reauthentication" if reauth == "0" else f"reauthentication every {reauth}s"
        if version != "IKEv1":
            line += ", no rekeying" if rekey == "0" else f", rekeying every {rekey}s"
        if dpd != "0":
            line += f", dpd delay {dpd}s"
        out.append(line + "\n")
        ppk_id = msg.find_str(f"{name}.ppk_id")
        ppk_req = msg.find_str(f"{name}.ppk_required")
        if ppk_id is not None or ppk_req is not None:
            out.append(f"  ppk: {ppk_id or ''}{', ' if ppk_id is not None else ''}"
                       f"{'not ' if ppk_req != 'yes' else ''}required\n")
        return cur.parse_cb(lambda c, s: _conn_section(c, s, ike, out), None,
                            lambda c, k, v: _conn_list(k, v, ike, out))

    ret = msg.parse_cb(conns, None, None)
    return "".join(out), ret


def _conn_list(name: str, value: bytes, ike: Table, out: list[str]) -> int:
    if printable(value):
        if name == "local_addrs":
            out.append(f"  local:  {text(value)}[{ike['local_port']}]\n")
        if name == "remote_addrs":
            out.append(f"  remote: {text(value)}[{ike['remote_port']}]\n")
    return 0


def _conn_section(cur: Cursor, name: str, ike: Table, out: list[str]) -> int:
    if name == "children":
        return cur.parse_cb(lambda c, s: _child_cfg(c, s, ike, out), None, None)
    if name.startswith("local") or name.startswith("remote"):
        a: Table = {}
        ret = collect(cur, a)
        if ret == 0:
            cls = a.get("class", "unspecified")
            if cls.lower() == "eap":
                cls = a.get("eap-type", cls)
            out.append(f"  {'local' if name.startswith('local') else 'remote'} {cls} authentication:\n")
            for key, tag in (("id", "id"), ("ca_id", "ca_id"), ("eap_id", "eap_id"), ("xauth_id", "xauth_id"),
                             ("aaa_id", "aaa_id"), ("groups", "groups"), ("cert_policy", "cert policy"),
                             ("certs", "certs"), ("cacerts", "cacerts")):
                if a.get(key) is not None:
                    out.append(f"    {tag}: {a[key]}\n")
        return ret
    return 0


def _child_cfg(cur: Cursor, name: str, ike: Table, out: list[str]) -> int:
    c: Table = {}
    ret = collect(cur, c)
    if ret:
        return ret
    mode = c.get("mode")
    line = f"  {name}: {n(mode)}, "
    no_time, no_bytes, no_packets = (c.get(k) == "0" for k in ("rekey_time", "rekey_bytes", "rekey_packets"))
    no_dpd = ike.get("dpd_delay") == "0"
    if (mode or "").upper() in ("PASS", "DROP") or (no_time and no_bytes and no_packets):
        line += "no rekeying"
    else:
        line += "rekeying every"
        sep = False
        if not no_time:
            line += f" {n(c.get('rekey_time'))}s"
            sep = True
        if not no_bytes:
            line += f"{' or' if sep else ''} {n(c.get('rekey_bytes'))} bytes"
            sep = True
        if not no_packets:
            line += f"{' or' if sep else ''} {n(c.get('rekey_packets'))} packets"
    if not no_dpd:
        line += f", dpd action is {n(c.get('dpd_action'))}"
    out.append(line + "\n")
    out.append(label("    label:  ", c.get("label")))
    out.append(f"    local:  {n(c.get('local-ts'))}\n")
    out.append(f"    remote: {n(c.get('remote-ts'))}\n")
    if c.get("interface") is not None:
        out.append(f"    interface: {c['interface']}\n")
    if c.get("priority") is not None:
        out.append(f"    priority: {c['priority']}\n")
    return 0


# -- list-pols, list-authorities, list-pools, list-algs --------------------

def policy_event(msg: Message) -> tuple[str, int]:
    out: list[str] = []

    def policies(cur: Cursor, name: str) -> int:
        p: Table = {}
        ret = collect(cur, p)
        out.append(f"{name}, reqid {n(p.get('reqid'))}, {n(p.get('mode'))}\n")
        out.append(label("  label:  ", p.get("label")))
        out.append(f"  local:  {n(p.get('local-ts'))}\n")
        out.append(f"  remote: {n(p.get('remote-ts'))}\n")
        return ret

    ret = msg.parse_cb(policies, None, None)
    return "".join(out), ret


def authority_event(msg: Message) -> tuple[str, int]:
    out: list[str] = []

    def authority(cur: Cursor, name: str) -> int:
        out.append(f"{name}:\n")
        labeled: set[str] = set()  # the first URI of a list carries the label

        def kv(_c: Cursor, key: str, value: bytes) -> int:
            if printable(value):
                out.append(f"  {key}: {text(value)}\n")
            return 0

        def li(_c: Cursor, key: str, value: bytes) -> int:
            if printable(value) and key in ("crl_uris", "ocsp_uris"):
                tag = " " * 10 if key in labeled else f"{key + ':':<10}"
                labeled.add(key)
                out.append(f"  {tag} {text(value)}\n")
            return 0

        return cur.parse_cb(None, kv, li)

    ret = msg.parse_cb(authority, None, None)
    return "".join(out), ret


def pools_reply(msg: Message) -> tuple[str, int]:
    out: list[str] = []

    def leases(cur: Cursor, name: str, pool: str) -> int:
        if name == "leases":
            return cur.parse_cb(lambda c, s: leases(c, s, pool), None, None)
        addr = msg.find_str(f"{pool}.leases.{name}.address", "")
        status = msg.find_str(f"{pool}.leases.{name}.status", "")
        ident = msg.find_str(f"{pool}.leases.{name}.identity", "")
        out.append(f"  {addr:<30} {status:<8} '{ident}'\n")
        return 0

    def pool(cur: Cursor, name: str) -> int:
        counts = (f"{msg.find_str(f'{name}.online', '')} / {msg.find_str(f'{name}.offline', '')} / "
                  f"{msg.find_str(f'{name}.size', '')}")[:31]  # char leases[32]
        out.append(f"{name:<20} {msg.find_str(f'{name}.base', ''):<30} {counts:>16}\n")
        return cur.parse_cb(lambda c, s: leases(c, s, name), None, None)

    ret = msg.parse_cb(pool, None, None)
    return "".join(out), ret


def algs_reply(msg: Message) -> tuple[str, int]:
    out: list[str] = []

    def kind(cur: Cursor, name: str) -> int:
        out.append(f"{name}:\n")

        def kv(_c: Cursor, alg: str, value: bytes) -> int:
            if printable(value):
                out.append(f"  {alg}[{text(value)}]\n")
            return 0

        return cur.parse_cb(None, kv, None)

    ret = msg.parse_cb(kind, None, None)
    return "".join(out), ret


# -- stats, version, counters, logs ----------------------------------------

def stats_reply(msg: Message) -> str:
    f = msg.find_str
    out = [
        f"uptime: {f('uptime.running', '')}, since {f('uptime.since', '')}\n",
        f"worker threads: {f('workers.total', '')} total, {f('workers.idle', '')} idle, working: "
        f"{f('workers.active.critical', '')}/{f('workers.active.high', '')}/"
        f"{f('workers.active.medium', '')}/{f('workers.active.low', '')}\n",
        f"job queues: {f('queues.critical', '')}/{f('queues.high', '')}/{f('queues.medium', '')}/"
        f"{f('queues.low', '')}\n",
        f"jobs scheduled: {f('scheduled', '')}\n",
        f"IKE_SAs: {f('ikesas.total', '')} total, {f('ikesas.half-open', '')} half-open\n",
    ]
    if f("mem.total") is not None:
        out.append(f"memory usage: {f('mem.total', '')} bytes, {f('mem.allocs', '')} allocations\n")
    if f("mallinfo.sbrk") is not None:
        out.append(f"mallinfo: sbrk {f('mallinfo.sbrk', '')}, mmap {f('mallinfo.mmap', '')}, "
                   f"used {f('mallinfo.used', '')}, free {f('mallinfo.free', '')}\n")
    plugins: list[str] = []
    # the C callback prints every item with "%.*s", printable or not
    msg.parse_cb(None, None, lambda _c, _k, v: plugins.append(" " + text(v)) or 0)
    out.append("loaded plugins:" + "".join(plugins) + "\n")
    return "".join(out)


def version_reply(msg: Message) -> str:
    f = msg.find_str
    return (f"strongSwan {f('version', '')} {f('daemon', '')} "
            f"({f('sysname', '')}, {f('release', '')}, {f('machine', '')})\n")


def counters_reply(msg: Message) -> tuple[str, int]:
    out: list[str] = []

    def conn(cur: Cursor, name: str) -> int:
        out.append(f"{name or 'global'}:\n")

        def kv(_c: Cursor, key: str, value: bytes) -> int:
            if printable(value):
                out.append(f"  {key:<22}: {text(value)}\n")
            return 0

        return cur.parse_cb(None, kv, None)

    ret = msg.parse_cb(lambda c, _s: c.parse_cb(conn, None, None), None, None)
    return "".join(out), ret


def control_log(msg: Message) -> str:
    """A control-log event during --initiate/--terminate."""
    return f"[{msg.find_str('group', '   ')}] {msg.find_str('msg', '')}\n"


def log_event(msg: Message) -> str:
    """A log event for --log: one line per line of the message."""
    current = msg.find_str("msg")
    if current is None:
        return ""
    thread = msg.find_int("thread", 0)
    prefix = f"{'-' if thread < 0 else ''}{abs(thread):02d}[{msg.find_str('group', '   ')}] "  # "%.2d"
    return "".join(f"{prefix}{line}\n" for line in current.split("\n"))
