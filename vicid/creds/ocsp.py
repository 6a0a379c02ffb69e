"""Certificate status by OCSP (RFC 6960), as charon's revocation plugin decides it (``check_ocsp``).

For one (subject, issuer) link: cached responses are tried first; if none is good (or revoked),
the issuer's authority ``ocsp_uris`` and then the subject's AIA OCSP URIs are queried (in the
engine by parking the message while the shell fetches, see ``fetching.py``). A
request carries a random nonce; a response with a nonce must echo it. A response counts only
if signed by the issuer itself, by a delegated responder the issuer certified with
id-kp-OCSPSigning, or by a locally loaded OCSP signer (``x509ocsp/``). Results are charon's:
GOOD (fresh), STALE (past the newest nextUpdate, or producedAt + 30 s without one), REVOKED,
FAILED (a URI was known but no usable answer), SKIPPED (nothing to ask). Fresh fetched
responses are cached; ``list-certs`` shows them as OCSP_RESPONSE.
"""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID

from vicid.creds.fetching import obtain
from vicid.creds.store import public_key_id
from vicid.creds.trust import Log, TrustStore, Validation, issued_by, subject_text, time_text
from vicid.identity import dntoa

# (uri, request DER, content type, timeout s) -> response body, None on any transport error
Fetcher = Callable[[str, bytes, str, float], bytes | None]
OCSP_DEFAULT_LIFETIME = datetime.timedelta(seconds=30)  # usable time without nextUpdate
NONCE_LEN = 16
_REASONS = {
    x509.ReasonFlags.unspecified: "unspecified",
    x509.ReasonFlags.key_compromise: "key compromise",
    x509.ReasonFlags.ca_compromise: "ca compromise",
    x509.ReasonFlags.affiliation_changed: "affiliation changed",
    x509.ReasonFlags.superseded: "superseded",
    x509.ReasonFlags.cessation_of_operation: "cessation of operation",
    x509.ReasonFlags.certificate_hold: "certificate hold",
    x509.ReasonFlags.remove_from_crl: "remove from crl",
}


@dataclass
class OcspContext:
    """What ``check_ocsp`` may use beyond the trust store: responder URIs by issuer key id,
    the response cache (DER, shared with list-certs) and the fetch seam."""

    uris: dict[str, list[str]] = field(default_factory=dict)  # issuer public_key_id -> URIs
    cached: list[bytes] = field(default_factory=list)
    fetch: Fetcher | None = None
    timeout: float = 10.0
    nonce: Callable[[int], bytes] | None = None
    cache: Callable[[bytes, ocsp.OCSPResponse], None] = lambda _der, _resp: None
    cache_crl: Callable[[bytes, x509.CertificateRevocationList], None] = lambda _der, _crl: None
    # the engine's way (vicid.creds.fetching): answers fetched for the message in progress,
    # FetchNeeded for the others
    deferred: bool = False
    answers: dict[tuple, Any] | None = None
    enable_ocsp: bool = True  # charon.plugins.revocation.enable_ocsp
    enable_crl: bool = True  # charon.plugins.revocation.enable_crl


def ocsp_uris(cert: x509.Certificate) -> list[str]:
    """The AIA id-ad-ocsp URIs of a certificate."""
    try:
        aia = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    except (x509.ExtensionNotFound, ValueError):
        return []
    return [
        d.access_location.value
        for d in aia
        if d.access_method == x509.oid.AuthorityInformationAccessOID.OCSP
        and isinstance(d.access_location, x509.UniformResourceIdentifier)
    ]


def is_ocsp_signer(cert: x509.Certificate) -> bool:
    """X509_OCSP_SIGNER: the extendedKeyUsage names id-kp-OCSPSigning."""
    try:
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except (x509.ExtensionNotFound, ValueError):
        return False
    return ExtendedKeyUsageOID.OCSP_SIGNING in eku


def build_request(subject: x509.Certificate, issuer: x509.Certificate, nonce: bytes) -> bytes:
    """An unsigned OCSPRequest for one certificate (SHA-1 CertID, as charon sends) with a nonce."""
    builder = ocsp.OCSPRequestBuilder().add_certificate(subject, issuer, hashes.SHA1())
    if nonce:
        builder = builder.add_extension(x509.OCSPNonce(nonce), critical=False)
    return builder.build().public_bytes(serialization.Encoding.DER)


def parse_response(der: bytes) -> ocsp.OCSPResponse | None:
    try:
        return ocsp.load_der_ocsp_response(der)
    except ValueError:
        return None


def response_nonce(response: ocsp.OCSPResponse) -> bytes:
    try:
        return response.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce
    except (x509.ExtensionNotFound, ValueError):
        return b""


