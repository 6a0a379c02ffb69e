"""--json: listings as JSON documents following swanctl/schema/swanctl.schema.json.

The schema is the contract: names are vici's with '-' turned into '_',
counts and times are integers (times in seconds, as vici reports them),
flags are booleans, lists are always lists, and absent optional values are
left out rather than null.  Certificates carry both the parsed summary and
the PEM.  A value that does not fit its type (a non-number where a number is
due) is left out instead of breaking the document.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable

from . import ident
from .message import Cursor, Message, printable, text

SCHEMA_VERSION = 1


def _int(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value, 10)
    except ValueError:
        return None


def _put(obj: dict, key: str, value: object) -> None:
    if value is not None:
        obj[key] = value


def _walk(section: dict) -> dict:
    """A vici (sub)tree with values as str (non-printable values as 0x-hex)."""
    out: dict = {}
    for key, value in section.items():
        if isinstance(value, dict):
            out[key] = _walk(value)
        elif isinstance(value, list):
            out[key] = [_str(v) for v in value]
        else:
            out[key] = _str(value)
    return out


def _str(value: bytes) -> str:
    return text(value) if printable(value) else "0x" + value.hex()


def _doc(kind: str, **body: object) -> dict:
    return {"schema": SCHEMA_VERSION, "kind": kind, **body}


# -- SAs ------------------------------------------------------------------------------

def _algs(obj: dict, src: dict) -> None:
    for key in ("encr-alg", "integ-alg", "prf-alg", "dh-group"):
        _put(obj, key.replace("-", "_"), src.get(key))
    for key in ("encr-keysize", "integ-keysize"):
        _put(obj, key.replace("-", "_"), _int(src.get(key)))
    obj["ake"] = [{"n": i, "method": src[f"ake{i}"]} for i in range(1, 8) if f"ake{i}" in src]


def _child_sa(name: str, c: dict) -> dict:
    obj: dict = {"section": name}
    _put(obj, "name", c.get("name"))
    _put(obj, "uniqueid", _int(c.get("uniqueid")))
    _put(obj, "reqid", _int(c.get("reqid")))
    _put(obj, "state", c.get("state"))
    _put(obj, "mode", c.get("mode"))
    _put(obj, "protocol", c.get("protocol"))
    _put(obj, "label", c.get("label"))
    obj["encap"] = c.get("encap") == "yes"
    obj["per_cpu_sas"] = c.get("per-cpu-sas") == "yes"
    _put(obj, "cpu", _int(c.get("cpu")))
    _algs(obj, c)
    obj["esn"] = c.get("esn") == "1"
    for key in ("install-time", "rekey-time", "life-time"):
        _put(obj, key.replace("-", "_"), _int(c.get(key)))
    for d in ("in", "out"):
        way: dict = {}
        for key in ("spi", "cpi", "mark", "mark-mask", "if-id"):
            _put(way, key.replace("-", "_"), c.get(f"{key}-{d}"))
        for key in ("bytes", "packets", "use"):
            _put(way, key, _int(c.get(f"{key}-{d}")))
        obj[d] = way
    obj["local_ts"] = list(c.get("local-ts", []))
    obj["remote_ts"] = list(c.get("remote-ts", []))
    return obj


def ike_sa(name: str, s: dict) -> dict:
    """One IKE_SA of a list-sa/updown event tree."""
    obj: dict = {"name": name}
    _put(obj, "uniqueid", _int(s.get("uniqueid")))
    _put(obj, "version", _int(s.get("version")))
    _put(obj, "state", s.get("state"))
    for side in ("local", "remote"):
        end: dict = {}
        _put(end, "host", s.get(f"{side}-host"))
        _put(end, "port", _int(s.get(f"{side}-port")))
        _put(end, "id", s.get(f"{side}-id"))
        if side == "remote":
            _put(end, "eap_id", s.get("remote-eap-id"))
            _put(end, "xauth_id", s.get("remote-xauth-id"))
        end["vips"] = list(s.get(f"{side}-vips", []))
        obj[side] = end
    obj["initiator"] = s.get("initiator") == "yes"
    _put(obj, "initiator_spi", s.get("initiator-spi"))
    _put(obj, "responder_spi", s.get("responder-spi"))
    obj["nat"] = {k: s.get(f"nat-{k}") == "yes" for k in ("local", "remote", "fake", "any")}
    _put(obj, "if_id_in", s.get("if-id-in"))
    _put(obj, "if_id_out", s.get("if-id-out"))
    _algs(obj, s)
    obj["ppk"] = s.get("ppk") == "yes"
    for key in ("established", "rekey-time", "reauth-time", "life-time"):
        _put(obj, key.replace("-", "_"), _int(s.get(key)))
    obj["tasks"] = {k: list(s.get(f"tasks-{k}", [])) for k in ("queued", "active", "passive")}
    children = s.get("child-sas", {})
    obj["child_sas"] = [_child_sa(k, v) for k, v in children.items() if isinstance(v, dict)]
    return obj


def _tree(msg: Message) -> dict:
    return _walk(msg.tree())


def list_sas(events: list[Message]) -> dict:
    sas = []
    for ev in events:
        for name, sa in _tree(ev).items():
            if isinstance(sa, dict):
                sas.append(ike_sa(name, sa))
    return _doc("list-sas", ike_sas=sas)


# -- configuration ----------------------------------------------------------------------

def _auth(name: str, a: dict) -> dict:
    obj: dict = {"round": _int(name.split("-")[-1]) or 0}
    for key in ("class", "eap-type", "eap-vendor", "xauth", "revocation", "id", "ca_id", "aaa_id", "eap_id",
                "xauth_id"):
        _put(obj, key.replace("-", "_"), a.get(key))
    for key in ("groups", "cert_policy", "certs", "cacerts"):
        obj[key] = list(a.get(key, []))
    return obj


def _proposals(section: object) -> list[dict]:
    """vici's proposals sections ({"0": {"encr": [...], ...}, ...}) as a list of transform maps."""
    if not isinstance(section, dict):
        return []
    return [{k: list(v) for k, v in p.items() if isinstance(v, list)} for p in section.values() if isinstance(p, dict)]


