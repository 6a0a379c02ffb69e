"""Certificate status from CRLs, as charon's revocation plugin decides it (``check_crl``).

For each link of a verified chain (end entity first) the best CRL of the issuer is looked up:
loaded over vici (``x509crl/``), received in CERT payloads, or fetched into the cache. A CRL
counts only if the issuer's signature on it verifies. The serial number listed means REVOKED
(the chain fails whatever ``revocation`` says); a CRL past its nextUpdate is STALE; no CRL is
SKIPPED, or FAILED if a CRL URI was known (distribution point or authority ``crl_uris``) but
nothing could be had. OCSP (``ocsp.py``) is asked first for each link, as charon does.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cryptography import x509

from vicid.creds.fetching import obtain
from vicid.creds.store import CertType, parse_certificate, to_der
from vicid.creds.trust import (
    ChainResult,
    Log,
    TrustStore,
    Validation,
    chain_pairs,
    subject_key_id,
    subject_text,
    time_text,
)
from vicid.identity import dntoa

CRL_REASONS = ("unspecified", "key compromise", "ca compromise", "affiliation changed",
               "superseded", "cessation of operation", "certificate hold", "reason #7",
               "remove from crl")
_REASON_INDEX = {x509.ReasonFlags.unspecified: 0, x509.ReasonFlags.key_compromise: 1,
                 x509.ReasonFlags.ca_compromise: 2, x509.ReasonFlags.affiliation_changed: 3,
                 x509.ReasonFlags.superseded: 4, x509.ReasonFlags.cessation_of_operation: 5,
                 x509.ReasonFlags.certificate_hold: 6, x509.ReasonFlags.remove_from_crl: 8,
                 x509.ReasonFlags.privilege_withdrawn: 7, x509.ReasonFlags.aa_compromise: 7}


def crl_uris(cert: x509.Certificate) -> list[str]:
    try:
        cdps = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    except (x509.ExtensionNotFound, ValueError):
        return []
    return [n.value for dp in cdps for n in (dp.full_name or ())
            if isinstance(n, x509.UniformResourceIdentifier)]


def _reason(entry: x509.RevokedCertificate) -> str:
    try:
        flag = entry.extensions.get_extension_for_class(x509.CRLReason).value.reason
    except (x509.ExtensionNotFound, ValueError):
        return CRL_REASONS[0]
    return CRL_REASONS[_REASON_INDEX.get(flag, 0)]


def _crl_number(crl: x509.CertificateRevocationList) -> int | None:
    try:
        return crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    except (x509.ExtensionNotFound, ValueError):
        return None


def crl_is_newer(crl: x509.CertificateRevocationList, other: x509.CertificateRevocationList) -> bool:
    """``crl_is_newer``: by crlNumber where both have one, else by thisUpdate."""
    mine, theirs = _crl_number(crl), _crl_number(other)
    if mine is not None and theirs is not None:
        return mine > theirs
    return crl.last_update_utc > other.last_update_utc


def _signed_by(crl: x509.CertificateRevocationList, issuer: x509.Certificate) -> bool:
    try:
        return crl.is_signature_valid(issuer.public_key())  # type: ignore[arg-type]
    except (TypeError, ValueError):  # a key type cryptography cannot check CRLs with
        return False


def _fits_issuer(crl: x509.CertificateRevocationList, issuer: x509.Certificate) -> bool:
    """A CRL of this issuer: same name, and the authorityKeyIdentifier (if any) names its key."""
    if crl.issuer != issuer.subject:
        return False
    try:
        aki = crl.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
    except (x509.ExtensionNotFound, ValueError):
        return True
    ski = subject_key_id(issuer)
    return not (aki and ski and aki != ski)


@dataclass
class _Best:
    crl: x509.CertificateRevocationList | None = None
    valid: Validation = Validation.SKIPPED


def _crl_valid(crl: x509.CertificateRevocationList, der: bytes, now: datetime.datetime, log: Log,
               cache: Callable[[bytes, x509.CertificateRevocationList], None] | None) -> bool:
    """``is_crl_valid``: before nextUpdate (or without one); a fetched valid CRL is cached."""
    nxt = crl.next_update_utc
    if nxt is not None and nxt < now:
        log("CFG", 1, f"  crl is stale: since {time_text(nxt)}")
        return False
    if nxt is not None:
        log("CFG", 1, f"  crl is valid: until {time_text(nxt)}")
    if cache is not None:
        cache(der, crl)
    return True


def _better_crl(cand: x509.CertificateRevocationList, der: bytes, best: _Best, subject: x509.Certificate,
                issuer: x509.Certificate, now: datetime.datetime, log: Log,
                cache: Callable[[bytes, x509.CertificateRevocationList], None] | None) -> None:
    """``get_better_crl``: a verified CRL listing the subject decides; else the newer one."""
    if not _signed_by(cand, issuer):
        log("CFG", 1, "crl response verification failed")
        return
    log("CFG", 1, f'  crl correctly signed by "{subject_text(issuer)}"')
    if cand.last_update_utc > now:
        log("CFG", 1, f"  crl is not valid: until {time_text(cand.last_update_utc)}")
        return
    entry = cand.get_revoked_certificate_by_serial_number(subject.serial_number)
    if entry is not None:
        reason = _reason(entry)
        best.valid = Validation.ON_HOLD if reason == "certificate hold" else Validation.REVOKED
        _crl_valid(cand, der, now, log, cache)
        log("CFG", 1, f"certificate was revoked on {time_text(entry.revocation_date_utc)}, reason: {reason}")
        best.crl = cand
        return
    if best.crl is None or crl_is_newer(cand, best.crl):
        best.crl = cand
        best.valid = Validation.GOOD if _crl_valid(cand, der, now, log, cache) else Validation.STALE
    else:
        best.valid = Validation.STALE


def _fetch_crl(uri: str, ctx: Any, log: Log) -> tuple[bytes, x509.CertificateRevocationList] | None:
    """``fetch_crl``: GET the URI (once per message, in the engine); DER or PEM."""
    answer = obtain(ctx, ("crl", uri), uri, lambda: b"", "", "crl", f"  fetching crl from '{uri}' ...", log)
    if answer.body is None:
        log("CFG", 1, "crl fetching failed")
        return None
    try:
        crl = parse_certificate(CertType.X509_CRL, answer.body)
    except ValueError:
        log("CFG", 1, "crl fetched successfully but parsing failed")
        return None
    return to_der(CertType.X509_CRL, crl), crl


def check_crl(subject: x509.Certificate, issuer: x509.Certificate, store: TrustStore,
              now: datetime.datetime, log: Log) -> Validation:
    """``check_crl`` for one (subject, issuer) link: cached CRLs (loaded, received, fetched
    before), then the authority's ``crl_uris`` and the subject's distribution points."""
    from vicid.creds.ocsp import OcspContext

    ctx = store.ocsp if store.ocsp is not None else OcspContext()
    best = _Best()
    for crl in store.crls:
        if not _fits_issuer(crl, issuer):
            continue
        _better_crl(crl, b"", best, subject, issuer, now, log, None)
        if best.crl is not None and best.valid != Validation.STALE:
            log("CFG", 1, "  using cached crl")
            break
    uri_found = False
    if best.valid not in (Validation.GOOD, Validation.REVOKED):
        for uri in [*store.crl_uris.get(issuer.subject.public_bytes(), []), *crl_uris(subject)]:
            uri_found = True
            fetched = _fetch_crl(uri, ctx, log)
            if fetched is None:
                continue
            der, crl = fetched
            if not _fits_issuer(crl, issuer):
                log("CFG", 1, f"issuer of fetched CRL '{dntoa(crl.issuer.public_bytes())}' does not match "
                              f"certificate's issuer '{subject_text(issuer)}'")
                continue
            _better_crl(crl, der, best, subject, issuer, now, log, ctx.cache_crl)
            if best.crl is not None and best.valid != Validation.STALE:
                break
    if best.valid == Validation.SKIPPED and uri_found:
        return Validation.FAILED
    return best.valid


def _link_status(subject: x509.Certificate, issuer: x509.Certificate, store: TrustStore,
                 now: datetime.datetime, log: Log) -> tuple[bool, Validation]:
    """``validate_online`` for one link: (not revoked, the CRL_VALIDATION it records).

    OCSP first; GOOD ends the check (and satisfies a CRL constraint too). Otherwise the CRL
    decides, and where no CRL was used the OCSP result stands in for it."""
    from vicid.creds.ocsp import OcspContext, check_ocsp

    ctx = store.ocsp if store.ocsp is not None else OcspContext()
    ocsp_status = Validation.SKIPPED
    if ctx.enable_ocsp:
        ocsp_status = check_ocsp(subject, issuer, store, now, log)
        if ocsp_status == Validation.GOOD:
            log("CFG", 1, "certificate status is good")
            return True, Validation.GOOD
        if ocsp_status in (Validation.REVOKED, Validation.ON_HOLD):
            return False, ocsp_status
        if ocsp_status == Validation.SKIPPED:
            log("CFG", 2, "ocsp check skipped, no ocsp found")
        elif ocsp_status == Validation.STALE:
            log("CFG", 1, "ocsp information stale, fallback to crl")
        else:
            log("CFG", 1, "ocsp check failed, fallback to crl")
    if not ctx.enable_crl:
        return True, ocsp_status
    status = check_crl(subject, issuer, store, now, log)
    if status in (Validation.REVOKED, Validation.ON_HOLD):
        return False, status
    if status == Validation.GOOD:
        log("CFG", 1, "certificate status is good")
    elif status == Validation.STALE:
        log("CFG", 1, "certificate status is unknown, crl is stale")
    else:
        log("CFG", 1, "certificate status is not available")
    return True, ocsp_status if status == Validation.SKIPPED else status


def check_online(result: ChainResult, store: TrustStore, now: datetime.datetime,
                 log: Log) -> bool:
    """``validate_online`` for every link; False if any certificate is revoked.

    The validation of each link is recorded for ``revocation = strict|ifuri`` constraints (the
    weakest result along the chain, as charon's auth rules add up)."""
    worst: Validation | None = None
    for subject, issuer, _anchor in chain_pairs(result):
        log("CFG", 1, f'checking certificate status of "{subject_text(subject)}"')
        ok, status = _link_status(subject, issuer, store, now, log)
        if not ok:
            return False
        worst = status if worst is None else max(worst, status)
    result.crl_validation = worst
    return True


__all__ = ["CRL_REASONS", "check_crl", "check_online", "crl_is_newer", "crl_uris"]