def usable_until(response: ocsp.OCSPResponse) -> datetime.datetime:
    """The newest nextUpdate of the single responses, else producedAt + 30 s."""
    nexts = [r.next_update_utc for r in response.responses if r.next_update_utc is not None]
    return max(nexts) if nexts else response.produced_at_utc + OCSP_DEFAULT_LIFETIME


def _verify_signature(response: ocsp.OCSPResponse, signer: x509.Certificate) -> bool:
    """The response's signature over tbsResponseData with the signer's public key."""
    key: Any = signer.public_key()
    data, sig = response.tbs_response_bytes, response.signature
    try:
        algorithm = response.signature_hash_algorithm
    except UnsupportedAlgorithm:
        return False
    try:
        if isinstance(key, rsa.RSAPublicKey):
            if algorithm is None or response.signature_algorithm_oid.dotted_string == "1.2.840.113549.1.1.10":
                return False  # RSASSA-PSS parameters are not exposed for OCSP responses
            key.verify(sig, data, padding.PKCS1v15(), algorithm)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            if algorithm is None:
                return False
            key.verify(sig, data, ec.ECDSA(algorithm))
        else:  # EdDSA, ML-DSA: the message itself
            key.verify(sig, data)  # type: ignore[union-attr]
    except (InvalidSignature, ValueError, TypeError, UnsupportedAlgorithm):
        return False
    return True


def _responder_matches(response: ocsp.OCSPResponse, cert: x509.Certificate) -> bool:
    if response.responder_name is not None:
        return cert.subject == response.responder_name
    key_hash = response.responder_key_hash
    return key_hash is not None and bytes.fromhex(public_key_id(cert.public_key())) == key_hash


def _responder_text(response: ocsp.OCSPResponse) -> str:
    if response.responder_name is not None:
        return dntoa(response.responder_name.public_bytes())
    return ":".join(f"{b:02x}" for b in response.responder_key_hash or b"")


def verify_ocsp(
    response: ocsp.OCSPResponse,
    issuer: x509.Certificate,
    store: TrustStore,
    now: datetime.datetime,
    cached: bool,
    log: Log,
) -> bool:
    """``verify_ocsp``: signed by the CA, a delegated signer of it, or a local OCSP signer."""
    candidates = [
        c for c in [*response.certificates, *store.trusted, *store.untrusted] if _responder_matches(response, c)
    ]
    found = False
    for signer in candidates:
        if not signer.not_valid_before_utc <= now <= signer.not_valid_after_utc:
            continue
        if signer != issuer and not (issued_by(signer, issuer) and is_ocsp_signer(signer)):
            continue
        found = True
        if _signed_by(response, signer, cached, log):
            return True
    for signer in store.trusted:  # fallback: an explicitly trusted OCSP signer
        if (
            _responder_matches(response, signer)
            and (is_ocsp_signer(signer) or signer in store.ocsp_signers)
            and signer.not_valid_before_utc <= now <= signer.not_valid_after_utc
        ):
            found = True
            if _signed_by(response, signer, cached, log):
                return True
    if not found and not cached:
        log("CFG", 1, f"ocsp response verification failed, no signer certificate '{_responder_text(response)}' found")
    return False


def _signed_by(response: ocsp.OCSPResponse, signer: x509.Certificate, cached: bool, log: Log) -> bool:
    if _verify_signature(response, signer):
        if not cached:
            log("CFG", 1, f'  ocsp response correctly signed by "{subject_text(signer)}"')
        return True
    log("CFG", 1, "OCSP response verification failed, invalid signature")
    return False


@dataclass
class SingleStatus:
    status: Validation
    revoked_at: datetime.datetime | None = None
    reason: str = "unspecified"


def get_status(response: ocsp.OCSPResponse, subject: x509.Certificate, issuer: x509.Certificate) -> SingleStatus:
    """``get_status``: the single response for subject's CertID (serial, then issuer key hash
    with SHA-1, else issuer name hash); FAILED if none or the status is unknown."""
    key_hash = bytes.fromhex(public_key_id(issuer.public_key()))
    for single in response.responses:
        if single.serial_number != subject.serial_number:
            continue
        if single.issuer_key_hash:
            if not isinstance(single.hash_algorithm, hashes.SHA1) or single.issuer_key_hash != key_hash:
                continue
        elif single.issuer_name_hash:
            digest = hashlib.new(single.hash_algorithm.name, issuer.subject.public_bytes()).digest()
            if digest != single.issuer_name_hash:
                continue
        else:
            continue
        if single.certificate_status == ocsp.OCSPCertStatus.GOOD:
            return SingleStatus(Validation.GOOD)
        if single.certificate_status == ocsp.OCSPCertStatus.REVOKED:
            reason = (
                _REASONS.get(single.revocation_reason, "unspecified") if single.revocation_reason else "unspecified"
            )
            return SingleStatus(Validation.REVOKED, single.revocation_time_utc, reason)
        return SingleStatus(Validation.FAILED)
    return SingleStatus(Validation.FAILED)


