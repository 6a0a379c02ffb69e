"""Signature schemes for IKEv2 public-key authentication (RFC 7296 §3.8, RFC 7427).

Classic AUTH methods carry a bare signature (1: RSA PKCS#1 v1.5 SHA-1, 9/10/11: ECDSA over
P-256/384/521 with SHA-256/384/512 as raw ``r | s``). Method 14 (RFC 7427) carries
``len(1) | AlgorithmIdentifier DER | signature``; charon writes the identifiers as
``signature_params_build`` does (NULL parameters except for ECDSA and EdDSA, RSASSA-PSS with
explicit hash/MGF1/salt fields unless SHA-1). Names are charon's ``signature_scheme_names``.

Pure functions over ``cryptography`` key objects; no key material is logged or returned.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from vicid.creds.keys import key_size, key_type
from vicid.identity import asn1_unwrap, der_wrap, oid_encode
from vicid.ike.wire.enums import AuthMethod

try:  # FIPS 204 keys, cryptography >= 47
    from cryptography.hazmat.primitives.asymmetric import mldsa
except ImportError:  # pragma: no cover - older cryptography
    mldsa = None  # type: ignore[assignment]

# RFC 7427 §7 hash algorithm IDs (SIGNATURE_HASH_ALGORITHMS)
HASH_SHA1, HASH_SHA256, HASH_SHA384, HASH_SHA512, HASH_IDENTITY = 1, 2, 3, 4, 5
HASH_NAMES = {HASH_SHA1: "sha1", HASH_SHA256: "sha256", HASH_SHA384: "sha384",
              HASH_SHA512: "sha512", HASH_IDENTITY: "identity"}
_HASHES = {HASH_SHA1: hashes.SHA1, HASH_SHA256: hashes.SHA256, HASH_SHA384: hashes.SHA384,
           HASH_SHA512: hashes.SHA512}
_HASH_OIDS = {HASH_SHA1: "1.3.14.3.2.26", HASH_SHA256: "2.16.840.1.101.3.4.2.1",
              HASH_SHA384: "2.16.840.1.101.3.4.2.2", HASH_SHA512: "2.16.840.1.101.3.4.2.3"}
_HASH_UPPER = {HASH_SHA1: "SHA1", HASH_SHA256: "SHA2_256", HASH_SHA384: "SHA2_384", HASH_SHA512: "SHA2_512"}
_HASH_LEN = {HASH_SHA1: 20, HASH_SHA256: 32, HASH_SHA384: 48, HASH_SHA512: 64}
OID_PSS, OID_MGF1 = "1.2.840.113549.1.1.10", "1.2.840.113549.1.1.8"
ASN1_NULL, ASN1_INTEGER, ASN1_SEQUENCE = 0x05, 0x02, 0x30


class SignatureError(ValueError):
    """An AUTH payload's signature data that cannot be parsed or used."""


@dataclass(frozen=True)
class Scheme:
    """One ``signature_params_t``: the scheme, the key type it needs and its hash."""

    name: str  # charon's signature_scheme_names
    key_type: str  # RSA, ECDSA, ED25519, ED448, ML_DSA_44/65/87
    hash_id: int  # RFC 7427 hash ID (5 = identity)
    oid: str = ""  # AlgorithmIdentifier OID for RFC 7427; "" for classic-only schemes
    salt_len: int = -1  # RSASSA-PSS salt length (-1: not PSS)
    curve_bits: int = 0  # classic ECDSA-256/384/521: the curve the method requires

    @property
    def pss(self) -> bool:
        return self.salt_len >= 0

    def log_name(self) -> str:
        """How charon logs the scheme (PSS with hash and salt, ``%N_%N_SALT_%zd``)."""
        if self.pss:  # hash_algorithm_short_names_upper, as charon 6.1 logs it (tests/vectors)
            return f"RSA_EMSA_PSS_{_HASH_UPPER[self.hash_id]}_SALT_{self.salt_len}"
        return self.name


def pss(hash_id: int, salt_len: int | None = None) -> Scheme:
    """RSASSA-PSS with MGF1 over the same hash; the salt defaults to the hash length."""
    return Scheme("RSA_EMSA_PSS", "RSA", hash_id, OID_PSS,
                  _HASH_LEN[hash_id] if salt_len is None else salt_len)


