"""Virtual IP pools loaded over vici, as charon's ``vici_attribute.c`` and ``mem_pool.c``.

``parse_pool`` turns one ``load-pool`` section into a :class:`Pool` (address range plus
configuration attributes); :class:`PoolStore` merges it like charon (same base and size keep the
leases; a pool with online leases can be neither replaced nor unloaded). Pools live in charon's
hashtable order, and a reload or a refused replace moves a pool to the end, as there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from ipaddress import ip_address
from typing import Any

from vicid.config.mem_pool import LogLine, MemPool, PoolOp
from vicid.config.values import atoi, stringify, strtoul
from vicid.identity import inet_ntop, inet_pton

POOL_LIMIT = 31  # host bits: sizeof(u_int) * 8 - 1


class PoolError(Exception):
    """A load-pool failure; ``str()`` is charon's ``errmsg``."""


# configuration_attribute_type_t: (IPv4 variant, IPv6 variant) per vici attribute name
ATTRIBUTES: dict[str, tuple[int, int]] = {
    "address": (1, 8),  # INTERNAL_IP4_ADDRESS / INTERNAL_IP6_ADDRESS
    "dns": (3, 10),
    "nbns": (4, 11),
    "dhcp": (6, 12),
    "netmask": (2, 9),
    "server": (23456, 23457),
    "subnet": (13, 15),
    "p_cscf": (20, 21),  # RFC 7651
    "split_include": (28676, 28676),  # UNITY_SPLIT_INCLUDE
    "split_exclude": (28678, 28678),  # UNITY_LOCAL_LAN
}


@dataclass(frozen=True)
class Lease:
    identity: Any  # vicid.identity.Identification
    address: bytes
    online: bool


@dataclass(frozen=True)
class Pool:
    name: str
    base: bytes  # packed first address; all-zero = %any
    size: int
    attributes: tuple[tuple[int, bytes], ...] = ()
    mem: MemPool = field(default=None, compare=False, repr=False)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.mem is None:  # a new pool starts without leases
            object.__setattr__(self, "mem", MemPool(self.name, self.base, self.size))

    @property
    def leases(self) -> tuple[Lease, ...]:
        return tuple(Lease(identity, address, online) for identity, address, online in self.mem.leases())

    @property
    def online(self) -> int:
        return self.mem.online

    @property
    def offline(self) -> int:
        return self.mem.offline

    def holds(self, address: bytes) -> bool:
        """``have_vips_from_pool``: ADDRESS lies within [base, base + size)."""
        return len(address) == len(self.base) and self.mem.offset(address) > 0


# --- addresses as charon's host.c parses them ---------------------------------------------------

def host_from_string(text: str, family: int = 0) -> bytes | None:
    """``host_create_from_string_and_family``: packed address or None (family 4, 6 or 0)."""
    if text == "%any":
        return bytes(16 if family == 6 else 4)
    if family in (0, 4) and text in ("%any4", "0.0.0.0"):
        return bytes(4)
    if family in (0, 6) and text in ("%any6", "::"):
        return bytes(16)
    v4 = family == 4 or (family == 0 and "." in text)
    if v4 and ":" in text:
        return None
    return inet_pton(not v4, text)


def host_from_range(text: str) -> tuple[bytes, bytes] | None:
    """``host_create_from_range``: ``from-to`` around the first dash, blanks trimmed."""
    sep = text.find("-")
    if sep < 0:
        return None
    upper = host_from_string(text[sep + 1:].lstrip(" "))
    if upper is None:
        return None
    lower = host_from_string(text[:sep].rstrip(" ") or text[:1], 4 if len(upper) == 4 else 6)
    return None if lower is None else (lower, upper)


def host_from_subnet(text: str) -> tuple[bytes, int] | None:
    """``host_create_from_subnet``: ``addr[/bits]``; charon 6.1 rejects bad or too long prefixes."""
    addr_text, slash, bits_text = text.partition("/")
    if slash and len(addr_text) >= 64:
        return None
    addr = host_from_string(addr_text)
    if addr is None:
        return None
    if not slash:
        return addr, len(addr) * 8
    bits, rest = strtoul(bits_text, 10)
    if rest or not bits_text or not bits_text[0].isdigit() or bits > len(addr) * 8:
        return None
    return addr, bits


def _last32(addr: bytes) -> int:
    return int.from_bytes(addr[-4:], "big")


def pool_from_range(name: str, lower: bytes, upper: bytes) -> Pool | None:
    """``mem_pool_create_range``: same family, ordered, at most the last 32 bits differ."""
    if len(lower) != len(upper) or lower > upper or lower[:-4] != upper[:-4]:
        return None
    return Pool(name, lower, (_last32(upper) - _last32(lower) + 1) & 0xFFFFFFFF)


def pool_from_subnet(name: str, base: bytes, bits: int) -> Pool | None:
    """``mem_pool_create``: skip the network and broadcast addresses of larger subnets."""
    addr_bits = len(base) * 8
    host_bits = min(addr_bits - max(0, min(bits, addr_bits)), POOL_LIMIT)
    size = 1 << host_bits
    diff = _last32(base) & ((1 << host_bits) - 1) if host_bits else 0
    if size > 2:
        if not diff:
            base = (int.from_bytes(base, "big") + 1).to_bytes(len(base), "big")
            size -= 1
        else:
            size -= diff
        size -= 1  # the broadcast address
    elif diff:
        size -= 1  # only the second address of a /31
    return Pool(name, base, size) if size > 0 else None


