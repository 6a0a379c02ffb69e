"""Traffic selectors as charon's ``traffic_selector_t``: vici parsing, ``%R`` rendering, narrowing.

Mirrors vici's ``parse_ts`` (``vici_config.c``), ``traffic_selector.c`` (``get_subset``,
``is_contained_in``, ``calc_netbits``, the ``%R`` printf hook) and the list helpers of
``traffic_selector_list.c`` (``resolve_dynamic_ts``, ``remove_duplicate_ts``, ``select``).
Protocol and service names come from an injected :class:`NetDbLookup` (``vicid.netdb`` reads
/etc/protocols and /etc/services); :data:`BUILTIN_NETDB` holds the common names. Pure.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from enum import IntEnum
from typing import Protocol

from vicid.identity import c_int, inet_ntop, inet_pton

_INVERT = bytes(0xFF - b for b in range(256))  # byte b -> 0xFF - b, for the "larger range first" key

BUF_LEN = 512  # vici copies the value into a BUF_LEN buffer
IPPROTO_ICMP, IPPROTO_ICMPV6 = 1, 58
NON_SUBNET = 255  # charon's netbits value for a range that is not a subnet


class TsType(IntEnum):
    TS_IPV4_ADDR_RANGE = 7
    TS_IPV6_ADDR_RANGE = 8


class TsError(ValueError):
    pass


class NetDbLookup(Protocol):
    """What ``parse_ts``/``%R`` need from netdb (getprotobyname & co.)."""

    def proto_by_name(self, name: str) -> int | None: ...
    def proto_name(self, number: int) -> str | None: ...
    def port_by_name(self, name: str, proto: str | None = None) -> int | None: ...
    def service_name(self, port: int, proto: str | None = None) -> str | None: ...


@dataclass(frozen=True)
class StaticNetDb:
    """A netdb from in-memory tables; first match wins, as in the files."""

    protocols: tuple[tuple[str, int, tuple[str, ...]], ...]
    services: tuple[tuple[str, int, str, tuple[str, ...]], ...]

    def proto_by_name(self, name: str) -> int | None:
        return next((n for p, n, al in self.protocols if name == p or name in al), None)

    def proto_name(self, number: int) -> str | None:
        return next((p for p, n, _ in self.protocols if n == number), None)

    def port_by_name(self, name: str, proto: str | None = None) -> int | None:
        return next((port for s, port, pr, al in self.services
                     if (name == s or name in al) and proto in (None, pr)), None)

    def service_name(self, port: int, proto: str | None = None) -> str | None:
        return next((s for s, p, pr, _ in self.services if p == port and proto in (None, pr)), None)


def _svc(name: str, port: int, *protos: str) -> list[tuple[str, int, str, tuple[str, ...]]]:
    return [(name, port, p, ()) for p in protos]


# Common entries of Debian's netbase files, for use without /etc access (tests, defaults).
BUILTIN_NETDB = StaticNetDb(
    protocols=(
        ("ip", 0, ("IP",)), ("icmp", 1, ("ICMP",)), ("igmp", 2, ("IGMP",)), ("tcp", 6, ("TCP",)),
        ("egp", 8, ("EGP",)), ("udp", 17, ("UDP",)), ("ipv6", 41, ("IPv6",)),
        ("ipv6-route", 43, ("IPv6-Route",)), ("ipv6-frag", 44, ("IPv6-Frag",)), ("gre", 47, ("GRE",)),
        ("esp", 50, ("IPSEC-ESP",)), ("ah", 51, ("IPSEC-AH",)), ("ipv6-icmp", 58, ("IPv6-ICMP",)),
        ("ipv6-nonxt", 59, ("IPv6-NoNxt",)), ("ipv6-opts", 60, ("IPv6-Opts",)),
        ("ospf", 89, ("OSPFIGP",)), ("pim", 103, ("PIM",)), ("vrrp", 112, ("VRRP",)),
        ("l2tp", 115, ("L2TP",)), ("sctp", 132, ("SCTP",)), ("udplite", 136, ("UDPLite",)),
    ),
    services=tuple(
        _svc("tcpmux", 1, "tcp") + _svc("echo", 7, "tcp", "udp") + _svc("ftp-data", 20, "tcp")
        + _svc("ftp", 21, "tcp") + _svc("ssh", 22, "tcp") + _svc("telnet", 23, "tcp")
        + _svc("smtp", 25, "tcp") + _svc("domain", 53, "tcp", "udp") + _svc("bootps", 67, "udp")
        + _svc("bootpc", 68, "udp") + _svc("tftp", 69, "udp") + _svc("http", 80, "tcp")
        + _svc("pop3", 110, "tcp") + _svc("ntp", 123, "udp") + _svc("imap2", 143, "tcp")
        + _svc("snmp", 161, "tcp", "udp") + _svc("bgp", 179, "tcp") + _svc("ldap", 389, "tcp")
        + _svc("https", 443, "tcp", "udp") + _svc("isakmp", 500, "udp") + _svc("syslog", 514, "udp")
        + _svc("ipsec-nat-t", 4500, "udp")
    ),
)


def icmp_type(port: int) -> int:
    return port >> 8


def icmp_code(port: int) -> int:
    return port & 0xFF


def _calc_netbits(lo: bytes, hi: bytes) -> int:
    """charon's ``calc_netbits``: prefix length, or NON_SUBNET if [lo, hi] is no subnet."""
    size = len(lo) * 8
    a, b = int.from_bytes(lo, "big"), int.from_bytes(hi, "big")
    diff = a ^ b
    if not diff:
        return size
    prefix = size - diff.bit_length()
    host = (1 << (size - prefix)) - 1
    # after the first differing bit, "from" must be all zeros and "to" all ones
    if a & host or (b & host) != host:
        return NON_SUBNET
    return prefix


