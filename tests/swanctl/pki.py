"""A certificate swanctl.conf directory made fresh for tests (no key is ever shipped).

``make_confdir(d)`` writes swanctl.conf + strongswan.conf and credentials in
every directory swanctl loads from: an ECDSA CA (x509ca), end-entity
certificates with SANs, CRL and OCSP URIs, EKUs and a policy (x509), a CRL
(x509crl), a raw public key (pubkey), an unencrypted PKCS#8 key (private),
a legacy-PEM encrypted RSA key (rsa; passphrase from secrets, after a wrong
one), a plain ECDSA key (ecdsa), an encrypted Ed25519 PKCS#8 key (pkcs8) and
an encrypted PKCS#12 file (pkcs12) -- plus pools, an authority, every shared
secret type, and two secrets swanctl complains about.
"""

from __future__ import annotations

import datetime
import ipaddress
import shutil
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID

from tests.interop.conftest import CONFIGS

NOW = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
PEM, DER = serialization.Encoding.PEM, serialization.Encoding.DER
PASSPHRASES = {"sun": b"sun-pass", "venus": b"venus-pass", "mars": b"mars-pass"}  # test-only

SWANCTL_CONF = """
connections {
    rw-cert {
        version = 2
        local_addrs = 192.0.2.2
        pools = rw-pool, rw-pool6
        proposals = aes256gcm16-sha384-ecp384-ke1_mlkem1024, default
        send_certreq = no
        dpd_delay = 30s
        local {
            auth = pubkey
            certs = moon.pem
            id = moon.example.org
        }
        remote {
            auth = pubkey
            cacerts = ca.pem
            revocation = strict
        }
        remote-2 {
            auth = eap-md5
            eap_id = %any
        }
        children {
            rw {
                local_ts = 0.0.0.0/0, ::/0
                esp_proposals = aes128gcm16-ecp256, aes256-sha256-modp3072
                rekey_time = 20m
                dpd_action = restart
                start_action = none
            }
        }
    }
    rsa-peer : connections.rw-cert {
        local {
            certs = sun.der
            id = sun.example.org
        }
        remote {
            pubkeys = jupiter.pem
        }
        children {
            rw {
                mode = transport
                rekey_bytes = 1000000
                rekey_packets = 5000
                start_action = trap
                local_ts = 198.51.100.0/24[tcp/https]
                remote_ts = 10.1.0.0/16
            }
        }
    }
}
pools {
    rw-pool {
        addrs = 198.51.100.128/25
        dns = 198.51.100.53, 198.51.100.54
    }
    rw-pool6 {
        addrs = 2001:db8:1::/112
    }
}
authorities {
    test-ca {
        cacert = ca.pem
        crl_uris = http://crl.example.org/ca.crl, "ldap://ldap.example.org/cn=ca?certificateRevocationList"
        ocsp_uris = http://ocsp.example.org
        cert_uri_base = http://certs.example.org/
    }
}
secrets {
    ike-rw {
        id = moon.example.org
        secret = 0x0123456789abcdef
    }
    eap-carol {
        id = carol
        secret = 0sY2Fyb2wtZWFw
    }
    xauth-x {
        id-a = a
        id-b = b
        secret = "xauth pw 123"
    }
    ntlm-n {
        id = n
        secret = ntlm-secret
    }
    ppk-p {
        id = p
        secret = 0x000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
    }
    rsa-sun {
        file = sun.pem
        secret = sun-pass
        secret2 = wrong
    }
    pkcs8-venus {
        file = venus.der
        secret = venus-pass
    }
    pkcs12-mars {
        file = mars.p12
        secret = mars-pass
    }
    unknownthing {
        secret = x
    }
    ike-nosecret {
        id = x
    }
}
"""


def _name(cn: str, ou: str | None = None) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COUNTRY_NAME, "CH"),
             x509.NameAttribute(NameOID.ORGANIZATION_NAME, "vicid test")]
    if ou:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, ou))
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, cn))
    return x509.Name(attrs)


