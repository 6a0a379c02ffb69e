"""Command line of swanctl: option passes, usage texts, URI choice, exit codes.

This follows strongSwan's command.c: a first getopt pass over the global
options with every command as an option, then the command's own table, with
the shared options (--debug, --options, --uri) accepted anywhere.  Every
command except --help connects to vici before it even parses its options, and
exits with an errno on failure, as swanctl does.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from . import SWANCTL_VERSION, client
from .client import DEFAULT_URI, Connection, ViciError
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

    def options(self) -> Iterator[tuple[str | int, str | None]]:
        """command_getopt() until EOF, skipping the shared options."""
        while True:
            op = self.getopt.getopt_long(*_tables(self.command))
            if op in ("+", "v", "u"):
                continue
            yield op, self.getopt.optarg
            if op == EOF:
                return

    def usage(self, error: str | None = None) -> int:
        return usage(self.command, error, plugins=True)

    def write(self, text: str) -> None:
        sys.stdout.write(text)

    def err(self, text: str) -> None:
        sys.stdout.flush()
        sys.stderr.write(text)
        sys.stderr.flush()


def _tables(cmd: Command) -> tuple[str, list[LongOpt]]:
    """build_opts(): the optstring and long options of the active command."""
    if cmd.cmd == "help":
        from .commands import COMMANDS

        chars = "".join(c.op for c in COMMANDS)
        longs = [LongOpt(c.cmd, NO_ARG, c.op) for c in COMMANDS]
        opts: tuple[Option, ...] = SHARED
    else:
        chars, longs, opts = "", [], cmd.options + SHARED
    for o in opts:
        chars += o.op + {NO_ARG: "", REQUIRED_ARG: ":", OPTIONAL_ARG: "::"}[o.arg]
        longs.append(LongOpt(o.name, o.arg, o.op))
    return chars, longs


def usage(cmd: Command, error: str | None, *, plugins: bool) -> int:
    """command_usage(): to stdout, or with an error to stderr; returns 1 on error."""
    from .commands import COMMANDS

    lines = [f"strongSwan {SWANCTL_VERSION} swanctl"]
    if cmd.cmd == "help":
        if plugins:
            lines += [f"loaded plugins: {PLUGINS}", "usage:", "  swanctl command [options]", "commands:"]
        lines += [f"  --{c.cmd:<16} (-{c.op})  {c.description}" for c in COMMANDS]
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


@dataclass
class _Init:
    command: Command
    uri: str | None = None
    debug: int = 1


def _common(g: Getopt, cmd: Command, state: _Init, init: bool) -> bool:
    """process_common_opts(): --options, --debug, --uri; optind is restored afterwards."""
    prev = g.optind
    ok = True
    g.opterr = False
    while True:
        op = g.getopt_long(*_tables(cmd))
        if op == "+":
            if not _options_from(g, g.optarg or ""):
                ok = False
                break
            continue
        if op == "v":
            state.debug = atoi(g.optarg or "")
            continue
        if op == "u":
            state.uri = g.optarg
            continue
        if op in ("?", EOF):
            break
        if init:
            break  # a command: stop, or --options would be read twice
    g.optind = prev
    g.opterr = True
    return ok


_OPTIONS_USES = [0]


def _options_from(g: Getopt, filename: str) -> bool:
    """options_t.from(): insert the whitespace-separated words of FILE at optind."""
    _OPTIONS_USES[0] += 1
    if _OPTIONS_USES[0] >= 10:
        print(f'optionsfrom called {_OPTIONS_USES[0] + 1} times by "{g.argv[0]}" - looping?', file=sys.stderr)
        return False
    try:
        with open(filename, "rb") as f:
            src = f.read().decode("utf-8", "surrogateescape")
    except OSError as e:
        print(f"optionsfrom: unable to open file '{filename}': {os.strerror(e.errno or 0)}", file=sys.stderr)
        return False
    words: list[str] = []
    for lineno, line in enumerate(src.split("\n"), 1):
        line = line.removesuffix("\r")
        while True:
            line = line.lstrip(" \t")
            if not line or line.startswith("#"):
                break
            if line[0] in "\"'":
                end = line.find(line[0], 1)
                if end < 0:
                    print(f"optionsfrom: missing terminator at {filename}:{lineno}", file=sys.stderr)
                    return False
                words.append(line[1:end])
                line = line[end + 1:]
            else:
                cut = min((i for i in (line.find(" "), line.find("\t")) if i >= 0), default=-1)
                words.append(line if cut < 0 else line[:cut])
                line = "" if cut < 0 else line[cut + 1:]
    g.argv[g.optind:g.optind] = words
    return True


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


def _prog(argv0: str) -> str:
    """argv[0] as getopt prints it; "python -m swanctl" passes __main__.py, shown as swanctl."""
    return "swanctl" if argv0.endswith(".py") or not argv0 else argv0


def load_strongswan_conf() -> Settings:
    """The client side of strongswan.conf; every namespace falls back to libstrongswan."""
    path = os.environ.get("STRONGSWAN_CONF", STRONGSWAN_CONF)
    conf = Settings.load(path, client.log, quiet_missing=True)
    conf.add_fallback("swanctl", "libstrongswan")
    return conf


def main(argv: list[str] | None = None) -> int:
    """swanctl's main(); returns its exit status (the console script exits with it)."""
    # values are bytes from the wire or files: write them back unchanged
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(encoding="utf-8", errors="surrogateescape")
    try:
        return _main(argv)
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1


def _main(argv: list[str] | None) -> int:
    from .commands import COMMANDS, HELP_COMMAND

    args = list(sys.argv if argv is None else ["swanctl", *argv])
    g = Getopt(args, _prog(args[0]))
    state = _Init(HELP_COMMAND)
    _OPTIONS_USES[0] = 0

    # command_init(): global options until the command, then the command's own
    if not _common(g, HELP_COMMAND, state, True):
        return usage(HELP_COMMAND, "invalid --options", plugins=False)
    while True:
        op = g.getopt_long(*_tables(HELP_COMMAND))
        if op not in ("+", "v", "u"):
            break
    command = next((c for c in COMMANDS if c.op == op), None)
    if command is None:
        status = usage(HELP_COMMAND, "invalid command" if op != EOF else None, plugins=False)
        if status:
            return status
        command = HELP_COMMAND
    else:
        state.command = command
        if not _common(g, command, state, False):
            return usage(command, "invalid --options", plugins=False)

    # library_init() and swanctl's own setup
    client.DEBUG_LEVEL[0] = state.debug
    strongswan = load_strongswan_conf()
    swanctl_dir = os.environ.get("SWANCTL_DIR", SWANCTLDIR)
    if command is HELP_COMMAND:
        return usage(HELP_COMMAND, None, plugins=True)

    uri = state.uri if state.uri is not None else strongswan.get_str(
        "swanctl.socket", strongswan.get_str("swanctl.plugins.vici.socket"))
    try:
        conn = Connection.connect(uri if uri is not None else DEFAULT_URI)
    except ViciError as e:
        ctx = Context(command, g, None, strongswan, swanctl_dir, state.debug)
        ctx.usage(f"connecting to '{uri if uri is not None else 'default'}' URI failed: {e.strerror}")
        return e.errno or 1
    try:
        assert command.call is not None
        ctx = Context(command, g, conn, strongswan, swanctl_dir, state.debug)
        return command.call(ctx)
    finally:
        conn.close()
        sys.stdout.flush()