def _child_cfg(name: str, c: dict) -> dict:
    obj: dict = {"name": name}
    _put(obj, "mode", c.get("mode"))
    _put(obj, "label", c.get("label"))
    for key in ("rekey_time", "rekey_bytes", "rekey_packets", "priority"):
        _put(obj, key, _int(c.get(key)))
    for key in ("dpd_action", "close_action", "interface"):
        _put(obj, key, c.get(key))
    obj["esp_proposals"] = _proposals(c.get("esp_proposals"))
    obj["ah_proposals"] = _proposals(c.get("ah_proposals"))
    obj["local_ts"] = list(c.get("local-ts", []))
    obj["remote_ts"] = list(c.get("remote-ts", []))
    return obj


def list_conns(events: list[Message]) -> dict:
    conns = []
    for ev in events:
        for name, c in _tree(ev).items():
            if not isinstance(c, dict):
                continue
            obj: dict = {"name": name}
            _put(obj, "version", c.get("version"))
            obj["local_addrs"] = list(c.get("local_addrs", []))
            obj["remote_addrs"] = list(c.get("remote_addrs", []))
            for key in ("local_port", "remote_port", "reauth_time", "rekey_time", "dpd_delay", "dpd_timeout"):
                _put(obj, key, _int(c.get(key)))
            _put(obj, "unique", c.get("unique"))
            _put(obj, "ppk_id", c.get("ppk_id"))
            obj["ppk_required"] = c.get("ppk_required") == "yes"
            obj["proposals"] = _proposals(c.get("proposals"))
            obj["local_auth"] = [_auth(k, v) for k, v in c.items() if k.startswith("local") and isinstance(v, dict)]
            obj["remote_auth"] = [_auth(k, v) for k, v in c.items() if k.startswith("remote") and isinstance(v, dict)]
            children = c.get("children", {})
            obj["children"] = [_child_cfg(k, v) for k, v in children.items() if isinstance(v, dict)]
            conns.append(obj)
    return _doc("list-conns", connections=conns)


def list_pols(events: list[Message]) -> dict:
    pols = []
    for ev in events:
        for name, p in _tree(ev).items():
            if not isinstance(p, dict):
                continue
            obj: dict = {"name": name}
            for key in ("child", "ike", "mode", "label"):
                _put(obj, key, p.get(key))
            _put(obj, "reqid", _int(p.get("reqid")))
            obj["local_ts"] = list(p.get("local-ts", []))
            obj["remote_ts"] = list(p.get("remote-ts", []))
            pols.append(obj)
    return _doc("list-pols", policies=pols)


def list_authorities(events: list[Message]) -> dict:
    auths = []
    for ev in events:
        for name, a in _tree(ev).items():
            if not isinstance(a, dict):
                continue
            obj: dict = {"name": name}
            _put(obj, "cacert", a.get("cacert"))
            obj["crl_uris"] = list(a.get("crl_uris", []))
            obj["ocsp_uris"] = list(a.get("ocsp_uris", []))
            _put(obj, "cert_uri_base", a.get("cert_uri_base"))
            auths.append(obj)
    return _doc("list-authorities", authorities=auths)


def list_pools(reply: Message) -> dict:
    pools = []
    for name, p in _tree(reply).items():
        if not isinstance(p, dict):
            continue
        obj: dict = {"name": name}
        _put(obj, "base", p.get("base"))
        for key in ("size", "online", "offline"):
            _put(obj, key, _int(p.get(key)))
        leases = p.get("leases", {})
        obj["leases"] = [{k: v for k, v in lease.items() if k in ("address", "identity", "status")}
                         for lease in leases.values() if isinstance(lease, dict)]
        pools.append(obj)
    return _doc("list-pools", pools=pools)


def list_algs(reply: Message) -> dict:
    algs: dict[str, list[dict]] = {}
    cur = reply.cursor()

    def section(c: Cursor, kind: str) -> int:
        items = algs.setdefault(kind, [])
        return c.parse_cb(None, lambda _c, k, v: items.append({"name": k, "plugin": _str(v)}) or 0, None)

    cur.parse_cb(section, None, None)
    return _doc("list-algs", algorithms=algs)


