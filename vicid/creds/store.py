"""Credentials loaded over vici: certificates, private keys, shared secrets and authorities.

Private keys and shared secrets stay inside this store: listings expose key ids and secret ids,
never key material (get-keys/get-shared return identifiers only, as charon does).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa

from vicid.secrets import Secret


class CertType(Enum):
    X509 = "X509"
    X509_AC = "X509_AC"
    X509_CRL = "X509_CRL"
    OCSP_RESPONSE = "OCSP_RESPONSE"
    PUBKEY = "PUBKEY"


class X509Flag(Enum):
    NONE = "NONE"
    CA = "CA"
    AA = "AA"
    OCSP = "OCSP"


@dataclass
class Certificate:
    type: CertType
    der: bytes
    flag: X509Flag = X509Flag.NONE
    parsed: Any = None  # x509.Certificate / CRL / public key object

    def public_key(self) -> Any:
        if self.type == CertType.X509:
            return self.parsed.public_key()
        if self.type == CertType.PUBKEY:
            return self.parsed
        return None


@dataclass
class PrivateKey:
    key_type: str  # RSA, ECDSA, ED25519, ED448, DSA
    key: Any  # cryptography private key object (never rendered)
    key_id: str  # hex SHA-1 of the subjectPublicKey bits

    def __repr__(self) -> str:
        return f"<PrivateKey {self.key_type} {self.key_id}>"


@dataclass
class SharedKey:
    type: str  # IKE, EAP, NTLM, PPK
    secret: Secret
    owners: list[str] = field(default_factory=list)


@dataclass
class Authority:
    name: str
    cacert: Certificate
    crl_uris: list[str] = field(default_factory=list)
    ocsp_uris: list[str] = field(default_factory=list)
    cert_uri_base: str | None = None


def public_key_id(public_key: Any) -> str:
    """charon's key id: SHA-1 over the subjectPublicKey BIT STRING contents, lowercase hex."""
    if isinstance(public_key, rsa.RSAPublicKey):
        bits = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
    elif isinstance(public_key, ec.EllipticCurvePublicKey):
        bits = public_key.public_bytes(serialization.Encoding.X962,
                                       serialization.PublicFormat.UncompressedPoint)
    elif isinstance(public_key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
        bits = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    else:
        spki = public_key.public_bytes(serialization.Encoding.DER,
                                       serialization.PublicFormat.SubjectPublicKeyInfo)
        bits = _spki_bits(spki)
    return hashlib.sha1(bits).hexdigest()


def _spki_bits(spki: bytes) -> bytes:
    """The BIT STRING contents of a DER SubjectPublicKeyInfo (DSA and other rare types)."""
    def header(data: bytes, pos: int) -> tuple[int, int]:
        length = data[pos + 1]
        pos += 2
        if length & 0x80:
            n = length & 0x7F
            length = int.from_bytes(data[pos:pos + n], "big")
            pos += n
        return pos, length

    pos, _ = header(spki, 0)  # outer SEQUENCE
    pos, alg_len = header(spki, pos)  # AlgorithmIdentifier
    pos, bits_len = header(spki, pos + alg_len)  # BIT STRING
    return spki[pos + 1:pos + bits_len]  # skip the unused-bits octet


KEY_TYPES = {
    "RSA": rsa.RSAPrivateKey, "ECDSA": ec.EllipticCurvePrivateKey, "DSA": dsa.DSAPrivateKey,
    "ED25519": ed25519.Ed25519PrivateKey, "ED448": ed448.Ed448PrivateKey,
}
try:  # FIPS 204 (cryptography >= 47): PKCS#8 ML-DSA keys load with type "any"
    from cryptography.hazmat.primitives.asymmetric import mldsa

    KEY_TYPES.update({"ML_DSA_44": mldsa.MLDSA44PrivateKey, "ML_DSA_65": mldsa.MLDSA65PrivateKey,
                      "ML_DSA_87": mldsa.MLDSA87PrivateKey})
except ImportError:  # pragma: no cover - older cryptography
    pass


class CredStore:
    """All credentials loaded over vici, plus the (empty) cache flush-certs acts on."""

    def __init__(self) -> None:
        self.certs: list[Certificate] = []
        self.keys: dict[str, PrivateKey] = {}
        self.shared: dict[str, SharedKey] = {}  # by unique id
        self.anonymous_shared: list[SharedKey] = []  # loaded without an id
        self.authorities: dict[str, Authority] = {}
        self.cache: list[Certificate] = []  # fetched CRLs/OCSP responses (none fetched yet)

    def add_cert(self, cert: Certificate) -> None:
        if not any(c.type == cert.type and c.der == cert.der for c in self.certs):
            self.certs.append(cert)

    def add_key(self, key: PrivateKey) -> None:
        self.keys[key.key_id] = key

    def has_private_key(self, cert: Certificate) -> bool:
        pub = cert.public_key()
        return pub is not None and public_key_id(pub) in self.keys

    def clear(self) -> None:
        for shared in [*self.shared.values(), *self.anonymous_shared]:
            shared.secret.zeroize()
        self.certs.clear()
        self.keys.clear()
        self.shared.clear()
        self.anonymous_shared.clear()
        self.cache.clear()


def parse_certificate(ctype: CertType, data: bytes) -> Any:
    """Parse PEM or DER data of the given type; raises ValueError when it does not parse."""
    pem = data.lstrip().startswith(b"-----BEGIN")
    if ctype == CertType.X509:
        return x509.load_pem_x509_certificate(data) if pem else x509.load_der_x509_certificate(data)
    if ctype == CertType.X509_CRL:
        return x509.load_pem_x509_crl(data) if pem else x509.load_der_x509_crl(data)
    if ctype == CertType.PUBKEY:
        return (serialization.load_pem_public_key(data) if pem
                else serialization.load_der_public_key(data))
    raise ValueError(f"{ctype.value} certificates are not supported")


def to_der(ctype: CertType, parsed: Any) -> bytes:
    if ctype == CertType.PUBKEY:
        return parsed.public_bytes(serialization.Encoding.DER,
                                   serialization.PublicFormat.SubjectPublicKeyInfo)
    return parsed.public_bytes(serialization.Encoding.DER)


def is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def load_private_key(data: bytes) -> Any:
    """PEM or DER private key (PKCS#1, SEC1, PKCS#8, unencrypted); raises ValueError."""
    if data.lstrip().startswith(b"-----BEGIN"):
        return serialization.load_pem_private_key(data, password=None)
    return serialization.load_der_private_key(data, password=None)
