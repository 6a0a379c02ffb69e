"""A small CA, a host certificate and its key, made fresh for tests (never shipped keys)."""

from __future__ import annotations

import datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "CH"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "vicid test"),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def make_pki(directory: Path) -> dict[str, Path]:
    """Write x509ca/ca.pem, x509/moon.pem and private/moon.pem (ECDSA P-256) below directory."""
    now = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(_name("vicid test CA")).issuer_name(_name("vicid test CA"))
          .public_key(ca_key.public_key()).serial_number(1).not_valid_before(now)
          .not_valid_after(now + datetime.timedelta(days=3650))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(_name("moon.example.org")).issuer_name(ca.subject)
            .public_key(key.public_key()).serial_number(2).not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=3650))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("moon.example.org")]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    paths = {"ca": directory / "x509ca" / "ca.pem", "cert": directory / "x509" / "moon.pem",
             "key": directory / "private" / "moon.pem"}
    for path in paths.values():
        path.parent.mkdir(parents=True, exist_ok=True)
    paths["ca"].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths["cert"].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths["key"].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
    return paths