RSA_SHA1 = Scheme("RSA_EMSA_PKCS1_SHA1", "RSA", HASH_SHA1, "1.2.840.113549.1.1.5")
RSA_SHA256 = Scheme("RSA_EMSA_PKCS1_SHA2_256", "RSA", HASH_SHA256, "1.2.840.113549.1.1.11")
RSA_SHA384 = Scheme("RSA_EMSA_PKCS1_SHA2_384", "RSA", HASH_SHA384, "1.2.840.113549.1.1.12")
RSA_SHA512 = Scheme("RSA_EMSA_PKCS1_SHA2_512", "RSA", HASH_SHA512, "1.2.840.113549.1.1.13")
ECDSA_SHA1_DER = Scheme("ECDSA_WITH_SHA1_DER", "ECDSA", HASH_SHA1, "1.2.840.10045.4.1")
ECDSA_SHA256_DER = Scheme("ECDSA_WITH_SHA256_DER", "ECDSA", HASH_SHA256, "1.2.840.10045.4.3.2")
ECDSA_SHA384_DER = Scheme("ECDSA_WITH_SHA384_DER", "ECDSA", HASH_SHA384, "1.2.840.10045.4.3.3")
ECDSA_SHA512_DER = Scheme("ECDSA_WITH_SHA512_DER", "ECDSA", HASH_SHA512, "1.2.840.10045.4.3.4")
ECDSA_256 = Scheme("ECDSA-256", "ECDSA", HASH_SHA256, curve_bits=256)
ECDSA_384 = Scheme("ECDSA-384", "ECDSA", HASH_SHA384, curve_bits=384)
ECDSA_521 = Scheme("ECDSA-521", "ECDSA", HASH_SHA512, curve_bits=521)
ED25519 = Scheme("ED25519", "ED25519", HASH_IDENTITY, "1.3.101.112")
ED448 = Scheme("ED448", "ED448", HASH_IDENTITY, "1.3.101.113")
ML_DSA_44 = Scheme("ML_DSA_44", "ML_DSA_44", HASH_IDENTITY, "2.16.840.1.101.3.4.3.17")
ML_DSA_65 = Scheme("ML_DSA_65", "ML_DSA_65", HASH_IDENTITY, "2.16.840.1.101.3.4.3.18")
ML_DSA_87 = Scheme("ML_DSA_87", "ML_DSA_87", HASH_IDENTITY, "2.16.840.1.101.3.4.3.19")

_BY_OID = {s.oid: s for s in (RSA_SHA1, RSA_SHA256, RSA_SHA384, RSA_SHA512, ECDSA_SHA1_DER,
                              ECDSA_SHA256_DER, ECDSA_SHA384_DER, ECDSA_SHA512_DER, ED25519,
                              ED448, ML_DSA_44, ML_DSA_65, ML_DSA_87)}

CLASSIC = {AuthMethod.RSA_SIG: RSA_SHA1, AuthMethod.ECDSA_256: ECDSA_256,
           AuthMethod.ECDSA_384: ECDSA_384, AuthMethod.ECDSA_521: ECDSA_521}
"""The scheme an AUTH method other than 14 implies (``pubkey_authenticator.c`` process)."""

AUTH_METHOD_NAMES = {AuthMethod.RSA_SIG: "RSA signature", AuthMethod.PSK: "pre-shared key",
                     AuthMethod.DSS: "DSS signature", AuthMethod.ECDSA_256: "ECDSA-256 signature",
                     AuthMethod.ECDSA_384: "ECDSA-384 signature",
                     AuthMethod.ECDSA_521: "ECDSA-521 signature",
                     AuthMethod.NULL: "NULL authentication",
                     AuthMethod.DIGITAL_SIGNATURE: "digital signature"}


# --- keys ---------------------------------------------------------------------------------------