def parse_addrs(name: str, raw: bytes) -> Pool:
    text = stringify(raw, 128)
    if text is None:
        raise PoolError("invalid addrs value")
    bounds = host_from_range(text)
    pool = pool_from_range(name, *bounds) if bounds else None
    if pool is None:
        subnet = host_from_subnet(text)
        pool = pool_from_subnet(name, *subnet) if subnet else None
    if pool is None:
        raise PoolError(f"invalid addrs value: {text}")
    return pool


def parse_attribute(name: str, raw: bytes) -> tuple[int, bytes]:
    """``pool_li``: one attribute list item -> (attribute type, value encoding)."""
    types = ATTRIBUTES.get(name)
    number = 0 if types else atoi(name)
    if not types and not number:
        raise PoolError(f"invalid attribute: {name}")
    text = stringify(raw, 256)
    host, mask = None, -1
    if text is not None:
        if "/" in text:
            subnet = host_from_subnet(text)
            host, mask = subnet if subnet else (None, -1)
        else:
            host = host_from_string(text)
    if host is None:
        if types:
            raise PoolError(f"invalid attribute value for {name}")
        return number, bytes(raw)  # numbered attributes take raw data
    attr_type = (types[0] if len(host) == 4 else types[1]) if types else number
    if mask == -1:
        return attr_type, host
    if len(host) == 4:  # IPv4: address and netmask
        netmask = (0xFFFFFFFF << (32 - mask)) & 0xFFFFFFFF if mask else 0
        return attr_type, host + netmask.to_bytes(4, "big")
    return attr_type, host + bytes([mask])  # IPv6: address and prefix length


def parse_pool(name: str, section: Mapping[str, Any]) -> Pool:
    """``pool_sn``: one pool section; nested sections are ignored. Raises PoolError."""
    pool: Pool | None = None
    attributes: list[tuple[int, bytes]] = []
    for key, value in section.items():
        if isinstance(value, Mapping):
            continue
        if isinstance(value, list):
            attributes.extend(parse_attribute(key, bytes(item)) for item in value)
        elif key != "addrs":
            raise PoolError(f"invalid attribute: {key}")
        elif pool is not None:
            raise PoolError("multiple addrs defined")
        else:
            pool = parse_addrs(name, bytes(value))
    if pool is None:
        raise PoolError(f"missing addrs for pool '{name}'")
    return replace(pool, attributes=tuple(attributes))


def address_text(addr: bytes) -> str:
    """charon's ``%H`` for an address: ``%any``/``%any6`` for the unspecified ones."""
    if not any(addr):
        return "%any" if len(addr) == 4 else "%any6"
    return inet_ntop(addr)


class PoolStore:
    """Pools loaded over vici, by name."""

    def __init__(self) -> None:
        self._pools: dict[str, Pool] = {}

    def get(self, name: str) -> Pool | None:
        return self._pools.get(name)

    def names(self) -> list[str]:
        return list(self._pools)

    def pools(self) -> list[Pool]:
        return list(self._pools.values())

    def merge(self, new: Pool) -> None:
        """``merge_pool``; raises PoolError if the old pool has online leases."""
        old = self._pools.pop(new.name, None)  # put() after remove(): the pool moves to the end
        if old is None:
            self._pools[new.name] = new
        elif (old.base, old.size) == (new.base, new.size):
            self._pools[new.name] = replace(new, mem=old.mem)
        elif old.online == 0:
            self._pools[new.name] = new
        else:
            self._pools[new.name] = old
            raise PoolError(f"vici pool {new.name} has online leases, unable to replace")

    def unload(self, name: str) -> None:
        """``unload_pool``; raises PoolError with charon's messages."""
        pool = self._pools.pop(name, None)
        if pool is None:
            raise PoolError(f"{name} not found")
        if pool.online:
            self._pools[name] = pool
            raise PoolError(f"{name} has online leases, unable to unload")

    # --- the engine's AttributeProvider (vicid.ike.attributes), as vici_attribute.c -----------
    def acquire_address(self, pools: Sequence[str], identity: Any, requested: Any, peer: Any,
                        log: LogLine) -> Any:
        """Each operation over all of the connection's pools before the next one: an existing
        lease, a new one, then one reassigned from another identity."""
        packed, endpoint = requested.packed, (peer[0].packed, peer[1])
        for op in PoolOp:
            for name in pools:
                pool = self._pools.get(name)
                found = pool.mem.acquire(identity, packed, op, endpoint, log) if pool else None
                if found is not None:
                    return ip_address(found)
        return None

    def release_address(self, pools: Sequence[str], address: Any, identity: Any, log: LogLine) -> bool:
        for name in pools:
            pool = self._pools.get(name)
            if pool is not None and pool.mem.release(address.packed, identity, log):
                return True
        return False

    def responder_attributes(self, pools: Sequence[str], vips: Sequence[Any]) -> list[tuple[int, bytes]]:
        """The attributes of every listed pool that one of VIPS came from, in pool order."""
        out: list[tuple[int, bytes]] = []
        for name in pools:
            pool = self._pools.get(name)
            if pool is not None and any(pool.holds(vip.packed) for vip in vips):
                out.extend(pool.attributes)
        return out
