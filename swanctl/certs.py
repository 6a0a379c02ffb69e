"""--list-certs: certificates printed as strongSwan's certificate_printer prints them.

swanctl receives DER blobs and formats them itself; so does this module,
for X.509 certificates, CRLs, raw public keys and (summarily) attribute
certificates and OCSP responses.  Times are local time unless --utc.
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from cryptography import x509 as cx509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa

from . import der, ident
from .message import Message

TYPES = ("ANY", "X509", "X509_CRL", "OCSP_REQUEST", "OCSP_RESPONSE", "X509_AC", "PUBKEY", "PKCS10_REQUEST", "PGP")
FLAGS = {"NONE": 0, "CA": 1, "AA": 2, "OCSP": 4, "ANY": 7}
CAPTIONS = {("X509", 0): "X.509 End Entity Certificate", ("X509", 1): "X.509 CA Certificate",
            ("X509", 2): "X.509 AA Certificate", ("X509", 4): "X.509 OCSP Signer Certificate",
            ("X509_AC", None): "X.509 Attribute Certificate", ("X509_CRL", None): "X.509 CRL",
            ("OCSP_REQUEST", None): "OCSP Request", ("OCSP_RESPONSE", None): "OCSP Response",
            ("PUBKEY", None): "Raw Public Key", ("PGP", None): "PGP End Entity Certificate"}
PEM_LABELS = {"X509": "CERTIFICATE", "X509_CRL": "X509 CRL", "X509_AC": "ATTRIBUTE CERTIFICATE",
              "PUBKEY": "PUBLIC KEY", "OCSP_RESPONSE": "OCSP RESPONSE"}
CRL_REASONS = ("unspecified", "key compromise", "ca compromise", "affiliation changed", "superseded",
               "cessation of operation", "certificate hold", "reason #7", "remove from crl")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
NO_CONSTRAINT = 255

# x509_flag_t bits
CA, CRL_SIGN, SELF_SIGNED, SERVER_AUTH, CLIENT_AUTH = 1 << 0, 1 << 7, 1 << 5, 1 << 3, 1 << 4
OCSP_SIGNER, IKE_INTERMEDIATE, MS_SMARTCARD, IP_ADDR_BLOCKS, IKE_COMPLIANT = 1 << 2, 1 << 8, 1 << 9, 1 << 6, 1 << 10
EKU_FLAGS = {"1.3.6.1.5.5.7.3.1": SERVER_AUTH, "1.3.6.1.5.5.7.3.2": CLIENT_AUTH, "1.3.6.1.5.5.8.2.2": IKE_INTERMEDIATE,
             "1.3.6.1.5.5.7.3.9": OCSP_SIGNER, "1.3.6.1.4.1.311.20.2.2": MS_SMARTCARD}


def now() -> int:
    """The current time (a function, so tests can pin it)."""
    return int(time.time())


def skip_zero(value: bytes) -> bytes:
    """chunk_skip_zero(): leading zero bytes dropped, one byte kept."""
    while len(value) > 1 and value[0] == 0:
        value = value[1:]
    return value


def ftime(t: int | None, utc: bool) -> str:
    """"%T"."""
    if t is None:
        return f"--- -- --:--:--{' UTC ' if utc else ' '}----"
    tm = time.gmtime(t) if utc else time.localtime(t)
    return (f"{MONTHS[tm.tm_mon - 1]} {tm.tm_mday:02d} {tm.tm_hour:02d}:{tm.tm_min:02d}:{tm.tm_sec:02d}"
            f"{' UTC ' if utc else ' '}{tm.tm_year:04d}")


def fdelta(a: int, b: int) -> str:
    """"%V"."""
    delta, unit = abs(a - b), "second"
    if delta > 2 * 86400:
        delta, unit = delta // 86400, "day"
    elif delta > 2 * 3600:
        delta, unit = delta // 3600, "hour"
    elif delta > 120:
        delta, unit = delta // 60, "minute"
    return f"{delta} {unit}{'' if delta == 1 else 's'}"


# -- public keys ------------------------------------------------------------------

@dataclass
class PublicKey:
    type: str
    bits: int
    spki: bytes

    def fingerprints(self) -> tuple[bytes, bytes]:
        """(KEYID_PUBKEY_INFO_SHA1, KEYID_PUBKEY_SHA1)."""
        bits = der.parse_one(self.spki).children()[1].value[1:]
        return hashlib.sha1(self.spki).digest(), hashlib.sha1(bits).digest()


def public_key(spki: bytes) -> PublicKey | None:
    try:
        key = serialization.load_der_public_key(spki)
    except (ValueError, TypeError, Exception):
        return None
    if isinstance(key, rsa.RSAPublicKey):
        return PublicKey("RSA", key.key_size, spki)
    if isinstance(key, ec.EllipticCurvePublicKey):
        return PublicKey("ECDSA", key.curve.key_size, spki)
    if isinstance(key, ed25519.Ed25519PublicKey):
        return PublicKey("ED25519", 256, spki)
    if isinstance(key, ed448.Ed448PublicKey):
        return PublicKey("ED448", 456, spki)
    if isinstance(key, dsa.DSAPublicKey):
        return None  # strongSwan has no DSA support
    return None


# -- X.509 ----------------------------------------------------------------------------

@dataclass
class X509:
    encoding: bytes
    serial: bytes
    subject: str
    issuer: str
    not_before: int | None
    not_after: int | None
    key: PublicKey | None
    flags: int = 0
    alt_names: list[str] = field(default_factory=list)
    crl_uris: list[tuple[str, str | None]] = field(default_factory=list)
    ocsp_uris: list[str] = field(default_factory=list)
    pathlen: int = NO_CONSTRAINT
    permitted: list[str] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)
    policies: list[tuple[str, str | None, str | None]] = field(default_factory=list)
    mappings: list[tuple[str, str]] = field(default_factory=list)
    explicit: int = NO_CONSTRAINT
    inhibit_mapping: int = NO_CONSTRAINT
    inhibit_any: int = NO_CONSTRAINT
    addr_blocks: list[str] = field(default_factory=list)
    auth_key_id: bytes | None = None
    subject_key_id: bytes | None = None


def _constraint(value: bytes) -> int:
    """parse_constraint(): a small non-negative INTEGER, else "no constraint"."""
    if len(value) == 1 and value[0] < 0x80:
        return value[0]
    if len(value) == 2 and value[0] == 0 and value[1] >= 0x80 and value[1] < NO_CONSTRAINT:
        return value[1]
    return NO_CONSTRAINT


def parse_x509(data: bytes) -> X509 | None:
    try:
        cert = der.parse_one(data)
        tbs_tlv, _alg, _sig = cert.children()
        tbs = tbs_tlv.children()
        i = 1 if tbs[0].tag == 0xA0 else 0
        serial, _sigalg, issuer, validity, subject, spki = tbs[i:i + 6]
        nb, na = validity.children()
        x = X509(data, serial.value, ident.dn(subject.raw), ident.dn(issuer.raw), der.parse_time(nb),
                 der.parse_time(na), public_key(spki.raw))
        if x.key is None:
            return None
        ext_list = next((t for t in tbs[i + 6:] if t.tag == 0xA3), None)
        key_usage_seen = False
        for ext in (der.parse_one(ext_list.value).children() if ext_list else []):
            parts = ext.children()
            oid = der.oid_str(parts[0].value)
            critical = len(parts) == 3 and parts[1].tag == der.BOOLEAN and parts[1].value not in (b"", b"\0")
            value = der.parse_one(parts[-1].value)
            if oid == "2.5.29.15":
                key_usage_seen = True
                _key_usage(x, value)
            elif not _extension(x, oid, value) and critical:
                return None  # unsupported critical extension: the parser refuses the certificate
        if not key_usage_seen:
            x.flags |= IKE_COMPLIANT
            if x.flags & CA:
                x.flags |= CRL_SIGN
        if _self_signed(x, data, subject.raw, issuer.raw):
            x.flags |= SELF_SIGNED
        return x
    except (der.DerError, ValueError, IndexError):
        return None


def _key_usage(x: X509, value: der.Tlv) -> None:
    if value.tag != der.BIT_STRING or not value.value:
        return
    unused, bits = value.value[0], value.value[1:]
    for byte, b in enumerate(bits):
        for bit in range(8):
            if byte == len(bits) - 1 and bit > 7 - unused:
                break
            if b & (1 << (7 - bit)):
                n = byte * 8 + bit
                if n == 6:
                    x.flags |= CRL_SIGN
                elif n in (0, 1):
                    x.flags |= IKE_COMPLIANT


def _names(value: der.Tlv) -> list[str]:
    out = []
    for gn in value.children():
        name = ident.general_name(gn)
        if name is None:
            raise ValueError("unsupported general name")
        out.append(name[1])
    return out


def _extension(x: X509, oid: str | None, value: der.Tlv) -> bool:
    """Fill X from one extension; False if strongSwan does not know it."""
    if oid == "2.5.29.14":
        x.subject_key_id = value.value
    elif oid == "2.5.29.17":
        x.alt_names += _names(value)
    elif oid == "2.5.29.19":
        kids = value.children()
        is_ca = bool(kids) and kids[0].tag == der.BOOLEAN and kids[0].value not in (b"", b"\0")
        if is_ca:
            x.flags |= CA
            ints = [k for k in kids if k.tag == der.INTEGER]
            if ints:
                x.pathlen = _constraint(ints[0].value)
    elif oid == "2.5.29.31":
        for dp in value.children():
            uris: list[str] = []
            issuers: list[str] = []
            for part in dp.children():
                if part.tag == 0xA0:  # distributionPoint
                    for name in part.children():
                        if name.tag == 0xA0:  # fullName
                            uris += _names(der.Tlv(0x30, name.value, name.raw))
                elif part.tag == 0xA2:  # cRLIssuer
                    issuers += _names(der.Tlv(0x30, part.value, part.raw))
            for uri in reversed(uris):
                if issuers:
                    x.crl_uris += [(uri, iss) for iss in issuers]
                else:
                    x.crl_uris.append((uri, None))
    elif oid == "2.5.29.35":
        kid = next((k for k in value.children() if k.tag == 0x80), None)
        x.auth_key_id = kid.value if kid else None
    elif oid == "1.3.6.1.5.5.7.1.1":
        for access in value.children():
            method, location = access.children()[:2]
            name = ident.general_name(location)
            if der.oid_str(method.value) == "1.3.6.1.5.5.7.48.1" and name and name[1]:
                x.ocsp_uris.append(name[1])
    elif oid == "2.5.29.37":
        for purpose in value.children():
            x.flags |= EKU_FLAGS.get(der.oid_str(purpose.value) or "", 0)
    elif oid == "1.3.6.1.5.5.7.1.7":
        x.flags |= IP_ADDR_BLOCKS
        x.addr_blocks = _addr_blocks(value)
    elif oid == "2.5.29.30":
        for part in value.children():
            target = x.permitted if part.tag == 0xA0 else x.excluded
            for subtree in part.children():
                name = ident.general_name(subtree.children()[0])
                if name:
                    target.append(name[1])
    elif oid == "2.5.29.32":
        for info in value.children():
            kids = info.children()
            policy_oid = der.oid_str(kids[0].value) or ident.colon_hex(kids[0].value)
            cps = notice = None
            for qual in kids[1].children() if len(kids) > 1 else []:
                qid, qval = qual.children()[:2]
                qoid = der.oid_str(qid.value)
                if qoid == "1.3.6.1.5.5.7.2.1" and cps is None:
                    cps = ident.sanitize(qval.value)
                elif qoid == "1.3.6.1.5.5.7.2.2" and notice is None:
                    text = next((t for t in qval.children() if t.tag in (0x0C, 0x16, 0x1A, 0x1E)), None)
                    notice = ident.sanitize(text.value) if text else None
            x.policies.append((policy_oid, cps, notice))
    elif oid == "2.5.29.33":
        for mapping in value.children():
            a, b = mapping.children()[:2]
            x.mappings.append((der.oid_str(a.value) or "", der.oid_str(b.value) or ""))
    elif oid == "2.5.29.36":
        for part in value.children():
            if part.tag == 0x80:
                x.explicit = _constraint(part.value)
            elif part.tag == 0x81:
                x.inhibit_mapping = _constraint(part.value)
    elif oid == "2.5.29.54":
        x.inhibit_any = _constraint(value.value)
    elif oid in ("2.16.840.1.113730.1.3", "2.16.840.1.113730.1.4", "2.16.840.1.113730.1.8",
                 "2.16.840.1.113730.1.13"):
        pass  # Netscape extensions: accepted, not shown
    else:
        return False
    return True


def _addr_blocks(value: der.Tlv) -> list[str]:
    """RFC 3779 blocks as traffic selectors: prefixes as a/len, ranges as a..b."""
    import ipaddress

    out = []
    for family in value.children():
        afi_tlv, choice = family.children()[:2]
        v6 = afi_tlv.value[:2] == b"\0\x02"
        size = 16 if v6 else 4
        if choice.tag != der.SEQUENCE:
            continue
        for item in choice.children():
            if item.tag == der.BIT_STRING:
                lo = _bits_addr(item.value, size, False)
                prefix = (len(item.value) - 1) * 8 - item.value[0]
                addr = ipaddress.ip_address(lo)
                out.append(f"{addr}/{prefix}")
            else:
                a, b = item.children()[:2]
                lo, hi = ipaddress.ip_address(_bits_addr(a.value, size, False)), \
                    ipaddress.ip_address(_bits_addr(b.value, size, True))
                out.append(f"{lo}..{hi}")
    return out


def _bits_addr(bits: bytes, size: int, fill: bool) -> bytes:
    unused, data = bits[0], bytearray(bits[1:])
    if fill and data:
        data[-1] |= (1 << unused) - 1
    data += bytes([0xFF if fill else 0]) * (size - len(data))
    return bytes(data[:size])


def _self_signed(x: X509, data: bytes, subject: bytes, issuer: bytes) -> bool:
    """issued_by(self): key ids (or names) match and the signature verifies with the own key."""
    own_keyid = x.subject_key_id if x.subject_key_id is not None else (
        x.key.fingerprints()[1] if x.key else b"")
    if x.auth_key_id is not None and own_keyid:
        if own_keyid != x.auth_key_id:
            return False
    elif subject != issuer and ident.dn(subject) != ident.dn(issuer):
        return False
    try:
        cert = cx509.load_der_x509_certificate(data)
        cert.verify_directly_issued_by(cert)
    except (ValueError, TypeError, InvalidSignature, Exception):
        return False
    return True


# -- CRLs ----------------------------------------------------------------------------

@dataclass
class Crl:
    encoding: bytes
    issuer: str
    this_update: int | None
    next_update: int | None
    serial: bytes = b""
    base_crl: bytes | None = None
    auth_key_id: bytes = b""
    freshest: list[tuple[str, str | None]] = field(default_factory=list)
    revoked: list[tuple[bytes, int | None, int]] = field(default_factory=list)


def parse_crl(data: bytes) -> Crl | None:
    try:
        tbs = der.parse_one(data).children()[0].children()
        i = 1 if tbs[0].tag == der.INTEGER else 0
        issuer, this_update = tbs[i + 1], tbs[i + 2]
        rest = tbs[i + 3:]
        next_update = rest.pop(0) if rest and rest[0].tag in (der.UTCTIME, der.GENERALIZEDTIME) else None
        crl = Crl(data, ident.dn(issuer.raw), der.parse_time(this_update),
                  der.parse_time(next_update) if next_update else None)
        for part in rest:
            if part.tag == der.SEQUENCE:
                for entry in part.children():
                    kids = entry.children()
                    reason = 0
                    for ext in (kids[2].children() if len(kids) > 2 else []):
                        e = ext.children()
                        if der.oid_str(e[0].value) == "2.5.29.21":
                            reason = der.parse_one(e[-1].value).value[0]
                    crl.revoked.append((kids[0].value, der.parse_time(kids[1]), reason))
            elif part.tag == 0xA0:
                for ext in der.parse_one(part.value).children():
                    e = ext.children()
                    oid, value = der.oid_str(e[0].value), der.parse_one(e[-1].value)
                    if oid == "2.5.29.20":
                        crl.serial = value.value
                    elif oid == "2.5.29.27":
                        crl.base_crl = value.value
                    elif oid == "2.5.29.35":
                        kid = next((k for k in value.children() if k.tag == 0x80), None)
                        crl.auth_key_id = kid.value if kid else b""
                    elif oid == "2.5.29.46":
                        tmp = X509(b"", b"", "", "", None, None, None)
                        _extension(tmp, "2.5.29.31", value)
                        crl.freshest = tmp.crl_uris
        return crl
    except (der.DerError, ValueError, IndexError):
        return None


# -- printing ----------------------------------------------------------------------------

class Printer:
    """certificate_printer_t: remembers the last caption across events."""

    def __init__(self, detailed: bool, utc: bool) -> None:
        self.detailed = detailed
        self.utc = utc
        self.type: str | None = "ANY"
        self.flag: int | None = FLAGS["ANY"]

    def event(self, ev: Message, pem: bool, err: Callable[[str], None]) -> str:
        """A list-cert event as text; diagnostics go to ERR as swanctl writes them."""
        data = ev.find("data")
        if data is None:
            err("received incomplete certificate data\n")
            return ""
        has_privkey = ev.find_str("has_privkey", "no") == "yes"
        ctype = ev.find_str("type", "ANY") or "ANY"
        name = next((t for t in TYPES if t.lower() == ctype.lower()), None)
        if name is None or name == "ANY":
            err(f"unsupported certificate type '{ctype}'\n")
            return ""
        flag = 0
        if name == "X509":
            fstr = ev.find_str("flag", "ANY") or "ANY"
            fname = next((f for f in FLAGS if f.lower() == fstr.lower()), None)
            if fname is None or fname == "ANY":
                err(f"unsupported certificate flag '{fstr}'\n")
                return ""
            flag = FLAGS[fname]
        parsed = _parse(name, data, ev)
        if parsed is None:
            err("parsing certificate failed\n")
            return ""
        if pem:
            if name == "PUBKEY":  # a trusted public key has no PEM form of its own
                err("PEM encoding certificate failed\n")
                return ""
            body = base64.encodebytes(_der_of(parsed)).decode().replace("\n", "")
            lines = [body[i:i + 64] for i in range(0, len(body), 64)]
            label = PEM_LABELS.get(name, "CERTIFICATE")
            return f"-----BEGIN {label}-----\n" + "\n".join(lines) + f"\n-----END {label}-----\n"
        return self.caption(name, flag) + self.print(name, parsed, has_privkey)

    def caption(self, ctype: str, flag: int) -> str:
        out = ""
        if ctype != self.type or (ctype == "X509" and flag != self.flag):
            caption = CAPTIONS.get((ctype, flag if ctype == "X509" else None))
            if caption is None:
                return "\n"
            out = f"\nList of {caption}s\n"
            self.type = ctype
            if ctype == "X509":
                self.flag = flag
        return out + "\n"

    def print(self, ctype: str, c: object, has_privkey: bool) -> str:
        out: list[str] = []
        current = now()
        subject = getattr(c, "subject", None)
        if ctype not in ("X509_CRL", "OCSP_RESPONSE", "PUBKEY") or (ctype == "PUBKEY" and subject is not None):
            out.append(f'  subject:  "{subject}"\n')
        if ctype not in ("PUBKEY", "PGP", "OCSP_REQUEST"):
            out.append(f'  issuer:   "{getattr(c, "issuer", "")}"\n')
        nb, na = _validity(c)
        if nb is not None and na is not None:
            if ctype in ("X509_CRL", "OCSP_RESPONSE"):
                t0, t1, t2 = "update:  ", "this on", "next on"
            else:
                t0, t1, t2 = "validity:", "not before", "not after "
            state = f"not valid yet (valid in {fdelta(current, nb)})" if current < nb else "ok"
            out.append(f"  {t0}  {t1} {ftime(nb, self.utc)}, {state}\n")
            state = (f"expired ({fdelta(current, na)} ago)" if current > na
                     else f"ok (expires in {fdelta(current, na)})")
            out.append(f"             {t2} {ftime(na, self.utc)}, {state}\n")
        if isinstance(c, X509):
            out.append(self._x509(c))
        elif isinstance(c, Crl):
            out.append(self._crl(c))
        key = getattr(c, "key", None)
        if key is not None:
            keyid, subjkey = key.fingerprints()
            out.append(f"  pubkey:    {key.type} {key.bits} bits{', has private key' if has_privkey else ''}\n")
            out.append(f"  keyid:     {ident.colon_hex(keyid)}\n")
            out.append(f"  subjkey:   {ident.colon_hex(subjkey)}\n")
        return "".join(out)

    def _x509(self, x: X509) -> str:
        out = [f"  serial:    {ident.colon_hex(skip_zero(x.serial))}\n"]
        if x.alt_names:
            out.append(f"  altNames:  {', '.join(x.alt_names)}\n")
        if self.detailed:
            if x.flags:
                names = [("CA ", CA), ("CRLSign ", CRL_SIGN), ("ocspSigning ", OCSP_SIGNER),
                         ("serverAuth ", SERVER_AUTH), ("clientAuth ", CLIENT_AUTH),
                         ("ikeIntermediate ", IKE_INTERMEDIATE), ("msSmartcardLogon", MS_SMARTCARD),
                         ("self-signed ", SELF_SIGNED)]
                out.append("  flags:     " + "".join(n for n, bit in names if x.flags & bit) + "\n")
            for i, (uri, issuer) in enumerate(x.crl_uris):
                line = f"  CRL URIs:  {uri}" if i == 0 else f"             {uri}"
                out.append(line + (f" (CRL issuer: {issuer})" if issuer else "") + "\n")
            for i, uri in enumerate(x.ocsp_uris):
                out.append(f"  OCSP URIs: {uri}\n" if i == 0 else f"             {uri}\n")
            if x.pathlen != NO_CONSTRAINT:
                out.append(f"  pathlen:   {x.pathlen}\n")
            if x.permitted:
                out.append("  permitted nameConstraints:\n" + "".join(f"           {n}\n" for n in x.permitted))
            if x.excluded:
                out.append("  excluded nameConstraints:\n" + "".join(f"           {n}\n" for n in x.excluded))
            if x.policies:
                out.append("  certificatePolicies:\n")
                for oid, cps, notice in x.policies:
                    out.append(f"             {oid}\n")
                    if cps:
                        out.append(f"             CPS: {cps}\n")
                    if notice:
                        out.append(f"             Notice: {notice}\n")
            if x.mappings:
                out.append("  policyMappings:\n" + "".join(f"           {a} => {b}\n" for a, b in x.mappings))
            if NO_CONSTRAINT != x.explicit or NO_CONSTRAINT != x.inhibit_mapping or NO_CONSTRAINT != x.inhibit_any:
                out.append("  policyConstraints:\n")
                if x.explicit != NO_CONSTRAINT:
                    out.append(f"           requireExplicitPolicy: {x.explicit}\n")
                if x.inhibit_mapping != NO_CONSTRAINT:
                    out.append(f"           inhibitPolicyMapping: {x.inhibit_mapping}\n")
                if x.inhibit_any != NO_CONSTRAINT:
                    out.append(f"           inhibitAnyPolicy: {x.inhibit_any}\n")
            if x.flags & IP_ADDR_BLOCKS:
                out.append(f"  addresses: {', '.join(x.addr_blocks)}\n")
        if x.auth_key_id is not None:
            out.append(f"  authkeyId: {ident.colon_hex(x.auth_key_id)}\n")
        ski = x.subject_key_id if x.subject_key_id is not None else (x.key.fingerprints()[1] if x.key else None)
        if ski is not None:
            out.append(f"  subjkeyId: {ident.colon_hex(ski)}\n")
        return "".join(out)

    def _crl(self, c: Crl) -> str:
        out = [f"  serial:    {ident.colon_hex(skip_zero(c.serial))}\n"]
        if c.base_crl:
            out.append(f"  delta CRL: for serial {ident.colon_hex(skip_zero(c.base_crl))}\n")
        out.append(f"  authKeyId: {ident.colon_hex(c.auth_key_id)}\n")
        for i, (uri, issuer) in enumerate(c.freshest):
            line = f"  freshest:  {uri}" if i == 0 else f"             {uri}"
            out.append(line + (f" (CRL issuer: {issuer})" if issuer else "") + "\n")
        n = len(c.revoked)
        out.append(f"  {n} revoked certificate{'' if n == 1 else 's'}{':' if n and self.detailed else ''}\n")
        if self.detailed:
            for serial, when, reason in c.revoked:
                name = CRL_REASONS[reason] if reason < len(CRL_REASONS) else f"({reason})"
                out.append(f"    {ident.colon_hex(serial)}: {ftime(when, self.utc)}, {name}\n")
        return "".join(out)


@dataclass
class RawKey:
    key: PublicKey
    subject: str | None
    not_before: int | None
    not_after: int | None


@dataclass
class Opaque:
    """An attribute certificate or OCSP response: issuer and validity only."""

    encoding: bytes
    issuer: str
    not_before: int | None
    not_after: int | None
    subject: str | None = None


def _parse(ctype: str, data: bytes, ev: Message) -> object | None:
    if ctype == "X509":
        return parse_x509(data)
    if ctype == "X509_CRL":
        return parse_crl(data)
    if ctype == "PUBKEY":
        key = public_key(data)
        if key is None:
            return None
        subject = ev.find_str("subject")
        nb, na = ev.find_str("not-before"), ev.find_str("not-after")
        return RawKey(key, subject, _gentime(nb), _gentime(na))
    if ctype == "X509_AC":
        return _parse_ac(data)
    if ctype == "OCSP_RESPONSE":
        return _parse_ocsp(data)
    return None


def _gentime(s: str | None) -> int | None:
    if s is None:
        return None
    try:
        return der.time_from(int(s[:4]), s[4:])
    except (ValueError, IndexError):
        return None


def _parse_ac(data: bytes) -> Opaque | None:
    try:
        info = der.parse_one(data).children()[0].children()
        i = 1 if info[0].tag == der.INTEGER else 0
        holder, issuer = info[i], info[i + 1]
        issuer_name = issuer.children()[0] if issuer.children() else issuer
        names = _names(der.Tlv(0x30, issuer_name.value, issuer_name.raw)) if issuer_name.tag in (0x30, 0xA0) else []
        validity = next(t for t in info if t.tag == der.SEQUENCE and
                        all(k.tag == der.GENERALIZEDTIME for k in t.children()) and len(t.children()) == 2)
        nb, na = validity.children()
        return Opaque(data, names[0] if names else "", der.parse_time(nb), der.parse_time(na),
                      subject=_ac_holder(holder))
    except (der.DerError, ValueError, IndexError, StopIteration):
        return None


def _ac_holder(holder: der.Tlv) -> str:
    for part in holder.children():
        if part.tag == 0xA1:  # entityName
            names = _names(der.Tlv(0x30, part.value, part.raw))
            if names:
                return names[0]
    return ""


def _parse_ocsp(data: bytes) -> Opaque | None:
    try:
        from cryptography.x509 import ocsp

        resp = ocsp.load_der_ocsp_response(data)
        issuer = ident.dn(resp.responder_name.public_bytes()) if resp.responder_name else \
            ident.colon_hex(resp.responder_key_hash or b"")
        produced = int(resp.produced_at_utc.timestamp())
        return Opaque(data, issuer, produced, produced)
    except Exception:
        return None


def _validity(c: object) -> tuple[int | None, int | None]:
    if isinstance(c, X509 | Opaque | RawKey):
        return c.not_before, c.not_after
    if isinstance(c, Crl):
        return c.this_update, c.next_update
    return None, None


def _der_of(c: object) -> bytes:
    if isinstance(c, RawKey):
        return c.key.spki
    return getattr(c, "encoding", b"")