def schemes_for_key(key: object, rsa_pss: bool = False) -> list[Scheme]:
    """``signature_schemes_for_key``: charon's preference list for a key of that size."""
    ktype, size = key_type(key), key_size(key)
    if ktype == "RSA":
        out = [pss(h) for h, limit in ((HASH_SHA256, 3072), (HASH_SHA384, 7680), (HASH_SHA512, 0))
               if rsa_pss and (not limit or size <= limit)]
        return out + [s for s, limit in ((RSA_SHA256, 3072), (RSA_SHA384, 7680), (RSA_SHA512, 0))
                      if not limit or size <= limit]
    if ktype == "ECDSA":
        return [s for s, limit in ((ECDSA_SHA256_DER, 256), (ECDSA_SHA384_DER, 384),
                                   (ECDSA_SHA512_DER, 0)) if not limit or size <= limit]
    return [s for s in (ED25519, ED448, ML_DSA_44, ML_DSA_65, ML_DSA_87) if s.key_type == ktype]


def select_schemes(key: object, peer_hashes: Iterable[int], constraints: Iterable[Scheme] = (),
                   rsa_pss: bool = False) -> list[Scheme]:
    """``select_signature_schemes``: configured IKE schemes for this key type the peer can
    verify, else the key's defaults the peer supports (plus PKCS#1 SHA-384/256 for RSA)."""
    hashes_ok = set(peer_hashes)
    ktype = key_type(key)
    configured = list(constraints)
    if configured:
        return [s for s in configured if s.key_type == ktype and s.hash_id in hashes_ok]
    selected = [s for s in schemes_for_key(key, rsa_pss) if s.hash_id in hashes_ok]
    if ktype == "RSA":
        selected += [s for s in (RSA_SHA384, RSA_SHA256) if s not in selected and s.hash_id in hashes_ok]
    return selected


def classic_scheme(key: object) -> tuple[int, Scheme] | None:
    """``sign_classic``: the AUTH method and scheme without RFC 7427 (RSA or ECDSA only)."""
    ktype = key_type(key)
    if ktype == "RSA":
        return AuthMethod.RSA_SIG, RSA_SHA1
    if ktype == "ECDSA":
        return {256: (AuthMethod.ECDSA_256, ECDSA_256), 384: (AuthMethod.ECDSA_384, ECDSA_384),
                521: (AuthMethod.ECDSA_521, ECDSA_521)}.get(key_size(key))
    return None


# --- sign / verify ------------------------------------------------------------------------------

def _rsa_padding(scheme: Scheme) -> padding.AsymmetricPadding:
    if scheme.pss:
        return padding.PSS(mgf=padding.MGF1(_HASHES[scheme.hash_id]()), salt_length=scheme.salt_len)
    return padding.PKCS1v15()


def sign(key: object, scheme: Scheme, data: bytes) -> bytes:
    """Sign ``data`` (the AUTH octets) with a private key; raises SignatureError on mismatch."""
    if key_type(key) != scheme.key_type:
        raise SignatureError(f"{scheme.name} needs a {scheme.key_type} key")
    if scheme.key_type == "RSA":
        return key.sign(data, _rsa_padding(scheme), _HASHES[scheme.hash_id]())  # type: ignore[attr-defined]
    if scheme.key_type == "ECDSA":
        if scheme.curve_bits and key_size(key) != scheme.curve_bits:
            raise SignatureError(f"{scheme.name} needs a {scheme.curve_bits} bit curve")
        der = key.sign(data, ec.ECDSA(_HASHES[scheme.hash_id]()))  # type: ignore[attr-defined]
        if not scheme.curve_bits:
            return der
        r, s = decode_dss_signature(der)
        size = (scheme.curve_bits + 7) // 8
        return r.to_bytes(size, "big") + s.to_bytes(size, "big")
    return key.sign(data)  # type: ignore[attr-defined]  # EdDSA, ML-DSA: pure, no pre-hash


def verify(key: object, scheme: Scheme, data: bytes, signature: bytes) -> bool:
    """Verify a signature; False for any mismatch (wrong key type, curve, bad signature)."""
    if key_type(key) != scheme.key_type:
        return False
    try:
        if scheme.key_type == "RSA":
            key.verify(signature, data, _rsa_padding(scheme), _HASHES[scheme.hash_id]())  # type: ignore[attr-defined]
        elif scheme.key_type == "ECDSA":
            if scheme.curve_bits:
                size = (scheme.curve_bits + 7) // 8
                if key_size(key) != scheme.curve_bits or len(signature) != 2 * size:
                    return False
                signature = encode_dss_signature(int.from_bytes(signature[:size], "big"),
                                                 int.from_bytes(signature[size:], "big"))
            key.verify(signature, data, ec.ECDSA(_HASHES[scheme.hash_id]()))  # type: ignore[attr-defined]
        else:
            key.verify(signature, data)  # type: ignore[attr-defined]
    except (InvalidSignature, ValueError):
        return False
    return True


