"""Parse a vici ``load-conn`` body into PeerConfig objects as charon's ``vici_config.c`` does.

The body is walked in message order like charon's ``message->parse``: key/values go to the
``*_kv`` rule table of the current level, list items to the ``*_li`` table, sub-sections to the
section handler (levels without one ignore them). A key/value whose name is only a list rule (or
the reverse) is an unknown option. Empty lists call nothing, so they are never an error.
The first problem raises :class:`ConfigError` with charon's reply text.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

from vicid.config import ext
from vicid.config.values import (
    U64_MAX,
    if_id_from_string,
    mark_from_string,
    parse_bool,
    parse_bytes,
    parse_map,
    parse_string,
    parse_time,
    parse_uint32,
    parse_uint64,
    printable,
    stringify,
    strtoul,
    tokens,
)
from vicid.ike.config import (
    U32,
    Action,
    AuthClass,
    AuthConfig,
    AuthRule,
    CertPolicy,
    CertValidation,
    ChildConfig,
    Childless,
    DscpCopy,
    Fragmentation,
    HwOffload,
    IkeVersion,
    IpsecMode,
    Lifetime,
    OcspPolicy,
    PeerConfig,
    SecLabelMode,
    UniquePolicy,
)
from vicid.ike.proposal import ProposalError, default_proposals, parse_proposals
from vicid.ike.wire.enums import ProtocolId

DEFAULT_IKE_REKEY_TIME = 4 * 60 * 60
DEFAULT_CHILD_REKEY_TIME = 60 * 60


class ConfigError(Exception):
    """A load-conn failure; ``str()`` is charon's ``errmsg``."""


def unknown(name: str) -> ConfigError:
    return ConfigError(f"unknown option: {name}, config discarded")


def invalid(name: str) -> ConfigError:
    return ConfigError(f"invalid value for: {name}, config discarded")


@dataclass(frozen=True)
class LoadContext:
    """Daemon facts charon's parser consults."""

    ike_port: int = 500  # charon->socket->get_port(): the default local_port
    read_file: Callable[[str], bytes] | None = None  # for cert<suffix> { file = ... }
    netdb: Any = None  # protocol/service names for traffic selectors (vicid.ike.ts.NetDbLookup)


# A rule parses one raw value into a mutable state dict; False means "invalid value".
Rule = Callable[[dict[str, Any], bytes], bool]


def _apply(rules: Mapping[str, Rule], name: str, raw: bytes, state: dict[str, Any]) -> None:
    rule = rules.get(name)
    if rule is None:
        raise unknown(name)
    if not rule(state, raw):
        raise invalid(name)


def walk(section: Mapping[str, Any], kv: Mapping[str, Rule] | None, li: Mapping[str, Rule] | None,
         sections: Callable[[str, Mapping[str, Any]], None] | None, state: dict[str, Any]) -> None:
    """``message->parse`` on one level: dispatch elements in order to the given handlers."""
    for name, value in section.items():
        if isinstance(value, Mapping):
            if sections is not None:
                sections(name, value)
        elif isinstance(value, list):
            for item in value:
                if li is not None:
                    _apply(li, name, bytes(item), state)
        elif kv is not None:
            _apply(kv, name, bytes(value), state)


# --- rule builders ----------------------------------------------------------------------------

def _set(key: str, parse: Callable[[bytes], Any]) -> Rule:
    def rule(state: dict[str, Any], raw: bytes) -> bool:
        value = parse(raw)
        if value is None:
            return False
        state[key] = value
        return True
    return rule


def _append(key: str, parse: Callable[[bytes], Any]) -> Rule:
    def rule(state: dict[str, Any], raw: bytes) -> bool:
        value = parse(raw)
        if value is None:
            return False
        state.setdefault(key, []).append(value)
        return True
    return rule


def _choice(table: dict[str, Any]) -> Callable[[bytes], Any]:
    return lambda raw: parse_map(raw, table)


def _time32(raw: bytes) -> int | None:
    value = parse_time(raw)
    return None if value is None else value & U32


def _dscp(raw: bytes) -> int | None:
    value = parse_uint32(raw, base=2)
    return None if value is None else value & 0x3F


def _if_id(raw: bytes) -> int | None:
    text = stringify(raw, 32)
    return None if text is None else if_id_from_string(text)


