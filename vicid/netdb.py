"""/etc/protocols and /etc/services, for traffic selector names (getprotobyname & co.).

Lives outside the engine because it reads files; the result is a pure
:class:`vicid.ike.ts.StaticNetDb` handed to ``parse_ts``/``TrafficSelector.render``.
"""

from __future__ import annotations

import functools
from pathlib import Path

from vicid.ike.ts import BUILTIN_NETDB, StaticNetDb

PROTOCOLS_PATH = Path("/etc/protocols")
SERVICES_PATH = Path("/etc/services")


def _fields(text: str) -> list[list[str]]:
    rows = []
    for line in text.splitlines():
        fields = line.split("#", 1)[0].split()
        if fields:
            rows.append(fields)
    return rows


def parse_protocols(text: str) -> tuple[tuple[str, int, tuple[str, ...]], ...]:
    """``name number aliases…`` lines, as glibc's files backend reads them."""
    out = []
    for fields in _fields(text):
        if len(fields) >= 2 and fields[1].isdigit():
            out.append((fields[0], int(fields[1]), tuple(fields[2:])))
    return tuple(out)


def parse_services(text: str) -> tuple[tuple[str, int, str, tuple[str, ...]], ...]:
    """``name port/proto aliases…`` lines."""
    out = []
    for fields in _fields(text):
        if len(fields) < 2:
            continue
        port, _, proto = fields[1].partition("/")
        if port.isdigit() and proto and int(port) <= 0xFFFF:
            out.append((fields[0], int(port), proto, tuple(fields[2:])))
    return tuple(out)


def load(protocols: Path = PROTOCOLS_PATH, services: Path = SERVICES_PATH) -> StaticNetDb:
    """Read both files; a missing file falls back to the built-in table for that part."""
    try:
        protos = parse_protocols(protocols.read_text(encoding="utf-8", errors="replace"))
    except OSError:
        protos = BUILTIN_NETDB.protocols
    try:
        servs = parse_services(services.read_text(encoding="utf-8", errors="replace"))
    except OSError:
        servs = BUILTIN_NETDB.services
    return StaticNetDb(protos, servs)


@functools.cache
def system() -> StaticNetDb:
    """The host's netdb, read once (charon's lookups also see file edits only on restart)."""
    return load()
