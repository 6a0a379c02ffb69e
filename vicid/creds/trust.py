"""X.509 trust chains as charon's credential manager builds and checks them.

``verify_chain`` walks from a subject certificate to a self-signed trust anchor
(``verify_trust_chain``): each issuer is looked up first among trusted certificates, then among
untrusted ones (received in CERT payloads); every link is checked by cryptography's
``verify_directly_issued_by`` (the issuer must carry the CA basic constraint, as charon's
``issued_by`` requires), both certificates must be valid at ``now``, and a pathLenConstraint
must hold (the constraints plugin). Revocation follows in a second pass (``revocation.py``).

cryptography's ``x509.verification`` policy builder is not used for the path itself: its WebPKI
profile forbids Ed25519/Ed448 keys, which IKE certificates use. Log lines are charon's texts.
"""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from vicid.identity import Identification, IdKind, IdMatch, dntoa

MAX_TRUST_PATH_LEN = 7
Log = Callable[[str, int, str], None]


class Validation(IntEnum):
    """charon's ``cert_validation_t`` (order matters for constraint checks)."""

    GOOD = 0
    SKIPPED = 1
    STALE = 2
    FAILED = 3
    ON_HOLD = 4
    REVOKED = 5


VALIDATION_NAMES = {Validation.GOOD: "GOOD", Validation.SKIPPED: "SKIPPED",
                    Validation.STALE: "STALE", Validation.FAILED: "FAILED",
                    Validation.ON_HOLD: "ON_HOLD", Validation.REVOKED: "REVOKED"}


def _nolog(_group: str, _level: int, _msg: str) -> None:
    pass


# --- certificate facts --------------------------------------------------------------------------

def subject_text(cert: x509.Certificate) -> str:
    return dntoa(cert.subject.public_bytes())


def issuer_text(cert: x509.Certificate) -> str:
    return dntoa(cert.issuer.public_bytes())


def subject_id(cert: x509.Certificate) -> Identification:
    return Identification(IdKind.ID_DER_ASN1_DN, cert.subject.public_bytes())


def _ext(cert: x509.Certificate, cls: type) -> object | None:
    try:
        return cert.extensions.get_extension_for_class(cls).value
    except (x509.ExtensionNotFound, ValueError):
        return None


def is_ca(cert: x509.Certificate) -> bool:
    bc = _ext(cert, x509.BasicConstraints)
    return bool(bc and bc.ca)  # type: ignore[attr-defined]


def path_len(cert: x509.Certificate) -> int | None:
    bc = _ext(cert, x509.BasicConstraints)
    return bc.path_length if bc is not None else None  # type: ignore[attr-defined]


def ike_compliant(cert: x509.Certificate) -> bool:
    """X509_IKE_COMPLIANT: no keyUsage, or digitalSignature / nonRepudiation set."""
    ku = _ext(cert, x509.KeyUsage)
    return ku is None or bool(ku.digital_signature or ku.content_commitment)  # type: ignore[attr-defined]