def _range_of(addr: bytes, netbits: int) -> tuple[bytes, bytes]:
    size = len(addr) * 8
    host = (1 << (size - netbits)) - 1
    a = int.from_bytes(addr, "big")
    return (a & ~host).to_bytes(len(addr), "big"), (a | host).to_bytes(len(addr), "big")


@dataclass(frozen=True)
class TrafficSelector:
    """Address range + protocol + port range (ICMP: type<<8|code), or ``dynamic``."""

    ts_type: TsType
    from_addr: bytes
    to_addr: bytes
    protocol: int = 0
    from_port: int = 0
    to_port: int = 0xFFFF
    dynamic: bool = False

    def __post_init__(self) -> None:
        size = 4 if self.ts_type == TsType.TS_IPV4_ADDR_RANGE else 16
        if len(self.from_addr) != size or len(self.to_addr) != size:
            raise TsError("address length doesn't match the TS type")

    # --- constructors --------------------------------------------------------------------------
    @classmethod
    def create(cls, ts_type: TsType, from_addr: bytes, to_addr: bytes, protocol: int = 0,
               from_port: int = 0, to_port: int = 0xFFFF, dynamic: bool = False) -> TrafficSelector:
        """``traffic_selector_create``: ICMP ports below 256 are a type, moved to the high byte."""
        if protocol in (IPPROTO_ICMP, IPPROTO_ICMPV6):
            from_port = from_port << 8 if from_port < 256 else from_port
            to_port = to_port << 8 if to_port < 256 else to_port
        return cls(ts_type, from_addr, to_addr, protocol, from_port, to_port, dynamic)

    @classmethod
    def create_dynamic(cls, protocol: int = 0, from_port: int = 0, to_port: int = 0xFFFF) -> TrafficSelector:
        return cls.create(TsType.TS_IPV4_ADDR_RANGE, bytes(4), b"\xff" * 4, protocol,
                          from_port, to_port, dynamic=True)

    @classmethod
    def from_subnet(cls, addr: bytes, netbits: int, protocol: int = 0, from_port: int = 0,
                    to_port: int = 0xFFFF) -> TrafficSelector:
        lo, hi = _range_of(addr, min(netbits, len(addr) * 8))
        return cls.create(_ts_type(addr), lo, hi, protocol, from_port, to_port)

    @classmethod
    def from_range(cls, lo: bytes, hi: bytes, protocol: int = 0, from_port: int = 0,
                   to_port: int = 0xFFFF) -> TrafficSelector:
        return cls.create(_ts_type(lo), lo, hi, protocol, from_port, to_port)

    # --- properties ----------------------------------------------------------------------------
    @property
    def netbits(self) -> int:
        if self.dynamic:
            return 0
        return _calc_netbits(self.from_addr, self.to_addr)

    @property
    def is_opaque(self) -> bool:
        return self.from_port == 0xFFFF and self.to_port == 0

    @property
    def is_any_port(self) -> bool:
        return self.from_port == 0 and self.to_port == 0xFFFF

    def is_host(self, addr: bytes | None = None) -> bool:
        if addr is None:
            return self.dynamic or self.from_addr == self.to_addr
        return len(addr) == len(self.from_addr) and self.from_addr == addr == self.to_addr

    def includes(self, addr: bytes) -> bool:
        return len(addr) == len(self.from_addr) and self.from_addr <= addr <= self.to_addr

    def to_subnet(self) -> tuple[bytes, int, int]:
        """``to_subnet``: (network, prefix, port or 0); the prefix is approximate for ranges."""
        bits = _calc_netbits(self.from_addr, self.to_addr)
        if bits == NON_SUBNET:
            diff = int.from_bytes(self.from_addr, "big") ^ int.from_bytes(self.to_addr, "big")
            bits = len(self.from_addr) * 8 - diff.bit_length()
        net = _range_of(self.from_addr, bits)[0]
        return net, bits, self.from_port if self.from_port == self.to_port else 0

    def set_address(self, addr: bytes) -> TrafficSelector:
        """Resolve (a dynamic TS) to one host address; the unspecified address means "any"."""
        if not any(addr):
            lo, hi = bytes(len(addr)), b"\xff" * len(addr)
        else:
            lo = hi = addr
        return replace(self, ts_type=_ts_type(addr), from_addr=lo, to_addr=hi, dynamic=False)

    # --- narrowing -----------------------------------------------------------------------------
    def get_subset(self, other: TrafficSelector) -> TrafficSelector | None:
        """charon's ``get_subset``: the intersection, or None (never for unresolved dynamic TS)."""
        if self.dynamic or other.dynamic or self.ts_type != other.ts_type:
            return None
        if self.protocol != other.protocol and self.protocol and other.protocol:
            return None
        protocol = max(self.protocol, other.protocol)
        if ((self.is_opaque and other.is_opaque) or (self.is_opaque and other.is_any_port)
                or (other.is_opaque and self.is_any_port)):
            from_port, to_port = 0xFFFF, 0
        else:
            from_port = max(self.from_port, other.from_port)
            to_port = min(self.to_port, other.to_port)
            if from_port > to_port:
                return None
        lo = max(self.from_addr, other.from_addr)
        hi = min(self.to_addr, other.to_addr)
        if lo > hi:
            return None
        return TrafficSelector(self.ts_type, lo, hi, protocol, from_port, to_port)

    intersect = get_subset

    def is_contained_in(self, other: TrafficSelector) -> bool:
        subset = self.get_subset(other)
        return subset is not None and subset.sort_key() == self.sort_key()

    is_subset = is_contained_in

    def sort_key(self) -> tuple[int, bytes, bytes, int, int, int]:
        """``traffic_selector_cmp`` order (IPv4 first, lower start, larger range, ...)."""
        inv = bytes(self.to_addr).translate(_INVERT)
        return (self.ts_type, self.from_addr, inv, self.protocol, self.from_port, 0xFFFF - self.to_port)

    def equals(self, other: TrafficSelector) -> bool:
        """charon's ``equals`` (``traffic_selector_cmp == 0``; the dynamic flag is ignored)."""
        return self.sort_key() == other.sort_key()

    # --- rendering -----------------------------------------------------------------------------
    def render(self, netdb: NetDbLookup | None = None) -> str:
        """charon's ``%R``."""
        db = netdb or BUILTIN_NETDB
        size = len(self.from_addr)
        if self.dynamic and self.from_addr == bytes(size) and self.to_addr == b"\xff" * size:
            text = "dynamic"
        elif (bits := self.netbits) == NON_SUBNET:
            text = f"{inet_ntop(self.from_addr)}..{inet_ntop(self.to_addr)}"
        else:
            text = f"{inet_ntop(self.from_addr)}/{bits}"
        if not self.protocol and self.is_any_port:
            return text
        proto_name = db.proto_name(self.protocol) if self.protocol else None
        proto = proto_name or str(self.protocol)
        if self.is_any_port:
            return f"{text}[{proto}]"
        return f"{text}[{proto}/{self._ports(db, proto_name)}]"

    def _ports(self, db: NetDbLookup, proto_name: str | None) -> str:
        icmp = self.protocol in (IPPROTO_ICMP, IPPROTO_ICMPV6)
        if self.from_port == self.to_port:
            if icmp:
                return _icmp_str(self.from_port)
            return db.service_name(self.from_port, proto_name) or str(self.from_port)
        if self.is_opaque:
            return "OPAQUE"
        if icmp:
            return f"{_icmp_str(self.from_port)}-{_icmp_str(self.to_port)}"
        return f"{self.from_port}-{self.to_port}"

    def __str__(self) -> str:
        return self.render()