def make_confdir(d: Path) -> Path:
    shutil.rmtree(d, ignore_errors=True)
    for sub in ("x509", "x509ca", "x509crl", "private", "rsa", "ecdsa", "pkcs8", "pkcs12", "pubkey"):
        (d / sub).mkdir(parents=True)
    ca_key = ec.generate_private_key(ec.SECP384R1())
    ca = (x509.CertificateBuilder().subject_name(_name("vicid test CA")).issuer_name(_name("vicid test CA"))
          .public_key(ca_key.public_key()).serial_number(0x00C0FFEE).not_valid_before(NOW)
          .not_valid_after(NOW + datetime.timedelta(days=3650))
          .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
          .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA384()))
    (d / "x509ca/ca.pem").write_bytes(ca.public_bytes(PEM))
    aki = x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key())

    def issue(cn: str, key, serial: int, sans: list, eku=None, extra=()) -> x509.Certificate:
        b = (x509.CertificateBuilder().subject_name(_name(cn, "gateways")).issuer_name(ca.subject)
             .public_key(key.public_key()).serial_number(serial).not_valid_before(NOW)
             .not_valid_after(NOW + datetime.timedelta(days=730))
             .add_extension(x509.SubjectAlternativeName(sans), critical=False).add_extension(aki, critical=False)
             .add_extension(x509.CRLDistributionPoints([x509.DistributionPoint(
                 [x509.UniformResourceIdentifier("http://crl.example.org/ca.crl")], None, None, None)]),
                 critical=False)
             .add_extension(x509.AuthorityInformationAccess([x509.AccessDescription(
                 AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier("http://ocsp.example.org"))]),
                 critical=False))
        if eku:
            b = b.add_extension(x509.ExtendedKeyUsage(eku), critical=False)
        for ext in extra:
            b = b.add_extension(ext, critical=False)
        return b.sign(ca_key, hashes.SHA256())

    moon_key = ec.generate_private_key(ec.SECP256R1())
    moon = issue("moon.example.org", moon_key, 0x81,
                 [x509.DNSName("moon.example.org"), x509.IPAddress(ipaddress.ip_address("192.0.2.2")),
                  x509.RFC822Name("moon@example.org")],
                 [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH])
    (d / "x509/moon.pem").write_bytes(moon.public_bytes(PEM))
    (d / "private/moon.pem").write_bytes(moon_key.private_bytes(
        PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))

    sun_key = rsa.generate_private_key(65537, 2048)
    policy = x509.CertificatePolicies([x509.PolicyInformation(
        x509.ObjectIdentifier("1.3.6.1.4.1.36906.1.1.1"), ["http://cps.example.org"])])
    sun = issue("sun.example.org", sun_key, 2, [x509.DNSName("sun.example.org")], extra=[policy])
    (d / "x509/sun.der").write_bytes(sun.public_bytes(DER))
    (d / "rsa/sun.pem").write_bytes(sun_key.private_bytes(
        PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.BestAvailableEncryption(PASSPHRASES["sun"])))

    venus_key = ed25519.Ed25519PrivateKey.generate()
    venus = issue("venus.example.org", venus_key, 3, [x509.DNSName("venus.example.org")])
    (d / "x509/venus.pem").write_bytes(venus.public_bytes(PEM))
    (d / "pkcs8/venus.der").write_bytes(venus_key.private_bytes(
        DER, serialization.PrivateFormat.PKCS8, serialization.BestAvailableEncryption(PASSPHRASES["venus"])))

    mars_key = ec.generate_private_key(ec.SECP384R1())
    mars = issue("mars.example.org", mars_key, 4, [x509.DNSName("mars.example.org")])
    (d / "pkcs12/mars.p12").write_bytes(pkcs12.serialize_key_and_certificates(
        b"mars", mars_key, mars, [ca], serialization.BestAvailableEncryption(PASSPHRASES["mars"])))

    (d / "ecdsa/plain.pem").write_bytes(ec.generate_private_key(ec.SECP256R1()).private_bytes(
        PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()))
    crl = (x509.CertificateRevocationListBuilder().issuer_name(ca.subject).last_update(NOW)
           .next_update(NOW + datetime.timedelta(days=30))
           .add_revoked_certificate(x509.RevokedCertificateBuilder().serial_number(99).revocation_date(NOW)
                                    .add_extension(x509.CRLReason(x509.ReasonFlags.key_compromise), critical=False)
                                    .build())
           .add_revoked_certificate(x509.RevokedCertificateBuilder().serial_number(100).revocation_date(NOW).build())
           .add_extension(x509.CRLNumber(7), critical=False).add_extension(aki, critical=False)
           .sign(ca_key, hashes.SHA384()))
    (d / "x509crl/ca.crl").write_bytes(crl.public_bytes(DER))
    (d / "pubkey/jupiter.pem").write_bytes(ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    (d / "swanctl.conf").write_text(SWANCTL_CONF)
    shutil.copy(CONFIGS / "moon" / "strongswan.conf", d / "strongswan.conf")
    return d
