"""Credential commands, as charon's vici_cred.c answers them.

load-cert, list-certs, flush-certs, clear-creds, load-key, unload-key, get-keys, load-token,
load-shared, unload-shared, get-shared. Replies carry ids only, never key material.
"""

from __future__ import annotations

import logging
from typing import Any

from vicid.creds.store import (
    KEY_TYPES,
    Certificate,
    CertType,
    CredStore,
    PrivateKey,
    SharedKey,
    X509Flag,
    is_ca,
    load_private_key,
    parse_certificate,
    public_key_id,
    to_der,
)
from vicid.identity import Identification, IdType, dntoa
from vicid.secrets import Secret
from vicid.vici.dispatcher import Body, Dispatcher, Request

log = logging.getLogger("vicid.creds")

# certificate_type_names as charon spells them; lookups are case-insensitive
CERT_TYPE_NAMES = ("ANY", "X509", "X509_CRL", "OCSP_REQUEST", "OCSP_RESPONSE", "X509_AC", "PUBKEY",
                   "PKCS10_REQUEST", "PGP")
X509_FLAG_NAMES = ("NONE", "CA", "AA", "OCSP", "ANY")
# swanctl's legacy directory-style type names
LEGACY_TYPES = {
    "x509": ("X509", "NONE"), "x509ca": ("X509", "CA"), "x509ocsp": ("X509", "OCSP"),
    "x509aa": ("X509", "AA"), "x509ac": ("X509_AC", "NONE"), "x509crl": ("X509_CRL", "NONE"),
    "pubkey": ("PUBKEY", "NONE"),
}
KEY_TYPE_NAMES = {"any": "ANY", "rsa": "RSA", "ecdsa": "ECDSA", "dsa": "DSA", "ed25519": "ED25519",
                  "ed448": "ED448"}
SHARED_TYPES = {"ike": "IKE", "eap": "EAP", "xauth": "EAP", "ntlm": "NTLM", "ppk": "PPK"}


def reply(errmsg: str | None = None) -> Body:
    if errmsg is None:
        return {"success": "yes"}
    return {"success": "no", "errmsg": errmsg}


def _enum(names: tuple[str, ...], text: str) -> str | None:
    for name in names:
        if name.lower() == text.lower():
            return name
    return None


def cert_type_from(text: str, flag_text: str | None) -> tuple[str, str] | str:
    """(type, flag) for a load-cert/list-certs type, or an error message."""
    ctype = _enum(CERT_TYPE_NAMES, text)
    if ctype is not None:
        flag = "ANY" if ctype == "ANY" else "NONE"
        if ctype == "X509":
            flag_name = _enum(X509_FLAG_NAMES, flag_text or "NONE")
            if flag_name is None:
                return f"invalid certificate flag '{flag_text}'"
            flag = flag_name
        return ctype, flag
    legacy = LEGACY_TYPES.get(text.lower())
    if legacy is None:
        return f"invalid certificate type '{text}'"
    return legacy


def _creds(state: Any) -> CredStore:
    if state.creds is None:
        state.creds = CredStore()
    return state.creds


def load_cert(state: Any, req: Request) -> Body:
    text = req.str("type")
    if not text:
        return reply("certificate type missing")
    parsed_type = cert_type_from(text, req.str("flag"))
    if isinstance(parsed_type, str):
        return reply(parsed_type)
    type_name, flag_name = parsed_type
    data = req.body.get("data")
    if not isinstance(data, bytes) or not data:
        return reply("certificate data missing")
    try:
        ctype = CertType(type_name)
        parsed = parse_certificate(ctype, data)
    except ValueError:
        return reply(f"parsing {type_name} certificate failed")
    cert = Certificate(ctype, to_der(ctype, parsed), X509Flag(flag_name) if flag_name != "ANY"
                       else X509Flag.NONE, parsed)
    if ctype == CertType.X509:
        log.info("loaded certificate '%s'", subject_text(parsed))
        if is_ca(parsed):
            cert.flag = X509Flag.CA
        elif cert.flag == X509Flag.CA:
            log.info("  ca certificate lacks CA basic constraint, rejected")
            return reply("ca certificate lacks CA basic constraint, rejected")
    _creds(state).add_cert(cert)
    return reply()


def subject_text(cert: Any) -> str:
    """A certificate subject as charon prints DNs (RDNs in order, joined by ', ')."""
    return dntoa(cert.subject.public_bytes())


# list-certs order: PUBKEY, X509 by flag NONE/CA/AA/OCSP, then AC, CRL, OCSP responses
_LIST_ORDER = [(CertType.PUBKEY, None), (CertType.X509, X509Flag.NONE), (CertType.X509, X509Flag.CA),
               (CertType.X509, X509Flag.AA), (CertType.X509, X509Flag.OCSP),
               (CertType.X509_AC, None), (CertType.X509_CRL, None), (CertType.OCSP_RESPONSE, None)]


def list_certs(state: Any, req: Request) -> Body:
    store = _creds(state)
    text = req.str("type", "ANY") or "ANY"
    parsed_type = cert_type_from(text, req.str("flag", "ANY") or "ANY")
    if isinstance(parsed_type, str):
        return {}  # charon answers a bad filter with an empty listing, not an error
    type_name, flag_name = parsed_type
    subject = req.str("subject")
    for ctype, flag in _LIST_ORDER:
        if type_name not in ("ANY", ctype.value):
            continue
        if ctype == CertType.X509 and flag_name not in ("ANY", flag.value):
            continue
        for cert in [*store.certs, *store.cache]:
            if cert.type != ctype or (flag is not None and cert.flag != flag):
                continue
            if subject and not _subject_matches(cert, subject):
                continue
            req.emit("list-cert", _cert_body(store, cert))
    return {}