def _icmp_str(port: int) -> str:
    code = icmp_code(port)
    return f"{icmp_type(port)}({code})" if code else str(icmp_type(port))


def _ts_type(addr: bytes) -> TsType:
    return TsType.TS_IPV4_ADDR_RANGE if len(addr) == 4 else TsType.TS_IPV6_ADDR_RANGE


def ts_list_str(selectors: Iterable[TrafficSelector], netdb: NetDbLookup | None = None) -> str:
    """``%#R``: selectors separated by a space."""
    return " ".join(ts.render(netdb) for ts in selectors)


# --- parsing (vici ``parse_ts``) ----------------------------------------------------------------

def c_strtol(text: str) -> tuple[int, int]:
    """C ``strtol(text, &end, 0)``: (value, index of end); no digits -> (0, 0)."""
    m = re.match(r"[ \t\n\v\f\r]*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9]\d*)", text)
    if not m:
        return 0, 0
    value = c_int(m.group(2))
    return (-value if m.group(1) == "-" else value), m.end()


def host_from_string(text: str, family: int = 0) -> bytes | None:
    """``host_create_from_string_and_family`` without DNS (family 0, 4 or 6)."""
    if text == "%any":
        return bytes(16 if family == 6 else 4)
    if family in (0, 4) and text in ("%any4", "0.0.0.0"):
        return bytes(4)
    if family in (0, 6) and text in ("%any6", "::"):
        return bytes(16)
    if family == 0:
        return inet_pton("." not in text, text)
    if family == 4 and ":" in text:
        return None
    return inet_pton(family == 6, text)


