"""Test PKIs made on the fly: CAs, intermediates, end entities with RSA, ECDSA, EdDSA keys, CRLs."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.x509.oid import NameOID

from vicid.config.load_conn import Certificate as CfgCert
from vicid.creds.store import Certificate, CertType, CredStore, PrivateKey, X509Flag, public_key_id
from vicid.identity import Identification, IdKind
from vicid.ike.config import AuthClass, AuthConfig, AuthRule

NOW = datetime.datetime(2026, 3, 1, tzinfo=datetime.UTC)
DAY = datetime.timedelta(days=1)


def keygen(kind: str) -> Any:
    if kind == "rsa":
        return rsa.generate_private_key(65537, 2048)
    if kind == "rsa3072":
        return rsa.generate_private_key(65537, 3072)
    if kind in ("ecdsa", "p256"):
        return ec.generate_private_key(ec.SECP256R1())
    if kind == "p384":
        return ec.generate_private_key(ec.SECP384R1())
    if kind == "p521":
        return ec.generate_private_key(ec.SECP521R1())
    if kind == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    if kind == "ed448":
        return ed448.Ed448PrivateKey.generate()
    if kind.startswith("mldsa"):
        from cryptography.hazmat.primitives.asymmetric import mldsa

        return getattr(mldsa, f"MLDSA{kind[5:]}PrivateKey").generate()
    raise ValueError(kind)


def name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "CH"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "vicid test"),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _hash(key: Any) -> Any:
    return None if isinstance(key, ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey) or \
        type(key).__name__.startswith("MLDSA") else hashes.SHA256()


@dataclass
class Issued:
    cert: x509.Certificate
    key: Any = field(repr=False)

    @property
    def der(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.DER)

    @property
    def pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def key_pem(self) -> bytes:
        return self.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption())

    @property
    def subject(self) -> Identification:
        return Identification(IdKind.ID_DER_ASN1_DN, self.cert.subject.public_bytes())

    def cfg(self) -> CfgCert:
        return CfgCert(self.der, self.subject)


def issue(cn: str, key: Any, issuer: Issued | None = None, *, ca: bool = False, path_len: int | None = None,
          san: list[str] = (), not_before: datetime.datetime | None = None,
          not_after: datetime.datetime | None = None, key_usage: x509.KeyUsage | None = None,
          serial: int | None = None, crl_uri: str | None = None, ocsp_uri: str | None = None,
          eku: list[x509.ObjectIdentifier] = ()) -> Issued:
    subject = name(cn)
    signer = issuer.key if issuer else key
    builder = (x509.CertificateBuilder().subject_name(subject)
               .issuer_name(issuer.cert.subject if issuer else subject).public_key(key.public_key())
               .serial_number(serial or x509.random_serial_number())
               .not_valid_before(not_before or NOW - 30 * DAY)
               .not_valid_after(not_after or NOW + 365 * DAY))
    if ca:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=path_len), critical=True)
    if san:
        names = [x509.RFC822Name(s) if "@" in s else x509.DNSName(s) for s in san]
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    if key_usage is not None:
        builder = builder.add_extension(key_usage, critical=False)
    if crl_uri:
        builder = builder.add_extension(x509.CRLDistributionPoints([x509.DistributionPoint(
            [x509.UniformResourceIdentifier(crl_uri)], None, None, None)]), critical=False)
    if ocsp_uri:
        builder = builder.add_extension(x509.AuthorityInformationAccess([x509.AccessDescription(
            x509.oid.AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(ocsp_uri))]), critical=False)
    if eku:
        builder = builder.add_extension(x509.ExtendedKeyUsage(list(eku)), critical=False)
    builder = builder.add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    if issuer is not None:
        builder = builder.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
            issuer.key.public_key()), critical=False)
    return Issued(builder.sign(signer, _hash(signer)), key)


def ca(cn: str = "vicid test CA", kind: str = "p256", **kw) -> Issued:
    return issue(cn, keygen(kind), None, ca=True, **kw)


def crl(issuer: Issued, revoked: list[tuple[int, x509.ReasonFlags | None]], *,
        next_update: datetime.datetime | None = None, now: datetime.datetime = NOW,
        number: int = 1) -> x509.CertificateRevocationList:
    builder = (x509.CertificateRevocationListBuilder().issuer_name(issuer.cert.subject)
               .last_update(now - DAY).next_update(next_update or now + 7 * DAY)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),
                              critical=False)
               .add_extension(x509.CRLNumber(number), critical=False))
    for serial, reason in revoked:
        entry = x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(now - DAY)
        if reason is not None:
            entry = entry.add_extension(x509.CRLReason(reason), critical=False)
        builder = builder.add_revoked_certificate(entry.build())
    return builder.sign(issuer.key, _hash(issuer.key))


def store_with(*certs: Issued, keys: tuple[Any, ...] = (), crls: tuple[Any, ...] = ()) -> CredStore:
    """A CredStore as load-cert/load-key fill it."""
    store = CredStore()
    for item in certs:
        flag = X509Flag.CA if item.cert.extensions and _is_ca(item.cert) else X509Flag.NONE
        store.add_cert(Certificate(CertType.X509, item.der, flag, item.cert))
    for key in keys:
        store.add_key(PrivateKey(_key_type(key), key, public_key_id(key.public_key())))
    for item in crls:
        store.add_cert(Certificate(CertType.X509_CRL, item.public_bytes(serialization.Encoding.DER),
                                   X509Flag.NONE, item))
    return store


def _key_type(key: Any) -> str:
    from vicid.creds.keys import key_type

    return key_type(key)


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        return False


def pubkey_auth(ident: str | Identification | None, *certs: CfgCert, cacerts: tuple[CfgCert, ...] = (),
                auth: str | None = None, revocation: int | None = None) -> AuthConfig:
    cfg = AuthConfig().add(AuthRule.AUTH_CLASS, AuthClass.PUBKEY)
    if auth:
        from vicid.config.load_conn import auth_rules

        cfg = AuthConfig()
        for rule, value in auth_rules(auth):
            cfg = cfg.add(rule, value)
    if ident is not None:
        cfg = cfg.add(AuthRule.IDENTITY, ident if isinstance(ident, Identification)
                      else Identification.from_string(ident))
    for cert in certs:
        cfg = cfg.add(AuthRule.SUBJECT_CERT, cert)
    for cert in cacerts:
        cfg = cfg.add(AuthRule.CA_CERT, cert)
    if revocation is not None:
        cfg = cfg.add(AuthRule.CRL_VALIDATION, revocation)
    return cfg