def spki_sha1(cert: x509.Certificate) -> bytes:
    """KEYID_PUBKEY_INFO_SHA1: SHA-1 over the DER SubjectPublicKeyInfo (CERTREQ key ids)."""
    spki = cert.public_key().public_bytes(serialization.Encoding.DER,
                                          serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha1(spki, usedforsecurity=False).digest()


def subject_key_id(cert: x509.Certificate) -> bytes:
    ski = _ext(cert, x509.SubjectKeyIdentifier)
    return ski.digest if ski is not None else b""  # type: ignore[attr-defined]


def _san_ids(cert: x509.Certificate) -> list[Identification]:
    san = _ext(cert, x509.SubjectAlternativeName)
    out: list[Identification] = []
    for name in san or ():  # type: ignore[union-attr]
        if isinstance(name, x509.DNSName):
            out.append(Identification(IdKind.ID_FQDN, name.value.encode()))
        elif isinstance(name, x509.RFC822Name):
            out.append(Identification(IdKind.ID_RFC822_ADDR, name.value.encode()))
        elif isinstance(name, x509.IPAddress) and not hasattr(name.value, "prefixlen"):
            kind = IdKind.ID_IPV4_ADDR if name.value.version == 4 else IdKind.ID_IPV6_ADDR
            out.append(Identification(kind, name.value.packed))
        elif isinstance(name, x509.DirectoryName):
            out.append(Identification(IdKind.ID_DER_ASN1_DN, name.value.public_bytes()))
        elif isinstance(name, x509.UniformResourceIdentifier):
            out.append(Identification(IdKind.ID_DER_ASN1_GN_URI, name.value.encode()))
    return out


def has_subject(cert: x509.Certificate, ident: Identification) -> int:
    """``x509->has_subject``: the best match of the subject DN or a subjectAltName."""
    if ident.type == IdKind.ID_KEY_ID:
        keyids = {subject_key_id(cert), spki_sha1(cert)}
        return IdMatch.PERFECT if ident.data in keyids else IdMatch.NONE
    best = int(subject_id(cert).matches(ident))
    for san in _san_ids(cert):
        best = max(best, int(san.matches(ident)))
    return best


def identities(cert: x509.Certificate) -> list[Identification]:
    """The subject and every subjectAltName identity (for default IDs and listings)."""
    return [subject_id(cert), *_san_ids(cert)]


def time_text(when: datetime.datetime) -> str:
    """charon's ``%T`` (UTC here): ``Jan 01 00:00:00 2026``."""
    return when.strftime("%b %d %H:%M:%S %Y")


def valid_at(cert: x509.Certificate, now: datetime.datetime) -> bool:
    return cert.not_valid_before_utc <= now <= cert.not_valid_after_utc


def self_signed(cert: x509.Certificate) -> bool:
    return issued_by(cert, cert)


def issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """``x509->issued_by``: names (or key identifiers) match and the signature verifies."""
    if cert != issuer and not is_ca(issuer):
        return False
    aki = _ext(cert, x509.AuthorityKeyIdentifier)
    keyid = subject_key_id(issuer)
    aki_id = getattr(aki, "key_identifier", None)
    if aki_id and keyid and aki_id != keyid:
        return False
    if cert.issuer != issuer.subject:
        return False
    try:
        cert.verify_directly_issued_by(issuer)
    except Exception:  # InvalidSignature, or an algorithm cryptography does not support
        return False
    return True


# --- chain --------------------------------------------------------------------------------------

@dataclass
class ChainResult:
    """The auth info a verified chain adds (SUBJECT_CERT, IM_CERTs, CA_CERT, validations)."""

    subject: x509.Certificate
    im_certs: list[x509.Certificate] = field(default_factory=list)
    ca_cert: x509.Certificate | None = None
    crl_validation: Validation | None = None
    ocsp_validation: Validation | None = None


@dataclass
class TrustStore:
    """The certificates a lookup may use: trusted ones (loaded, configured, authorities) and
    untrusted ones (received from the peer), plus CRLs."""

    trusted: list[x509.Certificate] = field(default_factory=list)
    untrusted: list[x509.Certificate] = field(default_factory=list)
    crls: list[x509.CertificateRevocationList] = field(default_factory=list)
    crl_uris: dict[bytes, list[str]] = field(default_factory=dict)  # CA subject DER -> URIs
    ocsp_signers: list[x509.Certificate] = field(default_factory=list)  # loaded as x509ocsp
    ocsp: Any = None  # vicid.creds.ocsp.OcspContext: responder URIs, response cache, fetcher

    def issuer_of(self, cert: x509.Certificate, trusted: bool) -> x509.Certificate | None:
        """``get_issuer_cert``: a certificate of that pool that issued ``cert``."""
        pool = self.trusted if trusted else self.untrusted
        for cand in pool:
            if cand.subject == cert.issuer and issued_by(cert, cand):
                return cand
        return None


def _check_lifetime(cert: x509.Certificate, label: str, now: datetime.datetime, log: Log) -> bool:
    if valid_at(cert, now):
        return True
    log("CFG", 1, f"{label} certificate invalid (valid from {time_text(cert.not_valid_before_utc)} "
                  f"to {time_text(cert.not_valid_after_utc)})")
    return False


def _check_certificate(subject: x509.Certificate, issuer: x509.Certificate, pathlen: int,
                       now: datetime.datetime, log: Log) -> bool:
    """``check_certificate``: lifetimes, then the constraints plugin's path length rule."""
    if not _check_lifetime(subject, "subject", now, log) or not _check_lifetime(issuer, "issuer", now, log):
        return False
    limit = path_len(issuer)
    if limit is not None and pathlen > limit:
        log("CFG", 1, f"path length of {pathlen} violates constraint of {limit}")
        return False
    return True


def verify_chain(subject: x509.Certificate, store: TrustStore, now: datetime.datetime,
                 log: Log = _nolog, trusted: bool = False) -> ChainResult | None:
    """``verify_trust_chain`` without the online (revocation) pass; None if untrusted."""
    result = ChainResult(subject)
    current = subject
    anchor = False
    for pathlen in range(MAX_TRUST_PATH_LEN + 1):
        issuer = store.issuer_of(current, True)
        if issuer is not None:
            if self_signed(issuer):
                result.ca_cert = issuer
                log("CFG", 1, f'  using trusted ca certificate "{subject_text(issuer)}"')
                trusted = anchor = True
            else:
                result.im_certs.append(issuer)
                log("CFG", 1, f'  using trusted intermediate ca certificate "{subject_text(issuer)}"')
        else:
            issuer = store.issuer_of(current, False)
            if issuer is None:
                log("CFG", 1, f'no issuer certificate found for "{subject_text(current)}"')
                log("CFG", 1, f'  issuer is "{issuer_text(current)}"')
                if trusted:
                    log("CFG", 1, "  reached end of incomplete trust chain for trusted certificate "
                                  f'"{subject_text(subject)}"')
                break
            if issuer == current:
                log("CFG", 1, f'  self-signed certificate "{subject_text(current)}" is not trusted')
                break
            result.im_certs.append(issuer)
            log("CFG", 1, f'  using untrusted intermediate certificate "{subject_text(issuer)}"')
        if not _check_certificate(current, issuer, pathlen, now, log):
            return None
        current = issuer
        if anchor:
            log("CFG", 1, f"  reached self-signed root ca with a path length of {pathlen}")
            break
    else:
        log("CFG", 1, f"maximum path length of {MAX_TRUST_PATH_LEN} exceeded")
        return None
    return result if trusted else None


def chain_pairs(result: ChainResult) -> Iterable[tuple[x509.Certificate, x509.Certificate, bool]]:
    """(subject, issuer, issuer is the anchor) for each link, from the end entity up."""
    current = result.subject
    for im in result.im_certs:
        yield current, im, False
        current = im
    if result.ca_cert is not None:
        yield current, result.ca_cert, True


__all__ = ["ChainResult", "TrustStore", "Validation", "has_subject", "ike_compliant", "issued_by",
           "self_signed", "spki_sha1", "subject_text", "verify_chain"]