# --- RFC 7427 AUTH data ---------------------------------------------------------------------------

def _alg_id(oid: str, params: bytes | None) -> bytes:
    return der_wrap(ASN1_SEQUENCE, der_wrap(0x06, oid_encode(oid)) + (params or b""))


def _hash_alg_id(hash_id: int) -> bytes:
    return _alg_id(_HASH_OIDS[hash_id], der_wrap(ASN1_NULL, b""))


def algorithm_identifier(scheme: Scheme) -> bytes:
    """``signature_params_build``: the DER AlgorithmIdentifier of a scheme."""
    if not scheme.oid:
        raise SignatureError(f"{scheme.name} has no AlgorithmIdentifier")
    if scheme.pss:
        fields = b""
        if scheme.hash_id != HASH_SHA1:  # defaults (SHA-1, MGF1-SHA-1, 20) are omitted
            fields += der_wrap(0xA0, _hash_alg_id(scheme.hash_id))
            fields += der_wrap(0xA1, _alg_id(OID_MGF1, _hash_alg_id(scheme.hash_id)))
        if scheme.salt_len != 20:
            fields += der_wrap(0xA2, der_wrap(ASN1_INTEGER, _der_uint(scheme.salt_len)))
        return _alg_id(scheme.oid, der_wrap(ASN1_SEQUENCE, fields))
    if scheme.key_type in ("RSA",):
        return _alg_id(scheme.oid, der_wrap(ASN1_NULL, b""))
    return _alg_id(scheme.oid, None)


def _der_uint(value: int) -> bytes:
    raw = value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big")
    return b"\x00" + raw if raw[0] & 0x80 else raw


def build_auth_data(scheme: Scheme, signature: bytes) -> bytes:
    """RFC 7427 §3: ``ASN.1 Length | AlgorithmIdentifier | Signature Value``."""
    alg = algorithm_identifier(scheme)
    if len(alg) > 255:
        raise SignatureError("AlgorithmIdentifier too long")
    return bytes([len(alg)]) + alg + signature


