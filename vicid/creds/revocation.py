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

from cryptography import x509

from vicid.creds.trust import ChainResult, Log, TrustStore, Validation, chain_pairs, subject_text, time_text

CRL_REASONS = ("unspecified", "key compromise", "ca compromise", "affiliation changed",
               "superseded", "cessation of operation", "certificate hold", "reason #7",
               "remove from crl")
_REASON_INDEX = {x509.ReasonFlags.unspecified: 0, x509.ReasonFlags.key_compromise: 1,
                 x509.ReasonFlags.ca_compromise: 2, x509.ReasonFlags.affiliation_changed: 3,
                 x509.ReasonFlags.superseded: 4, x509.ReasonFlags.cessation_of_operation: 5,
                 x509.ReasonFlags.certificate_hold: 6, x509.ReasonFlags.remove_from_crl: 8,
                 x509.ReasonFlags.privilege_withdrawn: 7, x509.ReasonFlags.aa_compromise: 7}


def _crl_uris(cert: x509.Certificate) -> list[str]:
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


def _next_update(crl: x509.CertificateRevocationList) -> datetime.datetime | None:
    return crl.next_update_utc


def check_crl(subject: x509.Certificate, issuer: x509.Certificate, store: TrustStore,
              now: datetime.datetime, log: Log) -> Validation:
    """``check_crl`` for one (subject, issuer) link."""
    best: x509.CertificateRevocationList | None = None
    for crl in store.crls:
        if crl.issuer != issuer.subject or not crl.is_signature_valid(issuer.public_key()):  # type: ignore[arg-type]
            continue
        if best is None or crl.last_update_utc > best.last_update_utc:
            best = crl
    if best is None:
        uris = _crl_uris(subject) or store.crl_uris.get(issuer.subject.public_bytes(), [])
        return Validation.FAILED if uris else Validation.SKIPPED
    log("CFG", 1, f'  crl correctly signed by "{subject_text(issuer)}"')
    entry = best.get_revoked_certificate_by_serial_number(subject.serial_number)
    if entry is not None:
        log("CFG", 1, f"certificate was revoked on {time_text(entry.revocation_date_utc)}, "
                      f"reason: {_reason(entry)}")
        return Validation.REVOKED
    nxt = _next_update(best)
    if nxt is not None and nxt < now:
        log("CFG", 1, f"  crl is stale: since {time_text(nxt)}")
        return Validation.STALE
    if nxt is not None:
        log("CFG", 1, f"  crl is valid: until {time_text(nxt)}")
    return Validation.GOOD


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


__all__ = ["CRL_REASONS", "check_crl", "check_online"]