@dataclass
class _Best:
    response: ocsp.OCSPResponse | None = None
    valid: Validation = Validation.SKIPPED


def _better(
    der: bytes,
    cand: ocsp.OCSPResponse,
    best: _Best,
    subject: x509.Certificate,
    issuer: x509.Certificate,
    store: TrustStore,
    ctx: OcspContext,
    now: datetime.datetime,
    cached: bool,
    log: Log,
) -> None:
    """``get_better_ocsp``: keep the newer usable response and update the validation."""
    if not verify_ocsp(cand, issuer, store, now, cached, log):
        return
    single = get_status(cand, subject, issuer)
    if single.status == Validation.FAILED:
        if not cached:
            log("CFG", 1, "  ocsp response contains no status on our certificate")
        return
    if single.status == Validation.REVOKED:
        when = time_text(single.revoked_at) if single.revoked_at else "(unknown)"
        log("CFG", 1, f"certificate was revoked on {when}, reason: {single.reason}")
    if best.response is None or cand.produced_at_utc > best.response.produced_at_utc:
        best.response = cand
        until = usable_until(cand)
        if now < until:
            log("CFG", 1, f"  ocsp response is valid: until {time_text(until)}")
            best.valid = Validation.GOOD
            if not cached:  # only fresh ones: stale responses are fetched again
                ctx.cache(der, cand)
        else:
            log("CFG", 1, f"  ocsp response is stale: since {time_text(until)}")
            best.valid = Validation.STALE
    else:
        best.valid = Validation.STALE
    if single.status == Validation.REVOKED:
        best.valid = Validation.REVOKED  # revoked counts even if stale


def request_nonce(request: bytes) -> bytes:
    """The nonce of an OCSP request we built (b"" if none)."""
    try:
        parsed = ocsp.load_der_ocsp_request(request)
        return parsed.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce
    except (ValueError, x509.ExtensionNotFound):
        return b""


def _fetch(
    uri: str, subject: x509.Certificate, issuer: x509.Certificate, ctx: OcspContext, log: Log
) -> tuple[bytes, ocsp.OCSPResponse] | None:
    """``fetch_ocsp``: POST a request with a fresh nonce; None unless a successful response with
    the same (or no) nonce came back."""
    def build() -> bytes:
        return build_request(subject, issuer, ctx.nonce(NONCE_LEN) if ctx.nonce is not None else b"")

    key = ("ocsp", uri, subject.serial_number, public_key_id(issuer.public_key()))
    answer = obtain(ctx, key, uri, build, "application/ocsp-request", "ocsp",
                    f"  requesting ocsp status from '{uri}' ...", log)
    body, nonce = answer.body, request_nonce(answer.request)
    if body is None:
        log("CFG", 1, f"ocsp request to {uri} failed")
        return None
    response = parse_response(body)
    if response is None:
        log("CFG", 1, "parsing ocsp response failed")
        return None
    if response.response_status != ocsp.OCSPResponseStatus.SUCCESSFUL:
        return None
    got = response_nonce(response)
    if got and got != nonce:
        log("CFG", 1, "nonce in ocsp response doesn't match")
        return None
    return body, response


def check_ocsp(
    subject: x509.Certificate, issuer: x509.Certificate, store: TrustStore, now: datetime.datetime, log: Log
) -> Validation:
    """``check_ocsp`` for one link: cache, authority URIs, then the certificate's AIA URIs."""
    ctx = store.ocsp if store.ocsp is not None else OcspContext()
    best = _Best()
    for der in ctx.cached:
        cand = parse_response(der)
        if cand is None or cand.response_status != ocsp.OCSPResponseStatus.SUCCESSFUL:
            continue
        _better(der, cand, best, subject, issuer, store, ctx, now, True, log)
        if best.response is not None and best.valid != Validation.STALE:
            log("CFG", 1, "  using cached ocsp response")
            break
    uri_known = False
    uris = [*ctx.uris.get(public_key_id(issuer.public_key()), []), *ocsp_uris(subject)]
    for uri in uris:
        if best.valid in (Validation.GOOD, Validation.REVOKED):
            break
        uri_known = True
        fetched = _fetch(uri, subject, issuer, ctx, log)
        if fetched is not None:
            _better(*fetched, best, subject, issuer, store, ctx, now, False, log)
    if best.valid == Validation.SKIPPED and uri_known:
        return Validation.FAILED
    return best.valid


__all__ = [
    "Fetcher",
    "OcspContext",
    "build_request",
    "check_ocsp",
    "get_status",
    "is_ocsp_signer",
    "ocsp_uris",
    "parse_response",
    "usable_until",
    "verify_ocsp",
]