def _parse_proto(text: str, db: NetDbLookup) -> int:
    if text == "any":
        return 0
    number = db.proto_by_name(text)
    if number is not None:
        return number
    value, end = c_strtol(text)
    if (text and end < len(text)) or not 0 <= value <= 0xFF:
        raise TsError(f"invalid protocol '{text}'")
    return value


def _parse_ports(text: str, db: NetDbLookup) -> tuple[int, int]:
    if text == "opaque":
        return 0xFFFF, 0
    if not text or text == "any":
        return 0, 0xFFFF
    port = db.port_by_name(text)
    if port is not None:
        return port, port
    first, end = c_strtol(text)
    if not 0 <= first <= 0xFFFF:
        raise TsError(f"invalid port '{text}'")
    last = first
    if text[end:end + 1] == "-":
        rest = text[end + 1:]
        last, sub = c_strtol(rest)
        end += 1 + sub
        if not 0 <= last <= 0xFFFF:
            raise TsError(f"invalid port '{text}'")
    if end < len(text):
        raise TsError(f"invalid port '{text}'")
    return first, last


def _parse_range(text: str) -> tuple[bytes, bytes]:
    """``host_create_from_range``: spaces around '-' are allowed."""
    sep = text.index("-")
    hi = host_from_string(text[sep + 1:].lstrip(" "))
    if hi is None:
        raise TsError(f"invalid address range '{text}'")
    left = text[:sep]
    # charon trims trailing spaces but never the first character
    left = left[:1] + left[1:].rstrip(" ") if left else left
    lo = host_from_string(left, 4 if len(hi) == 4 else 6)
    if lo is None:
        raise TsError(f"invalid address range '{text}'")
    return lo, hi


