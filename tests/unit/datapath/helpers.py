"""Shared builders for datapath tests: keys, SAs, policies and IP packets (documentation addresses)."""

from __future__ import annotations

import ipaddress
import struct
from pathlib import Path

from vicid.ike.crypto.transforms import encr_info, integ_info
from vicid.ike.effects import Direction, InstallChildSa, InstallPolicy, SaKeys
from vicid.ike.ts import parse_ts
from vicid.secrets import Secret

VECTORS = Path(__file__).resolve().parents[2] / "vectors"
MOON, CAROL = ipaddress.ip_address("192.0.2.2"), ipaddress.ip_address("192.0.2.3")
MOON_NET, CAROL_NET = "198.51.100.0/24", "203.0.113.0/24"


def read_vector(path: Path) -> dict[str, str]:
    return dict(line.split(" = ", 1) for line in path.read_text().splitlines()
                if " = " in line and not line.startswith("#"))


def keys(encr: int, integ: int = 0, bits: int = 0, esn: bool = False, seed: int = 1) -> SaKeys:
    info = encr_info(encr)
    ekey = bytes((seed + i) & 0xFF for i in range(info.key_size(bits or None)))
    ikey = Secret(bytes((seed * 3 + i) & 0xFF for i in range(integ_info(integ).key_size))) if integ else None
    return SaKeys(encr, bits or info.default_key_bits, Secret(ekey), integ, ikey, esn)


def ipv4(src: str, dst: str, proto: int = 1, payload: bytes = b"\x08\x00\x00\x00\x12\x34\x00\x01" + b"x" * 48,
         ident: int = 1) -> bytes:
    total = 20 + len(payload)
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, ident, 0x4000, 64, proto, 0,
                      ipaddress.ip_address(src).packed, ipaddress.ip_address(dst).packed)
    return hdr + payload


def ipv6(src: str, dst: str, proto: int = 58,
         payload: bytes = b"\x80\x00\x00\x00\x12\x34\x00\x01" + b"y" * 40) -> bytes:
    return struct.pack("!IHBB16s16s", 6 << 28, len(payload), proto, 64, ipaddress.ip_address(src).packed,
                       ipaddress.ip_address(dst).packed) + payload


def udp(sport: int, dport: int, data: bytes = b"hello") -> bytes:
    return struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data


def sa(spi: int, inbound: bool, sa_keys: SaKeys, *, local: str = CAROL_NET, remote: str = MOON_NET, reqid: int = 1,
       mode: str = "TUNNEL", encap: bool = True, **kw) -> InstallChildSa:
    """An SA of carol's: inbound from moon or outbound to moon."""
    src, dst = ((MOON, 4500), (CAROL, 4500)) if inbound else ((CAROL, 4500), (MOON, 4500))
    return InstallChildSa(1, 1, reqid, spi, inbound, 3, mode, src, dst, encap, sa_keys,
                          (parse_ts(local),), (parse_ts(remote),), **kw)


def policy(direction: Direction, *, local: str = CAROL_NET, remote: str = MOON_NET, reqid: int = 1,
           kind: str = "ipsec", priority: int = 0, mode: str = "TUNNEL") -> InstallPolicy:
    src, dst = (CAROL, MOON) if direction == Direction.OUT else (MOON, CAROL)
    return InstallPolicy(reqid, direction, parse_ts(local), parse_ts(remote), mode, src, dst,
                         priority=priority, kind=kind)


def mirror(effect: InstallChildSa, **kw) -> InstallChildSa:
    """The same SA seen from moon: direction flipped, selectors swapped."""
    from dataclasses import replace
    return replace(effect, inbound=not effect.inbound, local_ts=effect.remote_ts, remote_ts=effect.local_ts, **kw)
