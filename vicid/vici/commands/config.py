"""vici configuration commands: load-conn, unload-conn, get-conns, list-conns (``list-conn``).

Replies and event bodies carry charon's exact texts and key order (``vici_config.c``, and
``list_conns`` of charon 6.1's ``vici_query.c``, which also lists proposals).
"""

from __future__ import annotations

from typing import Any

from vicid.config import ext
from vicid.config.load_conn import ConfigError, LoadContext, iter_conns, parse_conn
from vicid.config.store import ConnStore
from vicid.config.values import printable, tokens
from vicid.ike.config import (
    AUTH_CLASS_NAMES,
    IKE_VERSION_NAMES,
    AuthConfig,
    AuthRule,
    CertValidation,
    ChildConfig,
    IpsecMode,
    PeerConfig,
    UniquePolicy,
    action_text,
    enum_text,
)
from vicid.ike.proposal import Proposal, alg_name
from vicid.ike.wire.enums import ProtocolId, TransformType
from vicid.vici.dispatcher import Body, Dispatcher, Request
from vicid.vici.wire import encode_message


def reply(error: str | None = None) -> Body:
    """charon's ``create_reply``: ``success`` and, on failure, ``errmsg``."""
    return {"success": "yes"} if error is None else {"success": "no", "errmsg": error}


def conn_store(state: Any) -> ConnStore:
    if state.conns is None:
        state.conns = ConnStore()
    return state.conns


def load_context(state: Any) -> LoadContext:
    """Daemon facts for parsing: the IKE port (``charon.port``) and the netdb."""
    settings = getattr(state, "settings", None)
    port = settings.get_int("charon.port", 500) if hasattr(settings, "get_int") else 500
    return LoadContext(ike_port=port, read_file=_read_file, netdb=getattr(state, "netdb", None))