def _parse_cidr(text: str) -> tuple[bytes, int]:
    addr_s, slash, bits_s = text.partition("/")
    if slash and len(addr_s) >= 64:
        raise TsError(f"invalid subnet '{text}'")
    addr = host_from_string(addr_s)
    if addr is None:
        raise TsError(f"invalid subnet '{text}'")
    if not slash:
        return addr, len(addr) * 8
    # charon 6.1 rejects non-numeric and too long prefixes (/33, /abc, /-1 all fail)
    if not bits_s.isdigit() or not bits_s.isascii() or int(bits_s) > len(addr) * 8:
        raise TsError(f"invalid prefix length in '{text}'")
    return addr, int(bits_s)


def parse_ts(value: str | bytes, netdb: NetDbLookup | None = None) -> TrafficSelector:
    """A vici ``local_ts``/``remote_ts`` item -> TrafficSelector; raises TsError.

    Grammar: ``dynamic | cidr | from-to`` optionally followed by ``[proto[/port[-port]]]``.
    """
    db = netdb or BUILTIN_NETDB
    raw = value.encode("latin-1", "replace") if isinstance(value, str) else bytes(value)
    if not all(0x20 <= b < 0x7F for b in raw):
        raise TsError("traffic selector contains non-printable characters")
    text = raw[:BUF_LEN - 1].decode("ascii")
    proto, from_port, to_port = 0, 0, 0xFFFF
    addr_part, bracket, protoport = text.partition("[")
    if bracket:
        close = protoport.rfind("]")
        if close < 0:
            raise TsError(f"missing ']' in '{text}'")
        proto_s, _, port_s = protoport[:close].partition("/")
        proto = _parse_proto(proto_s, db)
        from_port, to_port = _parse_ports(port_s, db)
    if addr_part == "dynamic":
        return TrafficSelector.create_dynamic(proto, from_port, to_port)
    if "-" in addr_part:
        lo, hi = _parse_range(addr_part)
        return TrafficSelector.create(_ts_type(lo), lo, hi, proto, from_port, to_port)
    addr, bits = _parse_cidr(addr_part)
    return TrafficSelector.from_subnet(addr, bits, proto, from_port, to_port)


# --- lists (``traffic_selector_list.c``) --------------------------------------------------------

Host = bytes | ipaddress.IPv4Address | ipaddress.IPv6Address


def _packed(host: Host) -> bytes:
    return host if isinstance(host, bytes) else host.packed


def resolve_dynamic_ts(selectors: Sequence[TrafficSelector], hosts: Sequence[Host] | None,
                       force_dynamic: bool = False) -> list[TrafficSelector]:
    """Replace dynamic TS by one TS per host (transport mode: also narrow regular TS to hosts)."""
    if not hosts:
        return list(selectors)
    out: list[TrafficSelector] = []
    for ts in selectors:
        if not ts.dynamic and not force_dynamic:
            out.append(ts)
            continue
        for host in map(_packed, hosts):
            is_any = not any(host)
            if not ts.dynamic and not is_any and not ts.includes(host):
                continue  # transport mode: skip TS that don't contain the address
            out.append(ts.set_address(host) if ts.dynamic or not is_any else ts)
    return out


def remove_duplicate_ts(selectors: Iterable[TrafficSelector]) -> list[TrafficSelector]:
    """Drop selectors contained in another one, in charon's exact iteration order."""
    items = list(selectors)
    i = 0
    while i < len(items):
        restart = removed = False
        for j in range(len(items)):
            if j == i:
                continue
            if items[j].is_contained_in(items[i]):
                del items[j]
                restart = True
                break
            if items[i].is_contained_in(items[j]):
                del items[i]
                removed = True
                break
        if restart:
            i = 0
        elif not removed:
            i += 1
    return items


def select_ts(configured: Sequence[TrafficSelector], supplied: Sequence[TrafficSelector] | None,
              hosts: Sequence[Host] | None = None, force_dynamic: bool = False,
              ) -> tuple[list[TrafficSelector], bool]:
    """Narrow our selectors against the peer's (RFC 7296 §2.9): (result, narrowed)."""
    resolved = resolve_dynamic_ts(configured, hosts, force_dynamic)
    if supplied is None:
        return remove_duplicate_ts(resolved), False
    result = [sub for ours in resolved for theirs in supplied
              if (sub := ours.get_subset(theirs)) is not None]
    narrowed = len(result) < len(resolved) or any(
        not a.equals(b) for a, b in zip(resolved, result, strict=False))
    return remove_duplicate_ts(result), narrowed
