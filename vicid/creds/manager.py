"""The credential lookups IKE authentication needs, over the vici-loaded CredStore
(charon's ``credential_manager.c`` for what the engine asks):

* ``private_key(id, configured certs)``: our signing key and the certificate (plus the
  intermediate CAs) that goes with it (``get_private`` + ``build_trustchain``);
* ``public_keys(key type, id, ...)``: every trusted public key for the peer's identity, each
  with the verified chain (``create_public_enumerator``: pretrusted certificate first, then
  every candidate, with chain validation and CRL checks);
* ``ca_certs()`` / ``ca_by_keyid()``: trusted CA certificates for CERTREQ payloads.

The engine calls this object through ``EngineContext.credmgr``; it only reads the store and
the wall clock (injected, so tests use fixed times). Revocation data it lacks is fetched either
through a synchronous ``fetcher`` (tests, tools) or, with ``deferred``, by the engine's
park-and-resume (``fetched``: the answers for the message in progress; ``vicid.ike.fetch``).
Nothing here returns key material to callers other than the signing key object itself, which
stays inside the authenticator.
"""

from __future__ import annotations

import datetime
import secrets
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509

from vicid.creds.keys import key_type
from vicid.creds.ocsp import Fetcher, OcspContext
from vicid.creds.revocation import check_online, crl_is_newer
from vicid.creds.store import Certificate, CertType, CredStore, PrivateKey, X509Flag, public_key_id
from vicid.creds.trust import (
    ChainResult,
    Log,
    TrustStore,
    has_subject,
    is_ca,
    self_signed,
    spki_sha1,
    subject_key_id,
    subject_text,
    verify_chain,
)
from vicid.identity import Identification


def _nolog(_group: str, _level: int, _msg: str) -> None:
    pass


def utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def parse_der(der: bytes) -> x509.Certificate | None:
    try:
        return x509.load_der_x509_certificate(der)
    except ValueError:
        return None


@dataclass
class LocalKey:
    """Our signing key (never rendered) and the certificates to send with it."""

    key: Any = field(repr=False)
    cert: x509.Certificate | None = None
    im_certs: list[x509.Certificate] = field(default_factory=list)