def _read_file(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


# --- load-conn / unload-conn / get-conns ------------------------------------------------------

def load_conn(state: Any, request: Request) -> Body:
    """Each connection is parsed then merged in turn, so those before a bad one stay loaded."""
    store, ctx = conn_store(state), load_context(state)
    for name, section in iter_conns(request.body):
        try:
            peer = parse_conn(name, section, ctx)
        except ConfigError as exc:
            return reply(str(exc))
        store.merge(peer)
    return reply()


def unload_conn(state: Any, request: Request) -> Body:
    name = request.str("name") if _printable_kv(request, "name") else None
    if name is None:
        return reply("unload: missing connection name")
    if conn_store(state).unload(name) is None:
        return reply(f"unload: connection '{name}' not found")
    return reply()


def _printable_kv(request: Request, key: str) -> bool:
    """charon's ``get_str`` only returns printable key/values."""
    value = request.body.get(key)
    return isinstance(value, bytes | bytearray) and printable(bytes(value))


def get_conns(state: Any, request: Request) -> Body:
    return {"conns": conn_store(state).names()}


def list_conns(state: Any, request: Request) -> Body:
    """Streams one ``list-conn`` event per connection (optionally only ``ike``), then ``{}``."""
    wanted = request.str("ike") if _printable_kv(request, "ike") else None
    netdb = getattr(state, "netdb", None)
    store = conn_store(state)
    for peer in store.configs():
        if wanted is not None and peer.name != wanted:
            continue
        request.emit("list-conn", _encoded_list_conn(store, peer, netdb))
    return {}


def _encoded_list_conn(store: ConnStore, peer: PeerConfig, netdb: Any) -> bytes:
    """The encoded event body, rendered once per stored config object (configs are frozen)."""
    cached = store.render_cache.get(peer.name)
    if cached is None or cached[0] is not peer:
        cached = (peer, encode_message({peer.name: list_conn_body(peer, netdb)}))
        store.render_cache[peer.name] = cached
    return cached[1]


# --- list-conn rendering ----------------------------------------------------------------------

def list_conn_body(peer: PeerConfig, netdb: Any = None) -> Body:
    """The section charon builds for one connection, keys in its order."""
    body: Body = {
        "local_addrs": list(tokens(peer.local_addrs, ",", " ")),
        "remote_addrs": list(tokens(peer.remote_addrs, ",", " ")),
        "local_port": str(peer.local_port),
        "remote_port": str(peer.remote_port),
        "version": enum_text(IKE_VERSION_NAMES, _c_int(peer.version)),
        "reauth_time": str(peer.reauth_time),
        "rekey_time": str(peer.rekey_time),
        "unique": enum_text({u.value: u.name for u in UniquePolicy}, peer.unique),
        "proposals": proposals_body(peer.proposals),
    }
    if peer.dpd_delay:
        body["dpd_delay"] = str(peer.dpd_delay)
    if peer.dpd_timeout:
        body["dpd_timeout"] = str(peer.dpd_timeout)
    if peer.ppk_id is not None:
        body["ppk_id"] = ext.identity_text(peer.ppk_id)
    if peer.ppk_required:
        body["ppk_required"] = "yes"
    for side, rounds in (("local", peer.local_auth), ("remote", peer.remote_auth)):
        for i, auth in enumerate(rounds, 1):
            body[f"{side}-{i}"] = auth_body(auth)
    body["children"] = {child.name: child_body(child, netdb) for child in peer.children}
    return body


def _c_int(value: int) -> int:
    """An enum stored from a uint32 prints as a C int."""
    return value - (1 << 32) if value >= 1 << 31 else value


EAP_TYPE_NAMES = {1: "EAP_IDENTITY", 2: "EAP_NOTIFICATION", 3: "EAP_NAK", 4: "EAP_MD5",
                  5: "EAP_OTP", 6: "EAP_GTC", 13: "EAP_TLS", 18: "EAP_SIM", 21: "EAP_TTLS",
                  23: "EAP_AKA", 25: "EAP_PEAP", 26: "EAP_MSCHAPV2", 33: "EAP_MSTLV",
                  38: "EAP_TNC", 54: "EAP_PT_EAP", 254: "EAP_EXPANDED", 255: "EAP_EXPERIMENTAL",
                  256: "EAP_RADIUS", 257: "EAP_DYNAMIC"}  # eap_type_names

_AUTH_KEYS = {
    AuthRule.IDENTITY: "id", AuthRule.CA_IDENTITY: "ca_id", AuthRule.AAA_IDENTITY: "aaa_id",
    AuthRule.EAP_IDENTITY: "eap_id", AuthRule.XAUTH_IDENTITY: "xauth_id",
}


def auth_body(auth: AuthConfig) -> Body:
    """``build_auth_cfgs`` for one round: rule key/values in entry order, then four lists."""
    body: Body = {}
    for rule, value in auth.enumerate():
        if rule == AuthRule.AUTH_CLASS:
            body["class"] = enum_text(AUTH_CLASS_NAMES, value)
        elif rule == AuthRule.EAP_TYPE:
            body["eap-type"] = enum_text(EAP_TYPE_NAMES, value)
        elif rule == AuthRule.EAP_VENDOR:
            body["eap-vendor"] = str(value)
        elif rule == AuthRule.XAUTH_BACKEND:
            body["xauth"] = value
        elif rule == AuthRule.CRL_VALIDATION:
            body["revocation"] = CertValidation(value).name
        elif rule in _AUTH_KEYS:
            body[_AUTH_KEYS[rule]] = ext.identity_text(value)
    body["groups"] = [ext.identity_text(g) for g in auth.values(AuthRule.GROUP)]
    body["cert_policy"] = list(auth.values(AuthRule.CERT_POLICY))
    body["certs"] = [_subject(c) for c in auth.values(AuthRule.SUBJECT_CERT)]
    body["cacerts"] = [_subject(c) for c in auth.values(AuthRule.CA_CERT)]
    return body


def _subject(cert: Any) -> str:
    return ext.identity_text(cert.subject) if cert.subject is not None else ""


def child_body(child: ChildConfig, netdb: Any = None) -> Body:
    mode = child.mode.name + ("_PROXY" if child.mode == IpsecMode.TRANSPORT and child.proxy_mode else "")
    body: Body = {"mode": mode}
    if child.label is not None:
        body["label"] = child.label.hex()
    body["rekey_time"] = str(child.lifetime_time.rekey)
    body["rekey_bytes"] = str(child.lifetime_bytes.rekey)
    body["rekey_packets"] = str(child.lifetime_packets.rekey)
    body["dpd_action"] = action_text(child.dpd_action)
    body["close_action"] = action_text(child.close_action)
    body["esp_proposals"] = proposals_body(p for p in child.proposals if p.protocol == ProtocolId.ESP)
    body["ah_proposals"] = proposals_body(p for p in child.proposals if p.protocol == ProtocolId.AH)
    body["local-ts"] = [ext.ts_text(ts, netdb) for ts in ext.ts_remove_duplicates(child.local_ts)]
    body["remote-ts"] = [ext.ts_text(ts, netdb) for ts in ext.ts_remove_duplicates(child.remote_ts)]
    if child.interface is not None:
        body["interface"] = child.interface
    if child.priority:
        body["priority"] = str(child.priority)
    return body


T = TransformType
# key per transform type, in the order charon 6.1 lists them
_PROPOSAL_KEYS = ((T.ENCR, "encr"), (T.INTEG, "integ"), (T.PRF, "prf"), (T.KE, "ke"),
                  *((T(T.ADDKE1 + i), f"ake{i + 1}") for i in range(7)), (T.ESN, "sn"))


def proposals_body(proposals: Any) -> Body:
    """Proposals numbered from 0, each with one list per transform type present."""
    return {str(i): proposal_body(p) for i, p in enumerate(proposals)}


def proposal_body(proposal: Proposal) -> Body:
    body: Body = {}
    for ttype, key in _PROPOSAL_KEYS:
        algs = proposal.algorithms(ttype)
        if algs:
            body[key] = [alg_name(ttype, t.id) + (f"_{t.key_length}" if t.key_length else "")
                         for t in algs]
    return body


def register(dispatcher: Dispatcher) -> None:
    dispatcher.add_command("load-conn", load_conn)
    dispatcher.add_command("unload-conn", unload_conn)
    dispatcher.add_command("get-conns", get_conns)
    dispatcher.add_command("list-conns", list_conns)
    dispatcher.add_event("list-conn")
