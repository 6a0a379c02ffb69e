"""A swanctl command and what it sees while it runs (strongSwan's command.c): options tables,
the context handed to a command, usage texts.

The table of all commands lives in commands.py, above this module; the help command's option
table needs it, so it reaches the functions here as an argument.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from . import SWANCTL_VERSION
from .client import Connection
from .getopt import EOF, NO_ARG, OPTIONAL_ARG, REQUIRED_ARG, Getopt, LongOpt
from .settings import Settings

PLUGINS = "x509 pubkey pkcs1 pkcs8 pkcs12 pem"  # the credential formats this client parses itself
STRONGSWAN_CONF = "/etc/strongswan.conf"
SWANCTLDIR = "/etc/swanctl"


@dataclass(frozen=True)
class Option:
    name: str
    op: str
    arg: int
    desc: str


@dataclass(frozen=True)
class Command:
    cmd: str
    op: str
    description: str
    lines: tuple[str, ...]
    options: tuple[Option, ...]
    call: Callable[[Context], int] | None = None


SHARED = (
    Option("debug", "v", REQUIRED_ARG, "set debug level, default: 1"),
    Option("options", "+", REQUIRED_ARG, "read command line options from file"),
    Option("uri", "u", REQUIRED_ARG, "service URI to connect to"),
)
HELP = Option("help", "h", NO_ARG, "show usage information")
RAW = Option("raw", "r", NO_ARG, "dump raw response message")
PRETTY = Option("pretty", "P", NO_ARG, "dump raw response message in pretty print")
JSON = Option("json", "j", NO_ARG, "print JSON (vicid extension, schema: swanctl/schema)")
FILE = Option("file", "f", REQUIRED_ARG, "custom path to swanctl.conf")


@dataclass
class Context:
    """What a command sees: its options, the vici connection, the output streams."""

    command: Command
    getopt: Getopt
    conn: Connection | None
    strongswan: Settings
    swanctl_dir: str
    debug: int = 1
    commands: Sequence[Command] = field(default=(), repr=False)  # every command, for --help

    def options(self) -> Iterator[tuple[str | int, str | None]]:
        """command_getopt() until EOF, skipping the shared options."""
        while True:
            op = self.getopt.getopt_long(*tables(self.command, self.commands))
            if op in ("+", "v", "u"):
                continue
            yield op, self.getopt.optarg
            if op == EOF:
                return

    def usage(self, error: str | None = None) -> int:
        return usage(self.command, error, plugins=True, commands=self.commands)

    def write(self, text: str) -> None:
        sys.stdout.write(text)

    def err(self, text: str) -> None:
        sys.stdout.flush()
        sys.stderr.write(text)
        sys.stderr.flush()


def tables(cmd: Command, commands: Sequence[Command]) -> tuple[str, list[LongOpt]]:
    """build_opts(): the optstring and long options of the active command (for help: all commands)."""
    if cmd.cmd == "help":
        chars = "".join(c.op for c in commands)
        longs = [LongOpt(c.cmd, NO_ARG, c.op) for c in commands]
        opts: tuple[Option, ...] = SHARED
    else:
        chars, longs, opts = "", [], cmd.options + SHARED
    for o in opts:
        chars += o.op + {NO_ARG: "", REQUIRED_ARG: ":", OPTIONAL_ARG: "::"}[o.arg]
        longs.append(LongOpt(o.name, o.arg, o.op))
    return chars, longs


def usage(cmd: Command, error: str | None, *, plugins: bool, commands: Sequence[Command]) -> int:
    """command_usage(): to stdout, or with an error to stderr; returns 1 on error."""
    lines = [f"strongSwan {SWANCTL_VERSION} swanctl"]
    if cmd.cmd == "help":
        if plugins:
            lines += [f"loaded plugins: {PLUGINS}", "usage:", "  swanctl command [options]", "commands:"]
        lines += [f"  --{c.cmd:<16} (-{c.op})  {c.description}" for c in commands]
        lines.append("options:")
        lines += [f"  --{o.name:<16} (-{o.op})  {o.desc}" for o in SHARED]
    else:
        lines[0] += f" (--{cmd.cmd}/-{cmd.op})"
        lines += [cmd.description, "usage:"]
        lines += [f"  swanctl --{cmd.cmd} {ln}" if i == 0 else f"    {ln}" for i, ln in enumerate(cmd.lines)]
        lines.append("options:")
        lines += [f"  --{o.name:<15} (-{o.op})  {o.desc}" for o in cmd.options + SHARED]
    if error:
        lines.append(f"error: {error}")
    text = "\n".join(lines) + "\n"
    if error:
        sys.stdout.flush()
        sys.stderr.write(text)
        sys.stderr.flush()
    else:
        sys.stdout.write(text)
    return 1 if error else 0



def atoi(s: str) -> int:
    """atoi(3): leading digits after optional space and sign, else 0."""
    s = s.lstrip()
    i = 1 if s[:1] in "+-" else 0
    while i < len(s) and s[i].isdigit():
        i += 1
    try:
        return int(s[:i])
    except ValueError:
        return 0


