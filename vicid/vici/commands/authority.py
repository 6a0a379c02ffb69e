"""Certification authority commands, as charon's vici_authority.c answers them.

load-authority, unload-authority, get-authorities, list-authorities.
"""

from __future__ import annotations

import logging
from typing import Any

from vicid.creds.store import Authority, Certificate, CertType, CredStore, X509Flag, is_ca, parse_certificate
from vicid.vici.commands.creds import reply, subject_text
from vicid.vici.dispatcher import Body, Dispatcher, Request

log = logging.getLogger("vicid.creds")

_KV = {"cacert", "file", "handle", "slot", "module", "cert_uri_base"}
_LISTS = {"crl_uris", "ocsp_uris"}


class _Rejected(Exception):
    pass


def _store(state: Any) -> CredStore:
    if state.creds is None:
        state.creds = CredStore()
    return state.creds


def _ca_cert(data: bytes) -> Certificate | None:
    """A CA certificate from PEM/DER data, or None (charon then reports it missing)."""
    try:
        parsed = parse_certificate(CertType.X509, data)
    except ValueError:
        return None
    if not is_ca(parsed):
        log.info("certificate without CA flag, rejected")
        return None
    from cryptography.hazmat.primitives.serialization import Encoding

    return Certificate(CertType.X509, parsed.public_bytes(Encoding.DER), X509Flag.CA, parsed)


def _parse_authority(name: str, body: Body) -> Authority:
    fields: dict[str, Any] = {"crl_uris": [], "ocsp_uris": []}
    for key, value in body.items():
        if isinstance(value, bytes) and key in _KV:
            fields[key] = value
        elif isinstance(value, list) and key in _LISTS:
            fields[key] = [v.decode("utf-8", "replace") for v in value]
        else:
            raise _Rejected(f"unknown option: {key}, authority discarded")
    if "slot" in fields and not fields["slot"].strip().isdigit():
        raise _Rejected("invalid value for: slot, authority discarded")
    cert = _ca_cert(fields["cacert"]) if "cacert" in fields else None
    if cert is None and "file" in fields:
        cert = _cert_from_file(fields["file"].decode("utf-8", "replace"))
    if cert is None:
        raise _Rejected(f"CA certificate missing: {name}")
    base = fields.get("cert_uri_base")
    return Authority(name, cert, fields["crl_uris"], fields["ocsp_uris"],
                     base.decode("utf-8", "replace") if base is not None else None)


def _cert_from_file(path: str) -> Certificate | None:
    try:
        with open(path, "rb") as handle:
            return _ca_cert(handle.read())
    except OSError as exc:
        log.info("reading CA certificate '%s' failed: %s", path, exc.strerror)
        return None


def load_authority(state: Any, req: Request) -> Body:
    parsed: list[Authority] = []
    for name, section in req.body.items():
        if not isinstance(section, dict):
            return reply("parsing request failed")
        try:
            parsed.append(_parse_authority(name, section))
        except _Rejected as exc:
            return reply(str(exc))
    if not parsed:
        return reply("parsing request failed")
    store = _store(state)
    for authority in parsed:
        verb = "replaced" if authority.name in store.authorities else "added"
        store.authorities[authority.name] = authority
        log.info("authority '%s' %s", authority.name, verb)
    return reply()


def unload_authority(state: Any, req: Request) -> Body:
    name = req.str("name")
    if not name:
        return reply("unload: missing authority name")
    if _store(state).authorities.pop(name, None) is None:
        return reply(f"unload: authority '{name}' not found")
    log.info("unloaded authority '%s'", name)
    return reply()


def get_authorities(state: Any, req: Request) -> Body:
    return {"authorities": list(_store(state).authorities)}


def list_authorities(state: Any, req: Request) -> Body:
    wanted = req.str("name")
    for authority in _store(state).authorities.values():
        if wanted and wanted != authority.name:
            continue
        section: Body = {
            "cacert": subject_text(authority.cacert.parsed),
            "crl_uris": authority.crl_uris,
            "ocsp_uris": authority.ocsp_uris,
        }
        if authority.cert_uri_base is not None:
            section["cert_uri_base"] = authority.cert_uri_base
        req.emit("list-authority", {authority.name: section})
    return {}


def register(dispatcher: Dispatcher) -> None:
    dispatcher.add_command("load-authority", load_authority)
    dispatcher.add_command("unload-authority", unload_authority)
    dispatcher.add_command("get-authorities", get_authorities)
    dispatcher.add_command("list-authorities", list_authorities)
    dispatcher.add_event("list-authority")