def _mark(allow_unique: bool, allow_same: bool) -> Callable[[bytes], tuple[int, int] | None]:
    def parse(raw: bytes) -> tuple[int, int] | None:
        text = stringify(raw, 32)
        return None if text is None else mark_from_string(text, allow_unique, allow_same)
    return parse


def _peer_id(raw: bytes) -> Any:
    text = stringify(raw)
    return None if text is None else ext.identity_from_string(text)


def _regex_id(raw: bytes) -> Any:
    text = stringify(raw)
    return None if text is None else ext.identity_from_string_with_regex(text)


def _host(raw: bytes) -> Any:
    text = stringify(raw, 64)
    return None if text is None else host_from_string(text)


def host_from_string(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """``host_create_from_string(text, 0)``: ``%any``/``%any4``/``%any6`` are the any-addresses."""
    if text in ("%any", "%any4"):
        return ipaddress.IPv4Address(0)
    if text == "%any6":
        return ipaddress.IPv6Address(0)
    if "%" in text:  # inet_pton knows no scope IDs
        return None
    try:
        if "." in text:
            return None if ":" in text else ipaddress.IPv4Address(text)
        return ipaddress.IPv6Address(text)
    except ValueError:
        return None


def _stringlist(key: str) -> Rule:
    """``parse_stringlist``: items joined with ", " into one string."""
    def rule(state: dict[str, Any], raw: bytes) -> bool:
        if not printable(raw):
            return False
        text = raw.decode("ascii")
        state[key] = f"{state[key]}, {text}" if state.get(key) is not None else text
        return True
    return rule


def _proposals(protocol: ProtocolId) -> Rule:
    def rule(state: dict[str, Any], raw: bytes) -> bool:
        try:
            state.setdefault("proposals", []).extend(parse_proposals(protocol, [raw]))
        except ProposalError:
            return False
        return True
    return rule


def _ts(key: str, netdb: Any) -> Rule:
    def rule(state: dict[str, Any], raw: bytes) -> bool:
        text = stringify(raw)
        ts = None if text is None else ext.ts_parse(text, netdb)
        if ts is None:
            return False
        state.setdefault(key, []).append(ts)
        return True
    return rule


def _flag(key: str) -> Rule:
    """A boolean option, stored positively (charon keeps e.g. mobike as OPT_NO_MOBIKE)."""
    return _set(key, parse_bool)


# --- peer level -------------------------------------------------------------------------------

PEER_KV: dict[str, Rule] = {
    "version": _set("version", parse_uint32),
    "aggressive": _flag("aggressive"),
    "pull": _flag("pull"),
    "dscp": _set("dscp", _dscp),
    "encap": _flag("encap"),
    "mobike": _flag("mobike"),
    "dpd_delay": _set("dpd_delay", parse_time),
    "dpd_timeout": _set("dpd_timeout", parse_time),
    "fragmentation": _set("fragmentation", _choice({
        "yes": Fragmentation.YES, "accept": Fragmentation.ACCEPT, "no": Fragmentation.NO,
        "force": Fragmentation.FORCE})),
    "childless": _set("childless", _choice({
        "allow": Childless.ALLOW, "prefer": Childless.PREFER, "never": Childless.NEVER,
        "force": Childless.FORCE})),
    "send_certreq": _flag("send_certreq"),
    "send_cert": _set("send_cert", _choice({
        "ifasked": CertPolicy.SEND_IF_ASKED, "always": CertPolicy.ALWAYS_SEND,
        "never": CertPolicy.NEVER_SEND})),
    "ocsp": _set("ocsp", _choice({
        "both": OcspPolicy.SEND_BOTH, "reply": OcspPolicy.SEND_REPLY,
        "request": OcspPolicy.SEND_REQUEST, "never": OcspPolicy.SEND_NEVER})),
    "keyingtries": _set("keyingtries", parse_uint32),
    "unique": _set("unique", _choice({
        "never": UniquePolicy.UNIQUE_NEVER, "no": UniquePolicy.UNIQUE_NO,
        "replace": UniquePolicy.UNIQUE_REPLACE, "keep": UniquePolicy.UNIQUE_KEEP})),
    "local_port": _set("local_port", parse_uint32),
    "remote_port": _set("remote_port", parse_uint32),
    "reauth_time": _set("reauth_time", parse_time),
    "rekey_time": _set("rekey_time", parse_time),
    "over_time": _set("over_time", parse_time),
    "rand_time": _set("rand_time", parse_time),
    "ppk_id": _set("ppk_id", _peer_id),
    "ppk_required": _flag("ppk_required"),
    "if_id_in": _set("if_id_in", _if_id),
    "if_id_out": _set("if_id_out", _if_id),
}

PEER_LI: dict[str, Rule] = {
    "local_addrs": _stringlist("local_addrs"),
    "remote_addrs": _stringlist("remote_addrs"),
    "proposals": _proposals(ProtocolId.IKE),
    "vips": _append("vips", _host),
    "pools": _stringlist("pools"),
}


def iter_conns(body: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """The top-level sections of a load-conn body; top-level key/values and lists are ignored."""
    for name, value in body.items():
        if isinstance(value, Mapping):
            yield name, value


def parse_conn(name: str, section: Mapping[str, Any], ctx: LoadContext | None = None) -> PeerConfig:
    """``config_sn``: one connection section to a PeerConfig; raises ConfigError."""
    ctx = ctx or LoadContext()
    state: dict[str, Any] = {"local": [], "remote": [], "children": []}

    def subsection(sub: str, body: Mapping[str, Any]) -> None:
        lowered = sub.lower()
        if lowered == "children":
            walk(body, None, None, lambda cname, cbody: state["children"].append(
                parse_child(cname, cbody, ctx)), {})
        elif lowered.startswith(("local", "remote")):
            auth = parse_auth(body, ctx)
            rounds = state["local" if lowered.startswith("local") else "remote"]
            pos = next((i for i, a in enumerate(rounds) if auth.round < a.round), len(rounds))
            rounds.insert(pos, auth)
        else:
            raise ConfigError(f"invalid section: {sub}")

    walk(section, PEER_KV, PEER_LI, subsection, state)
    return build_peer(name, state, ctx)


def _defined(value: int | None) -> int | None:
    """charon marks unset lifetimes with LFT_UNDEFINED (all ones), so that value means unset."""
    return None if value == U64_MAX else value


def _lifetimes(state: dict[str, Any]) -> dict[str, int]:
    """IKE rekey/reauth/over/rand defaults exactly as ``config_sn`` derives them."""
    rekey, reauth = _defined(state.get("rekey_time")), _defined(state.get("reauth_time"))
    if rekey is None and reauth is None:
        rekey, reauth = DEFAULT_IKE_REKEY_TIME, 0
    rekey, reauth = rekey or 0, reauth or 0
    over = _defined(state.get("over_time"))
    if over is None:
        over = max(rekey, reauth) // 10
    rand = _defined(state.get("rand_time"))
    if rand is None:
        base = min(rekey, reauth) if rekey and reauth else max(rekey, reauth)
        rand = min(over, base // 2)
    # peer_cfg_create_t holds uint32s; peer_cfg_create then caps the jitter
    rekey, reauth, over, rand = (v & U32 for v in (rekey, reauth, over, rand))
    if rekey and rand > rekey:
        rand = rekey
    if reauth and rand > reauth:
        rand = reauth
    return {"rekey_time": rekey, "reauth_time": reauth, "over_time": over, "rand_time": rand}


def build_peer(name: str, state: dict[str, Any], ctx: LoadContext) -> PeerConfig:
    dpd, dpd_timeout = state.get("dpd_delay", 0) & U32, state.get("dpd_timeout", 0) & U32
    if dpd and dpd_timeout and dpd > dpd_timeout:
        dpd_timeout = dpd  # peer_cfg_create raises the timeout to the interval
    local_port = state.get("local_port", 0) or ctx.ike_port
    pools = tuple(tokens(state["pools"], ",", " ")) if state.get("pools") is not None else ()
    opts = {k: state[k] for k in ("aggressive", "pull", "mobike", "ppk_required", "encap",
                                  "send_certreq", "fragmentation", "childless", "send_cert",
                                  "ocsp", "unique", "keyingtries", "dscp", "if_id_in",
                                  "if_id_out", "ppk_id") if k in state}
    return PeerConfig(
        name=name,
        version=state.get("version", IkeVersion.IKEV2),  # charon 6 defaults to IKEv2
        local_addrs=state.get("local_addrs") or "%any",
        remote_addrs=state.get("remote_addrs") or "%any",
        local_port=local_port & 0xFFFF,
        remote_port=state.get("remote_port", 500) & 0xFFFF,
        proposals=tuple(state.get("proposals") or default_proposals(ProtocolId.IKE)),
        dpd_delay=dpd,
        dpd_timeout=dpd_timeout,
        vips=tuple(state.get("vips", ())),
        pools=pools,
        local_auth=tuple(state["local"]) or (AuthConfig(),),
        remote_auth=tuple(state["remote"]) or (AuthConfig(),),
        children=tuple(state["children"]),
        **_lifetimes(state),
        **opts,
    )


# --- authentication rounds --------------------------------------------------------------------

def _auth_rule(state: dict[str, Any], raw: bytes) -> bool:
    text = stringify(raw, 64)
    rules = auth_rules(text) if text is not None else []
    for rule, value in rules:
        _add_rule(state, rule, value)
    return bool(rules)


def auth_rules(text: str) -> list[tuple[AuthRule, Any]]:
    """``parse_auth``: the rules an ``auth`` value adds, in charon's order; [] if invalid."""
    if text.startswith(("ike:", "pubkey", "rsa", "ecdsa")):
        return [(AuthRule.AUTH_CLASS, AuthClass.PUBKEY), *_constraints(text, ike=True)]
    lowered = text.lower()
    if lowered == "psk":
        return [(AuthRule.AUTH_CLASS, AuthClass.PSK)]
    if lowered.startswith("xauth"):
        dash = text.find("-")
        backend = [(AuthRule.XAUTH_BACKEND, text[dash + 1:])] if dash >= 0 else []
        return [*backend, (AuthRule.AUTH_CLASS, AuthClass.XAUTH)]
    if lowered.startswith("eap"):
        method, _, constraints = text.partition(":")
        out: list[tuple[AuthRule, Any]] = [(AuthRule.AUTH_CLASS, AuthClass.EAP)]
        if constraints or ":" in text:
            out += _constraints(constraints, ike=False)
        eap = eap_vendor_type_from_string(method)
        if eap is not None:
            out.append((AuthRule.EAP_TYPE, eap[0]))
            if eap[1]:
                out.append((AuthRule.EAP_VENDOR, eap[1]))
        return out
    return []


def _constraints(text: str, ike: bool) -> list[tuple[AuthRule, Any]]:
    """Signature-scheme constraints (``add_pubkey_constraints``), kept as their text.

    They only matter for config equality here; the engine interprets them when it
    authenticates.
    """
    rule = AuthRule.IKE_SIGNATURE_SCHEME if ike and "ike:" in text else AuthRule.SIGNATURE_SCHEME
    return [(rule, text)] if "-" in text else []


EAP_TYPES = {"identity": 1, "md5": 4, "otp": 5, "gtc": 6, "tls": 13, "ttls": 21, "sim": 18,
             "aka": 23, "peap": 25, "mschapv2": 26, "tnc": 38, "pt": 54, "dynamic": 257,
             "radius": 256}
PEN_UNASSIGNED = 0xFFFFFF


def eap_vendor_type_from_string(text: str) -> tuple[int, int] | None:
    """``eap_vendor_type_from_string``: ``[eap-]type[-vendor]`` -> (type, vendor) or None."""
    eap_type = vendor = 0
    for part in tokens(text, "-", " "):
        if not eap_type:
            if part == "eap":
                continue
            eap_type = EAP_TYPES.get(part.lower(), 0)
            if not eap_type:
                eap_type, rest = strtoul(part)
                if rest or eap_type > U32:
                    return None
            continue
        vendor, rest = strtoul(part)
        if rest or vendor >= PEN_UNASSIGNED:
            return None
        break
    return (eap_type & U32, vendor) if eap_type else None


def _add_rule(state: dict[str, Any], rule: AuthRule, value: Any) -> None:
    state["auth"] = state["auth"].add(rule, value)


def _id_rule(rule: AuthRule) -> Rule:
    def parse(state: dict[str, Any], raw: bytes) -> bool:
        ident = _regex_id(raw)
        if ident is None:
            return False
        _add_rule(state, rule, ident)
        return True
    return parse


def _revocation(state: dict[str, Any], raw: bytes) -> bool:
    value = parse_map(raw, {"strict": CertValidation.GOOD, "ifuri": CertValidation.SKIPPED,
                            "relaxed": CertValidation.FAILED})
    if value is None:
        return False
    if value != CertValidation.FAILED:  # relaxed is the default and adds no rule
        _add_rule(state, AuthRule.CRL_VALIDATION, value)
    return True


def _round(state: dict[str, Any], raw: bytes) -> bool:
    value = parse_uint32(raw)
    if value is None:
        return False
    state["round"] = value
    return True


def _cert_policy(state: dict[str, Any], raw: bytes) -> bool:
    text = stringify(raw)
    if text is None:
        return False
    _add_rule(state, AuthRule.CERT_POLICY, text)
    return True


def _cert_blob(rule: AuthRule) -> Rule:
    def parse(state: dict[str, Any], raw: bytes) -> bool:
        cert = load_x509(raw)
        if cert is None:
            return False
        _add_rule(state, rule, cert)
        return True
    return parse


def _pubkey(state: dict[str, Any], raw: bytes) -> bool:
    state.setdefault("pubkeys", []).append(raw)  # wrapped once the round's id is known
    return True


AUTH_KV: dict[str, Rule] = {
    "auth": _auth_rule,
    "id": _id_rule(AuthRule.IDENTITY),
    "ca_id": _id_rule(AuthRule.CA_IDENTITY),
    "aaa_id": _id_rule(AuthRule.AAA_IDENTITY),
    "eap_id": _id_rule(AuthRule.EAP_IDENTITY),
    "xauth_id": _id_rule(AuthRule.XAUTH_IDENTITY),
    "revocation": _revocation,
    "round": _round,
}

AUTH_LI: dict[str, Rule] = {
    "groups": _id_rule(AuthRule.GROUP),
    "cert_policy": _cert_policy,
    "certs": _cert_blob(AuthRule.SUBJECT_CERT),
    "cacerts": _cert_blob(AuthRule.CA_CERT),
    "pubkeys": _pubkey,
}


def parse_auth(section: Mapping[str, Any], ctx: LoadContext) -> AuthConfig:
    """One ``local*``/``remote*`` section (``auth_sn``/``auth_kv``/``auth_li``)."""
    state: dict[str, Any] = {"auth": AuthConfig(), "round": 0}

    def subsection(name: str, body: Mapping[str, Any]) -> None:
        lowered = name.lower()
        if not lowered.startswith(("cert", "cacert")):
            raise ConfigError(f"invalid section: {name}")
        cert = load_cert_section(name, body, ctx)
        rule = AuthRule.SUBJECT_CERT if lowered.startswith("cert") else AuthRule.CA_CERT
        _add_rule(state, rule, cert)

    walk(section, AUTH_KV, AUTH_LI, subsection, state)
    auth: AuthConfig = state["auth"]
    ident = auth.get(AuthRule.IDENTITY)
    for blob in state.get("pubkeys", []):
        key = load_pubkey(blob, ident)
        if key is None:
            raise ConfigError("parsing request failed")  # charon sets no reply here
        auth = auth.add(AuthRule.SUBJECT_CERT, key)
    if ident is None:
        cert = auth.get(AuthRule.SUBJECT_CERT)
        if cert is not None:
            auth = auth.add(AuthRule.IDENTITY, cert.subject)
    return replace(auth, round=state["round"])


@dataclass(frozen=True)
class Certificate:
    """A certificate (or trusted raw public key) as the auth rules hold it."""

    der: bytes
    subject: Any  # Identification
    kind: str = "x509"


def load_x509(blob: bytes) -> Certificate | None:
    """An X.509 certificate from PEM or DER; None if it does not parse."""
    from cryptography import x509

    try:
        cert = (x509.load_pem_x509_certificate(blob) if b"-----BEGIN" in blob
                else x509.load_der_x509_certificate(blob))
    except ValueError:
        return None
    from cryptography.hazmat.primitives.serialization import Encoding

    return Certificate(cert.public_bytes(Encoding.DER), ext.identity_from_dn_der(cert.subject.public_bytes()))


def load_pubkey(blob: bytes, ident: Any) -> Certificate | None:
    """A trusted raw public key (PEM/DER SubjectPublicKeyInfo); its subject is the round's id."""
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        PublicFormat,
        load_der_public_key,
        load_pem_public_key,
    )

    try:
        key = load_pem_public_key(blob) if b"-----BEGIN" in blob else load_der_public_key(blob)
    except (ValueError, TypeError):
        return None
    der = key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    subject = ident if not ext.identity_is_any(ident) else None
    return Certificate(der, subject, kind="pubkey")


CERT_KV: dict[str, Rule] = {
    "handle": _set("handle", parse_string),
    "slot": _set("slot", parse_uint32),
    "module": _set("module", parse_string),
    "file": _set("file", parse_string),
}


def load_cert_section(name: str, body: Mapping[str, Any], ctx: LoadContext) -> Certificate:
    """``cert<suffix>``/``cacert<suffix>`` { file | handle [slot] [module] }."""
    state: dict[str, Any] = {}
    walk(body, CERT_KV, None, None, state)
    if "handle" not in state and "file" not in state:
        raise ConfigError(f"handle or file path missing: {name}")
    if "handle" in state and "file" in state:
        raise ConfigError(f"handle and file path given: {name}")
    cert = None
    if "file" in state and ctx.read_file is not None:  # no PKCS#11 tokens in vicid (yet)
        try:
            cert = load_x509(ctx.read_file(state["file"]))
        except OSError:
            cert = None
    if cert is None:
        raise ConfigError(f"unable to load certificate: {name}")
    return cert


# --- children ---------------------------------------------------------------------------------

MODES = {"tunnel": IpsecMode.TUNNEL, "transport": IpsecMode.TRANSPORT,
         "transport_proxy": IpsecMode.TRANSPORT, "iptfs": IpsecMode.IPTFS, "beet": IpsecMode.BEET,
         "drop": IpsecMode.DROP, "pass": IpsecMode.PASS}


def _mode(state: dict[str, Any], raw: bytes) -> bool:
    mode = parse_map(raw, MODES)
    if mode is None:
        return False
    state["mode"] = mode
    state["proxy_mode"] = mode == IpsecMode.TRANSPORT and len(raw) > 9  # "transport_proxy"
    return True


ACTIONS = {"start": Action.START, "restart": Action.START, "route": Action.TRAP,
           "trap": Action.TRAP, "none": Action.NONE, "clear": Action.NONE}


def parse_action(raw: bytes) -> Action | None:
    """``parse_action``: a keyword, or ``|``-separated flag names of ``action_names``."""
    action = parse_map(raw, ACTIONS)
    if action is not None:
        return action  # type: ignore[return-value]
    text = stringify(raw)
    if text is None:
        return None
    flags = Action.NONE
    for name in tokens(text, "|", " "):
        lowered = name.lower()
        if lowered == "none":
            continue
        if lowered not in ("trap", "start"):
            return None
        flags |= Action.TRAP if lowered == "trap" else Action.START
    return flags


def _tfc(raw: bytes) -> int | None:
    return U32 if raw == b"mtu" else parse_uint32(raw)


def _label(raw: bytes) -> bytes | None:
    text = stringify(raw)
    if not text:
        return None  # sec_label_from_string rejects an empty label
    return text.encode("ascii") + b"\0"


def _label_mode(raw: bytes) -> SecLabelMode | None:
    # "selinux" only where SELinux is the default mode, which vicid never has
    mode = parse_map(raw, {"system": SecLabelMode.SYSTEM, "simple": SecLabelMode.SIMPLE})
    return mode  # type: ignore[return-value]


def _per_cpu(state: dict[str, Any], raw: bytes) -> bool:
    if parse_map(raw, {"encap": True}):
        state["per_cpu_sas"] = state["per_cpu_sas_encap"] = True
        return True
    value = parse_bool(raw)
    if value is None:
        return False
    state["per_cpu_sas"] = state.get("per_cpu_sas", False) or value
    return True


def _option(key: str) -> Rule:
    """A child option flag (charon's OPT_* bits, stored positively)."""
    return _set(key, parse_bool)


CHILD_KV: dict[str, Rule] = {
    "updown": _set("updown", parse_string),
    "hostaccess": _option("hostaccess"),
    "mode": _mode,
    "policies": _option("policies"),
    "policies_fwd_out": _option("policies_fwd_out"),
    "replay_window": _set("replay_window", parse_uint32),
    "rekey_time": _set("rekey_time", parse_time),
    "life_time": _set("life_time", parse_time),
    "rand_time": _set("rand_time", parse_time),
    "rekey_bytes": _set("rekey_bytes", parse_bytes),
    "life_bytes": _set("life_bytes", parse_bytes),
    "rand_bytes": _set("rand_bytes", parse_bytes),
    "rekey_packets": _set("rekey_packets", parse_uint64),
    "life_packets": _set("life_packets", parse_uint64),
    "rand_packets": _set("rand_packets", parse_uint64),
    "dpd_action": _set("dpd_action", parse_action),
    "start_action": _set("start_action", parse_action),
    "close_action": _set("close_action", parse_action),
    "ipcomp": _option("ipcomp"),
    "inactivity": _set("inactivity", _time32),
    "reqid": _set("reqid", parse_uint32),
    "mark_in": _set("mark_in", _mark(True, False)),
    "mark_in_sa": _option("mark_in_sa"),
    "mark_out": _set("mark_out", _mark(True, False)),
    "set_mark_in": _set("set_mark_in", _mark(False, True)),
    "set_mark_out": _set("set_mark_out", _mark(False, True)),
    "tfc_padding": _set("tfc", _tfc),
    "priority": _set("priority", parse_uint32),
    "interface": _set("interface", parse_string),
    "hw_offload": _set("hw_offload", _choice({
        "no": HwOffload.NO, "yes": HwOffload.CRYPTO, "crypto": HwOffload.CRYPTO,
        "packet": HwOffload.PACKET, "auto": HwOffload.AUTO})),
    "sha256_96": _option("sha256_96"),
    "copy_df": _option("copy_df"),
    "copy_ecn": _option("copy_ecn"),
    "copy_dscp": _set("copy_dscp", _choice({
        "no": DscpCopy.NO, "in": DscpCopy.IN_ONLY, "out": DscpCopy.OUT_ONLY, "yes": DscpCopy.YES})),
    "icmp": _option("icmp"),
    "if_id_in": _set("if_id_in", _if_id),
    "if_id_out": _set("if_id_out", _if_id),
    "label": _set("label", _label),
    "label_mode": _set("label_mode", _label_mode),
    "per_cpu_sas": _per_cpu,
}

def child_li(netdb: Any) -> dict[str, Rule]:
    return {
        "ah_proposals": _proposals(ProtocolId.AH),
        "esp_proposals": _proposals(ProtocolId.ESP),
        "local_ts": _ts("local_ts", netdb),
        "remote_ts": _ts("remote_ts", netdb),
    }


def check_lifetimes(rekey: int | None, life: int | None, jitter: int | None,
                    default_rekey: int) -> Lifetime:
    """``check_lifetimes`` for one dimension: soft from hard/1.1, hard = soft*1.1, jitter = gap."""
    if rekey is None:
        rekey = _c_u64(life / 1.1) if life is not None else default_rekey
    if life is None:
        life = _c_u64(rekey * 1.1)
    if jitter is None:
        jitter = life - min(life, rekey)
    return Lifetime(rekey, life, jitter)


def _c_u64(value: float) -> int:
    """double -> uint64_t conversion (truncation; out-of-range saturates here)."""
    return min(int(value), U64_MAX)


def parse_child(name: str, section: Mapping[str, Any], ctx: LoadContext | None = None) -> ChildConfig:
    """``children_sn``: one child section; nested sections are ignored, as in charon."""
    state: dict[str, Any] = {}
    walk(section, CHILD_KV, child_li((ctx or LoadContext()).netdb), None, state)
    lifetimes = {
        f"lifetime_{dim}": check_lifetimes(
            _defined(state.pop(f"rekey_{dim}", None)), _defined(state.pop(f"life_{dim}", None)),
            _defined(state.pop(f"rand_{dim}", None)), DEFAULT_CHILD_REKEY_TIME if dim == "time" else 0)
        for dim in ("time", "bytes", "packets")
    }
    if state.get("replay_window") == U32:  # REPLAY_UNDEFINED: the daemon default applies
        del state["replay_window"]
    state["proposals"] = tuple(state.get("proposals") or default_proposals(ProtocolId.ESP))
    state["local_ts"] = tuple(state.get("local_ts") or (ext.ts_dynamic(),))
    state["remote_ts"] = tuple(state.get("remote_ts") or (ext.ts_dynamic(),))
    return ChildConfig(name=name, **lifetimes, **state)