# -- daemon information ------------------------------------------------------------------

def stats(reply: Message) -> dict:
    t = _tree(reply)

    def ints(d: dict) -> dict:
        out: dict = {}
        for k, v in d.items():
            value = _int(v) if isinstance(v, str) else ints(v) if isinstance(v, dict) else None
            if value is not None:
                out[k.replace("-", "_")] = value
        return out

    obj: dict = {"uptime": {k: v for k, v in t.get("uptime", {}).items() if isinstance(v, str)}}
    for key in ("workers", "queues", "ikesas", "mem", "mallinfo"):
        if isinstance(t.get(key), dict):
            obj[key] = ints(t[key])
    _put(obj, "scheduled", _int(t.get("scheduled")) if isinstance(t.get("scheduled"), str) else None)
    obj["plugins"] = list(t.get("plugins", []))
    return _doc("stats", **obj)


def version(reply: Message | None, swanctl: str) -> dict:
    """--version: this client's version, with --daemon also the daemon's."""
    if reply is None:
        return _doc("version", swanctl=swanctl)
    t = _tree(reply)
    daemon = {k: v for k, v in t.items() if k in ("daemon", "version", "sysname", "release", "machine")}
    return _doc("version", swanctl=swanctl, daemon=daemon)


def counters(reply: Message) -> dict:
    t = _tree(reply)
    sets = []
    for name, values in t.get("counters", {}).items():
        if isinstance(values, dict):
            sets.append({"name": name or None, "counters": {k: _int(v) for k, v in values.items()
                                                            if isinstance(v, str) and _int(v) is not None}})
    return _doc("counters", counters=sets)


# -- certificates --------------------------------------------------------------------------

def _iso(t: int | None) -> str | None:
    return None if t is None else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def list_certs(items: list[dict]) -> dict:
    return _doc("list-certs", certs=items)


def cert(ev: Message, err: Callable[[str], None]) -> dict | None:
    from . import certs  # cryptography is only needed for certificates
    data = ev.find("data")
    if data is None:
        err("received incomplete certificate data\n")
        return None
    ctype = (ev.find_str("type", "ANY") or "ANY").upper()
    obj: dict = {"type": ctype}
    if ctype == "X509":
        _put(obj, "flag", ev.find_str("flag"))
    obj["has_privkey"] = ev.find_str("has_privkey", "no") == "yes"
    parsed = certs._parse(ctype, data, ev) if ctype in certs.TYPES else None
    if parsed is None:
        err("parsing certificate failed\n")
        return None
    _put(obj, "subject", getattr(parsed, "subject", None))
    _put(obj, "issuer", getattr(parsed, "issuer", None) or None)
    nb, na = certs._validity(parsed)
    _put(obj, "not_before", _iso(nb))
    _put(obj, "not_after", _iso(na))
    if isinstance(parsed, certs.X509):
        obj["serial"] = ident.colon_hex(certs.skip_zero(parsed.serial))
        obj["alt_names"] = parsed.alt_names
        names = [("ca", certs.CA), ("crl_sign", certs.CRL_SIGN), ("ocsp_signing", certs.OCSP_SIGNER),
                 ("server_auth", certs.SERVER_AUTH), ("client_auth", certs.CLIENT_AUTH),
                 ("ike_intermediate", certs.IKE_INTERMEDIATE), ("ms_smartcard_logon", certs.MS_SMARTCARD),
                 ("self_signed", certs.SELF_SIGNED)]
        obj["flags"] = [n for n, bit in names if parsed.flags & bit]
        obj["crl_uris"] = [u for u, _ in parsed.crl_uris]
        obj["ocsp_uris"] = parsed.ocsp_uris
        if parsed.pathlen != certs.NO_CONSTRAINT:
            obj["pathlen"] = parsed.pathlen
        if parsed.auth_key_id is not None:
            obj["authkey_id"] = ident.colon_hex(parsed.auth_key_id)
    elif isinstance(parsed, certs.Crl):
        obj["serial"] = ident.colon_hex(certs.skip_zero(parsed.serial))
        obj["revoked"] = [{"serial": ident.colon_hex(s), "date": _iso(t), "reason": r} for s, t, r in parsed.revoked]
    key = getattr(parsed, "key", None)
    if key is not None:
        keyid, subjkey = key.fingerprints()
        obj["pubkey"] = {"type": key.type, "bits": key.bits, "keyid": ident.colon_hex(keyid),
                         "subjkey": ident.colon_hex(subjkey)}
    body = base64.encodebytes(certs._der_of(parsed)).decode().replace("\n", "")
    label = certs.PEM_LABELS.get(ctype, "CERTIFICATE")
    obj["pem"] = (f"-----BEGIN {label}-----\n" + "\n".join(body[i:i + 64] for i in range(0, len(body), 64))
                  + f"\n-----END {label}-----\n")
    return obj
