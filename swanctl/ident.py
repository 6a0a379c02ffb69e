"""Identities printed the way strongSwan's "%Y" prints them.

Distinguished names come out as "C=CH, O=org, CN=name" in encoding order,
each value with non-printable bytes replaced by '?', unknown attribute types
as the hex of their OID; addresses through inet_ntop; key ids as colon hex.
"""

from __future__ import annotations

import ipaddress

from . import der

# DN attribute types with the names strongSwan's OID table gives them
DN_NAMES = {
    "0.2.262.1.10.7.20": "ND", "0.9.2342.19200300.100.1.1": "UID", "0.9.2342.19200300.100.1.25": "DC",
    "2.5.4.3": "CN", "2.5.4.4": "SN", "2.5.4.5": "serialNumber", "2.5.4.6": "C", "2.5.4.7": "L",
    "2.5.4.8": "ST", "2.5.4.9": "STREET", "2.5.4.10": "O", "2.5.4.11": "OU", "2.5.4.12": "T",
    "2.5.4.13": "D", "2.5.4.16": "postalAddress", "2.5.4.17": "postalCode", "2.5.4.36": "userCertificate",
    "2.5.4.41": "N", "2.5.4.42": "G", "2.5.4.43": "I", "2.5.4.45": "ID", "2.5.4.46": "dnQualifier",
    "2.5.4.54": "dmdName", "2.5.4.65": "pseudonym", "2.5.4.72": "role", "2.5.4.97": "organizationIdentifier",
    "1.2.840.113549.1.9.1": "E", "1.2.840.113549.1.9.2": "unstructuredName",
    "1.2.840.113549.1.9.8": "unstructuredAddress", "2.16.840.1.113733.1.6.3": "employeeNumber",
    "1.3.6.1.4.1.11129.2.1.1": "TCGID",
}
BUF_LEN = 512


def sanitize(value: bytes) -> str:
    """chunk_printable() with '?' replacing what isprint() rejects."""
    return "".join(chr(b) if 0x20 <= b < 0x7F else "?" for b in value)


def colon_hex(value: bytes) -> str:
    """"%#B": lower-case hex bytes separated by colons."""
    return ":".join(f"{b:02x}" for b in value)


def dn(encoding: bytes) -> str:
    """dntoa(): the DN's RDNs (multi-valued ones flattened) in encoding order."""
    try:
        rdns = der.parse_one(encoding).children()
        parts = []
        for rdn in rdns:
            for atv in rdn.children():
                oid, value = atv.children()[:2]
                dotted = der.oid_str(oid.value)
                name = DN_NAMES.get(dotted or "", None)
                parts.append(f"{name or colon_hex(oid.value)}={sanitize(value.value)}")
    except (der.DerError, ValueError):
        return "(invalid ID_DER_ASN1_DN)"
    return ", ".join(parts)[:BUF_LEN - 1]


def general_name(tlv: der.Tlv) -> tuple[str, str] | None:
    """A GeneralName as (kind, "%Y" text); None for kinds strongSwan does not support."""
    tag = tlv.tag & 0x1F
    if tag == 1:
        return "email", sanitize(tlv.value)
    if tag == 2:
        return "dns", sanitize(tlv.value)
    if tag == 6:
        return "uri", sanitize(tlv.value)
    if tag == 4:
        inner = der.parse_one(tlv.value) if tlv.constructed else tlv
        return "dn", dn(inner.raw)
    if tag == 7:
        return "ip", address(tlv.value)
    if tag == 0:
        kids = tlv.children()
        oid = der.oid_str(kids[0].value) if kids else None
        # xmppAddr and UPN are kept, as rfc822 addresses
        if oid in ("1.3.6.1.5.5.7.8.5", "1.3.6.1.4.1.311.20.2.3") and len(kids) > 1:
            value = der.parse_one(kids[1].value)
            return "email", sanitize(value.value)
        return None
    return None


def address(value: bytes) -> str:
    if len(value) == 4:
        return str(ipaddress.IPv4Address(value))
    if len(value) == 16:
        return _ntop6(value)
    if len(value) == 8:
        net = ipaddress.IPv4Address(value[:4])
        return f"{net}/{_cidr(value[4:])}"
    if len(value) == 32:
        return f"{_ntop6(value[:16])}/{_cidr(value[16:])}"
    return "(unknown ID type: 0)"


def _ntop6(value: bytes) -> str:
    """inet_ntop(AF_INET6): compressed, with dotted IPv4 for mapped/compatible forms."""
    addr = ipaddress.IPv6Address(value)
    if addr.ipv4_mapped is not None:
        return f"::ffff:{addr.ipv4_mapped}"
    return addr.compressed


def _cidr(mask: bytes) -> int:
    """netmask_to_cidr(): leading one bits."""
    bits = 0
    for b in mask:
        if b == 0xFF:
            bits += 8
            continue
        while b & 0x80:
            bits += 1
            b = (b << 1) & 0xFF
        break
    return bits