def _subject_matches(cert: Certificate, subject: str) -> bool:
    if cert.type != CertType.X509:
        return False
    try:
        wanted = Identification.from_string(subject)
    except ValueError:
        return False
    have = Identification.from_wire(IdType.ID_DER_ASN1_DN, cert.parsed.subject.public_bytes())
    return have.matches(wanted) > 0


def _cert_body(store: CredStore, cert: Certificate) -> Body:
    body: Body = {"type": cert.type.value}
    if cert.type == CertType.X509:
        body["flag"] = cert.flag.value
    if store.has_private_key(cert):
        body["has_privkey"] = "yes"
    body["data"] = cert.der
    return body


def flush_certs(state: Any, req: Request) -> Body:
    text = req.str("type")
    wanted = "ANY"
    if text:
        parsed_type = cert_type_from(text, "ANY")
        if isinstance(parsed_type, str):
            return reply(f"invalid certificate type '{text}'")
        wanted = parsed_type[0]
    cache = _creds(state).cache
    cache[:] = [c for c in cache if wanted not in ("ANY", c.type.value)]  # flush_cache(type)
    return reply()


def clear_creds(state: Any, req: Request) -> Body:
    _creds(state).clear()
    return reply()


def load_key(state: Any, req: Request) -> Body:
    text = req.str("type")
    if not text:
        return reply("key type missing")
    key_type = KEY_TYPE_NAMES.get(text.lower())
    if key_type is None:
        return reply(f"invalid key type: {text}")
    data = req.body.get("data")
    if not isinstance(data, bytes) or not data:
        return reply("key data missing")
    try:
        key = load_private_key(data)
    except (ValueError, TypeError):
        return reply(f"parsing {key_type} private key failed")
    actual = next((name for name, cls in KEY_TYPES.items() if isinstance(key, cls)), None)
    if actual is None or key_type not in ("ANY", actual):
        return reply(f"parsing {key_type} private key failed")
    key_id = public_key_id(key.public_key())
    _creds(state).add_key(PrivateKey(actual, key, key_id))
    log.info("loaded %s private key", actual)
    return {"success": "yes", "id": key_id}


def unload_key(state: Any, req: Request) -> Body:
    key_id = req.str("id")
    if not key_id:
        return reply("key id missing")
    if _creds(state).keys.pop(key_id.lower().replace(":", ""), None) is None:
        return reply("key not found")
    log.info("unloaded private key with id %s", key_id)
    return reply()


def get_keys(state: Any, req: Request) -> Body:
    return {"keys": list(_creds(state).keys)}


def load_token(state: Any, req: Request) -> Body:
    if not req.str("handle"):
        return {"success": "no", "errmsg": "keyid missing"}
    log.info("loading private key from token failed: vicid has no PKCS#11 support")
    return {"success": "no", "errmsg": "loading private key from token failed"}


def load_shared(state: Any, req: Request) -> Body:
    text = req.str("type")
    if not text:
        return reply("shared key type missing")
    stype = SHARED_TYPES.get(text.lower())
    if stype is None:
        return reply(f"invalid shared key type: {text}")
    data = req.body.get("data")
    if not isinstance(data, bytes) or not data:
        return reply("shared key data missing")
    owners_raw = req.body.get("owners", [])
    if not isinstance(owners_raw, list):
        return reply("parsing shared key owners failed")
    owners = [o.decode("utf-8", "replace") for o in owners_raw] or ["%any"]
    try:
        rendered = [str(Identification.from_string(o)) for o in owners]
    except ValueError:
        return reply("parsing shared key owners failed")
    key = SharedKey(stype, Secret(data), rendered)
    store = _creds(state)
    unique = req.str("id")
    if unique:
        old = store.shared.pop(unique, None)
        if old is not None:
            old.secret.zeroize()
        store.shared[unique] = key
        log.info("loaded %s shared key with id '%s' for: %s", stype, unique, ", ".join(rendered))
    else:
        store.anonymous_shared.append(key)
        log.info("loaded %s shared key for: %s", stype, ", ".join(rendered))
    return reply()


def unload_shared(state: Any, req: Request) -> Body:
    unique = req.str("id")
    if not unique:
        return reply("unique identifier missing")
    old = _creds(state).shared.pop(unique, None)
    if old is not None:
        old.secret.zeroize()
        log.info("unloaded shared key with id '%s'", unique)
    return reply()


def get_shared(state: Any, req: Request) -> Body:
    return {"keys": list(_creds(state).shared)}


def register(dispatcher: Dispatcher) -> None:
    for name, handler in [
        ("load-cert", load_cert), ("list-certs", list_certs), ("flush-certs", flush_certs),
        ("clear-creds", clear_creds), ("load-key", load_key), ("unload-key", unload_key),
        ("get-keys", get_keys), ("load-token", load_token), ("load-shared", load_shared),
        ("unload-shared", unload_shared), ("get-shared", get_shared),
    ]:
        dispatcher.add_command(name, handler)
    dispatcher.add_event("list-cert")
