"""Private keys and PKCS#12 containers parsed locally, as swanctl does before load-key.

vici's load-key has no passphrase: swanctl decrypts keys itself, with the
secrets configured in swanctl.conf or by prompting, and sends the plain DER
encoding with the key type (RSA, ECDSA, ED25519, ED448).  Passphrases and
keys never leave this module except as that DER blob; nothing is printed.
"""

from __future__ import annotations

import os
import sys
import termios
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.serialization import pkcs12

from . import ident

_DER = serialization.Encoding.DER
_NONE = serialization.NoEncryption()

# libstrongswan logs "building <cred> - <subtype> failed, tried N builders" when no
# plugin could parse a credential; N is the number of builders swanctl 6.1's plugins
# (Debian's default set) register for that type.
BUILDERS = {"ANY": 5, "RSA": 7, "ECDSA": 4}
PKCS12_BUILDERS = 3
SUBTYPE = {"private": "ANY", "pkcs8": "ANY", "rsa": "RSA", "ecdsa": "ECDSA"}

ALLOWED = {"rsa": ("RSA",), "ecdsa": ("ECDSA",), "private": ("RSA", "ECDSA", "ED25519", "ED448"),
           "pkcs8": ("RSA", "ECDSA", "ED25519", "ED448")}


@dataclass
class PrivateKey:
    type: str  # strongSwan key type name
    der: bytes | None  # PKCS#1 / RFC 5915 / PKCS#8 (EdDSA); None if it cannot be encoded


@dataclass
class Container:
    certs: list[tuple[bytes, str]]  # (DER, subject as "%Y")
    keys: list[PrivateKey]


class Prompt:
    """The password callback: asks on the terminal until an empty answer, remembering answers."""

    def __init__(self, prompt: str) -> None:
        self.prompt = prompt
        self.answers: list[str] = []

    def __iter__(self) -> Iterator[str]:
        yield from list(self.answers)
        while True:
            answer = self.ask()
            if not answer:
                return
            self.answers.append(answer)
            yield answer

    def ask(self) -> str | None:
        """getpass(3): /dev/tty without echo, else stdin; None on EOF or without a terminal."""
        sys.stdout.flush()
        try:
            fd = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
        except OSError:
            return _read_stdin(self.prompt)
        with os.fdopen(fd, "r+b", buffering=0) as tty:
            old = termios.tcgetattr(fd)
            new = list(old)
            new[3] &= ~termios.ECHO
            try:
                tty.write(self.prompt.encode())
                termios.tcsetattr(fd, termios.TCSAFLUSH, new)
                line = b""
                while not line.endswith(b"\n"):
                    c = tty.read(1)
                    if not c:
                        break
                    line += c
            finally:
                termios.tcsetattr(fd, termios.TCSAFLUSH, old)
                tty.write(b"\n")
        if not line:
            return None
        return line.rstrip(b"\n").decode("utf-8", "surrogateescape")


def _read_stdin(prompt: str) -> str | None:
    if sys.stdin is None or sys.stdin.closed:
        return None
    sys.stderr.write(prompt)
    sys.stderr.flush()
    line = sys.stdin.readline()
    if not line:
        return None
    return line.rstrip("\n")


def _key_type(key: object) -> str | None:
    if isinstance(key, rsa.RSAPrivateKey):
        return "RSA"
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return "ECDSA"
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return "ED25519"
    if isinstance(key, ed448.Ed448PrivateKey):
        return "ED448"
    return None


def _wrap(key: object) -> PrivateKey | None:
    ktype = _key_type(key)
    if ktype is None:
        return None
    fmt = serialization.PrivateFormat.PKCS8 if ktype.startswith("ED") else \
        serialization.PrivateFormat.TraditionalOpenSSL
    try:
        der = key.private_bytes(_DER, fmt, _NONE)  # type: ignore[attr-defined]
    except ValueError:
        der = None
    return PrivateKey(ktype, der)


def _load(data: bytes, password: bytes | None) -> object:
    """PEM or DER (BUILD_BLOB_PEM accepts both)."""
    if b"-----BEGIN" in data:
        return serialization.load_pem_private_key(data, password)
    return serialization.load_der_private_key(data, password)


def parse_private_key(data: bytes, kind: str, passwords: Iterable[str],
                      log: Callable[[str], None]) -> PrivateKey | None:
    """A key of the type KIND's directory allows; passwords are tried only if it is encrypted.

    LOG gets libstrongswan's diagnostics (never a passphrase or key material).
    """
    wrapped = None
    try:
        key = _load(data, None)
    except TypeError:  # encrypted
        key = None
        legacy = b"Proc-Type: 4,ENCRYPTED" in data
        for password in passwords:
            try:
                key = _load(data, password.encode("utf-8", "surrogateescape"))
                break
            except (ValueError, TypeError):
                if legacy:
                    log("  invalid passphrase")
                continue
    except Exception:  # any parser failure means "not a key"
        key = None
    if key is not None:
        wrapped = _wrap(key)
        if wrapped is not None and wrapped.type not in ALLOWED.get(kind, ()):
            wrapped = None
    if wrapped is None:
        sub = SUBTYPE.get(kind, "ANY")
        log(f"building CRED_PRIVATE_KEY - {sub} failed, tried {BUILDERS[sub]} builders")
    return wrapped


def _open_pkcs12(data: bytes, passwords: Iterable[str]) -> pkcs12.PKCS12KeyAndCertificates | None:
    for password in passwords:
        try:
            return pkcs12.load_pkcs12(data, password.encode("utf-8", "surrogateescape"))
        except (ValueError, TypeError):
            continue
    return None


def parse_pkcs12(data: bytes, passwords: Iterable[str], log: Callable[[str], None]) -> Container | None:
    """The certificates and keys of a PKCS#12 file (the password is required).

    Two of swanctl's plugins can open PKCS#12 and each asks the credential sets
    for passwords in turn, so a prompt comes twice; only the first complains.
    """
    p12 = _open_pkcs12(data, passwords)
    if p12 is None:
        log("  MAC verification of PKCS#12 container failed")
        p12 = _open_pkcs12(data, passwords)
    if p12 is None:
        log(f"building CRED_CONTAINER - PKCS12 failed, tried {PKCS12_BUILDERS} builders")
        return None
    # strongSwan collects the bags with insert_first(): last bag first.  The
    # key's own certificate is taken to be the first bag, as OpenSSL writes it.
    certs = []
    for item in reversed(([p12.cert] if p12.cert else []) + list(p12.additional_certs)):
        der = item.certificate.public_bytes(_DER)
        certs.append((der, ident.dn(item.certificate.subject.public_bytes())))
    keys = []
    if p12.key is not None:
        wrapped = _wrap(p12.key)
        if wrapped is not None:
            keys.append(wrapped)
    return Container(certs, keys)