def _oid_text(encoded: bytes) -> str:
    arcs, value = [], 0
    for b in encoded:
        value = (value << 7) | (b & 0x7F)
        if not b & 0x80:
            arcs.append(value)
            value = 0
    if not arcs:
        raise SignatureError("empty OID")
    first = arcs[0]
    head = [min(first // 40, 2), first - 40 * min(first // 40, 2)]
    return ".".join(str(a) for a in head + arcs[1:])


def _child(blob: bytes, pos: int, end: int) -> tuple[int, int, int, int]:
    found = asn1_unwrap(blob, pos, end)
    if found is None:
        raise SignatureError("truncated ASN.1")
    return found


def _parse_alg_id(blob: bytes, pos: int, end: int) -> tuple[str, int, int]:
    """(oid, params start, params end) of an AlgorithmIdentifier SEQUENCE at blob[pos:end]."""
    tag, start, stop, _ = _child(blob, pos, end)
    if tag != ASN1_SEQUENCE:
        raise SignatureError("AlgorithmIdentifier is no SEQUENCE")
    tag, ostart, ostop, nxt = _child(blob, start, stop)
    if tag != 0x06:
        raise SignatureError("AlgorithmIdentifier without OID")
    return _oid_text(blob[ostart:ostop]), nxt, stop


def _hash_from(blob: bytes, pos: int, end: int) -> int:
    oid, _, _ = _parse_alg_id(blob, pos, end)
    for hid, hoid in _HASH_OIDS.items():
        if hoid == oid:
            return hid
    raise SignatureError(f"unsupported hash {oid}")


def _parse_pss(blob: bytes, pos: int, end: int) -> Scheme:
    """RSASSA-PSS-params (RFC 4055): hash [0], maskGen [1], salt [2]; MGF1 must use the hash."""
    hash_id, mgf_hash, salt = HASH_SHA1, HASH_SHA1, 20
    if pos < end:
        tag, start, stop, _ = _child(blob, pos, end)
        if tag != ASN1_SEQUENCE:
            raise SignatureError("invalid RSASSA-PSS parameters")
        cur = start
        while cur < stop:
            tag, fstart, fstop, cur = _child(blob, cur, stop)
            if tag == 0xA0:
                hash_id = _hash_from(blob, fstart, fstop)
            elif tag == 0xA1:
                oid, pstart, pstop = _parse_alg_id(blob, fstart, fstop)
                if oid != OID_MGF1:
                    raise SignatureError("unsupported mask generation function")
                mgf_hash = _hash_from(blob, pstart, pstop)
            elif tag == 0xA2:
                itag, istart, istop, _ = _child(blob, fstart, fstop)
                if itag != ASN1_INTEGER or istop - istart > 4:
                    raise SignatureError("invalid salt length")
                salt = int.from_bytes(blob[istart:istop], "big")
    if mgf_hash != hash_id:
        raise SignatureError("MGF1 hash differs from the signature hash")
    return pss(hash_id, salt)


def parse_auth_data(data: bytes) -> tuple[Scheme, bytes]:
    """``parse_signature_auth_data``: (scheme, signature) of method-14 AUTH data."""
    if not data:
        raise SignatureError("empty AUTH data")
    length = data[0]
    if length + 1 > len(data):
        raise SignatureError("AlgorithmIdentifier exceeds AUTH data")
    alg = data[1:1 + length]
    oid, pstart, pend = _parse_alg_id(alg, 0, len(alg))
    if oid == OID_PSS:
        return _parse_pss(alg, pstart, pend), data[1 + length:]
    scheme = _BY_OID.get(oid)
    if scheme is None:
        raise SignatureError(f"unsupported signature algorithm {oid}")
    return scheme, data[1 + length:]


# --- configured constraints (``auth = rsa/pss-sha256-...``) ------------------------------------

_TOKENS: dict[str, list[Scheme]] = {
    "sha1": [RSA_SHA1, ECDSA_SHA1_DER], "sha256": [RSA_SHA256, ECDSA_SHA256_DER, ECDSA_256],
    "sha384": [RSA_SHA384, ECDSA_SHA384_DER, ECDSA_384],
    "sha512": [RSA_SHA512, ECDSA_SHA512_DER, ECDSA_521], "identity": [ED25519, ED448],
}
_KEY_TOKENS = {"rsa": "RSA", "rsa/pss": "RSA", "ecdsa": "ECDSA", "ed25519": "ED25519",
               "ed448": "ED448", "pubkey": "ANY"}


def parse_constraints(text: str, ike: bool = True) -> tuple[list[Scheme], list[Scheme]]:
    """``add_pubkey_constraints``: (signature schemes, IKE signature schemes) of an ``auth``
    value such as ``rsa-sha256``, ``ike:ecdsa-sha384``, ``rsa/pss-sha256`` (rsa_pss off)."""
    plain: list[Scheme] = []
    ike_only: list[Scheme] = []
    key_token, expected = "", "ANY"
    for token in (t for t in text.split("-") if t):
        bare = token[4:] if token.startswith("ike:") else token
        if bare in _KEY_TOKENS:
            key_token, expected = token, _KEY_TOKENS[bare]
            continue
        if token.isdigit():
            continue  # key strength, not enforced here
        if key_token.startswith("ike:") and not ike:
            continue
        target = ike_only if key_token.startswith("ike:") else plain
        if key_token.endswith("pss"):
            hid = next((h for h, n in HASH_NAMES.items() if n == token and h != HASH_IDENTITY), None)
            if hid is not None:
                target.append(pss(hid))
            continue
        for scheme in _TOKENS.get(token, []):
            if expected in ("ANY", scheme.key_type):
                target.append(scheme)
    if ike and not ike_only:
        ike_only = list(plain)  # signature_authentication_constraints = yes
    return plain, ike_only


__all__ = ["AUTH_METHOD_NAMES", "CLASSIC", "Scheme", "SignatureError", "build_auth_data",
           "classic_scheme", "key_size", "key_type", "parse_auth_data", "parse_constraints",
           "select_schemes", "sign", "verify"]