class CredentialManager:
    """Lookups over a CredStore; ``clock`` gives the wall-clock time for validity checks."""

    def __init__(self, store: CredStore | None, clock: Callable[[], datetime.datetime] = utc_now, *,
                 fetcher: Fetcher | None = None, fetch_timeout: float = 10.0, enable_ocsp: bool = True,
                 enable_crl: bool = True, nonce: Callable[[int], bytes] = secrets.token_bytes,
                 deferred: bool = False) -> None:
        self.store = store if store is not None else CredStore()
        self.clock = clock
        # the revocation plugin's settings; a synchronous fetcher (None: never fetch on the
        # spot), or ``deferred``: the engine fetches while the IKE_SA waits
        self.fetcher, self.fetch_timeout, self.deferred = fetcher, fetch_timeout, deferred
        self.enable_ocsp, self.enable_crl = enable_ocsp, enable_crl
        self.nonce = nonce

    # --- pools ------------------------------------------------------------------------------
    def trusted_certs(self, extra: Iterable[x509.Certificate] = ()) -> list[x509.Certificate]:
        """Loaded X.509 certificates, authority CA certificates and configured ones."""
        out: list[x509.Certificate] = []
        for cert in self.store.certs:
            if cert.type == CertType.X509 and isinstance(cert.parsed, x509.Certificate):
                out.append(cert.parsed)
        for authority in self.store.authorities.values():
            if isinstance(authority.cacert.parsed, x509.Certificate):
                out.append(authority.cacert.parsed)
        for cert in extra:
            if cert not in out:
                out.append(cert)
        return out

    def crls(self, extra: Iterable[x509.CertificateRevocationList] = ()) -> list[x509.CertificateRevocationList]:
        found = [c.parsed for c in [*self.store.certs, *self.store.cache]
                 if c.type == CertType.X509_CRL and c.parsed is not None]
        return found + list(extra)

    def trust_store(self, trusted: Iterable[x509.Certificate] = (), untrusted: Iterable[x509.Certificate] = (),
                    crls: Iterable[x509.CertificateRevocationList] = (),
                    fetched: dict[tuple, Any] | None = None) -> TrustStore:
        uris = {a.cacert.parsed.subject.public_bytes(): list(a.crl_uris)
                for a in self.store.authorities.values() if a.crl_uris}
        store = TrustStore(self.trusted_certs(trusted), list(untrusted), self.crls(crls), uris)
        store.ocsp_signers = [c.parsed for c in self.store.certs
                              if c.type == CertType.X509 and c.flag == X509Flag.OCSP]
        store.ocsp = OcspContext(
            uris={public_key_id(a.cacert.parsed.public_key()): list(a.ocsp_uris)
                  for a in self.store.authorities.values() if a.ocsp_uris},
            cached=[c.der for c in self.store.cache if c.type == CertType.OCSP_RESPONSE],
            fetch=self.fetcher, timeout=self.fetch_timeout, nonce=self.nonce, cache=self.cache_ocsp,
            cache_crl=self.cache_crl, enable_ocsp=self.enable_ocsp, enable_crl=self.enable_crl,
            deferred=self.deferred, answers=fetched)
        return store

    def cache_crl(self, der: bytes, crl: x509.CertificateRevocationList) -> None:
        """``cache_cert`` for a fetched, valid CRL: it replaces cached CRLs of the same issuer
        that are not newer (``list-certs`` lists it, ``flush-certs type=x509_crl`` drops it)."""
        kept = []
        for cert in self.store.cache:
            if cert.type == CertType.X509_CRL and cert.parsed is not None and cert.parsed.issuer == crl.issuer:
                if cert.der == der or crl_is_newer(cert.parsed, crl):
                    return  # the cache already has it (or a newer one)
                continue
            kept.append(cert)
        self.store.cache[:] = [*kept, Certificate(CertType.X509_CRL, der, X509Flag.NONE, crl)]

    def cache_ocsp(self, der: bytes, response: Any) -> None:
        """``cache_cert`` for a fresh OCSP response: it replaces cached ones on the same certificates."""
        ids = {(r.serial_number, r.issuer_key_hash) for r in response.responses}
        kept = []
        for cert in self.store.cache:
            if cert.type == CertType.OCSP_RESPONSE and cert.parsed is not None and \
                    {(r.serial_number, r.issuer_key_hash) for r in cert.parsed.responses} <= ids:
                continue
            kept.append(cert)
        self.store.cache[:] = [*kept, Certificate(CertType.OCSP_RESPONSE, der, X509Flag.NONE, response)]

    def ca_certs(self, extra: Iterable[x509.Certificate] = ()) -> list[x509.Certificate]:
        return [c for c in self.trusted_certs(extra) if is_ca(c)]

    def ca_by_keyid(self, keyid: bytes) -> x509.Certificate | None:
        """A trusted CA certificate whose SPKI SHA-1 (or subjectKeyIdentifier) is ``keyid``."""
        for cert in self.ca_certs():
            if keyid in (spki_sha1(cert), subject_key_id(cert)):
                return cert
        return None

    # --- our key ----------------------------------------------------------------------------
    def _key_for(self, cert: x509.Certificate) -> PrivateKey | None:
        return self.store.keys.get(public_key_id(cert.public_key()))

    def private_key(self, ident: Identification, configured: Iterable[x509.Certificate] = (),
                    wanted_type: str = "ANY") -> LocalKey | None:
        """``get_private``: the configured certificate's key, else any certificate matching
        ``ident`` whose key is loaded, else a raw key whose key id is ``ident``."""
        configured = list(configured)
        candidates = configured or [c for c in self.trusted_certs() if has_subject(c, ident)]
        for cert in candidates:
            key = self._key_for(cert)
            if key is not None and wanted_type in ("ANY", key.key_type):
                return LocalKey(key.key, cert, self.build_trustchain(cert, configured))
        if configured:
            return None
        if ident.type == 11:  # ID_KEY_ID: a raw key by its id
            key = self.store.keys.get(ident.data.hex())
            if key is not None:
                return LocalKey(key.key)
        return None

    def build_trustchain(self, cert: x509.Certificate,
                         extra: Iterable[x509.Certificate] = ()) -> list[x509.Certificate]:
        """The intermediate CA certificates above ``cert`` (the root is not sent)."""
        store = self.trust_store(extra)
        chain: list[x509.Certificate] = []
        current = cert
        for _ in range(8):
            issuer = store.issuer_of(current, True)
            if issuer is None or self_signed(issuer) or issuer == current:
                break
            chain.append(issuer)
            current = issuer
        return chain

    # --- peer keys --------------------------------------------------------------------------
    def public_keys(self, ktype: str, ident: Identification, *, received: Iterable[x509.Certificate] = (),
                    received_im: Iterable[x509.Certificate] = (), configured: Iterable[x509.Certificate] = (),
                    received_crls: Iterable[x509.CertificateRevocationList] = (), online: bool = True,
                    log: Log = _nolog, fetched: dict[tuple, Any] | None = None) -> Iterator[tuple[Any, ChainResult]]:
        """``create_public_enumerator``: (public key, chain info) for every trusted certificate
        of ``ident`` with a ``ktype`` key ("ANY" for all). A deferred manager raises
        ``FetchNeeded`` for revocation data not in ``fetched`` (nothing is fetched without it)."""
        received = list(received)
        store = self.trust_store(configured, [*received, *received_im], received_crls, fetched)
        now = self.clock()

        def fits(cert: x509.Certificate) -> bool:
            return (ktype == "ANY" or key_type(cert.public_key()) == ktype) and has_subject(cert, ident) > 0

        pretrusted = next((c for c in store.trusted if fits(c)), None)
        tried: list[x509.Certificate] = []
        if pretrusted is not None:
            tried.append(pretrusted)
            log("CFG", 1, f'  using trusted certificate "{subject_text(pretrusted)}"')
            if self_signed(pretrusted):
                yield pretrusted.public_key(), ChainResult(pretrusted)
            else:
                result = verify_chain(pretrusted, store, now, log, trusted=True)
                if result is not None and (not online or check_online(result, store, now, log)):
                    yield pretrusted.public_key(), result
        for cert in [*received, *store.trusted]:
            if cert in tried or not fits(cert):
                continue
            tried.append(cert)
            log("CFG", 1, f'  using certificate "{subject_text(cert)}"')
            result = verify_chain(cert, store, now, log)
            if result is None:
                continue
            if online and not check_online(result, store, now, log):
                continue
            yield cert.public_key(), result


__all__ = ["CredentialManager", "LocalKey", "parse_der", "utc_now"]
