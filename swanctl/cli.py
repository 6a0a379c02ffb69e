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
from dataclasses import dataclass

from . import client
from .client import DEFAULT_URI, Connection, ViciError
from .command import STRONGSWAN_CONF, SWANCTLDIR, Command, Context, atoi, tables, usage
from .commands import COMMANDS, HELP_COMMAND
from .getopt import EOF, Getopt
from .settings import Settings


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
        op = g.getopt_long(*tables(cmd, COMMANDS))
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
    args = list(sys.argv if argv is None else ["swanctl", *argv])
    g = Getopt(args, _prog(args[0]))
    state = _Init(HELP_COMMAND)
    _OPTIONS_USES[0] = 0

    # command_init(): global options until the command, then the command's own
    if not _common(g, HELP_COMMAND, state, True):
        return usage(HELP_COMMAND, "invalid --options", plugins=False, commands=COMMANDS)
    while True:
        op = g.getopt_long(*tables(HELP_COMMAND, COMMANDS))
        if op not in ("+", "v", "u"):
            break
    command = next((c for c in COMMANDS if c.op == op), None)
    if command is None:
        status = usage(HELP_COMMAND, "invalid command" if op != EOF else None, plugins=False, commands=COMMANDS)
        if status:
            return status
        command = HELP_COMMAND
    else:
        state.command = command
        if not _common(g, command, state, False):
            return usage(command, "invalid --options", plugins=False, commands=COMMANDS)

    # library_init() and swanctl's own setup
    client.DEBUG_LEVEL[0] = state.debug
    strongswan = load_strongswan_conf()
    swanctl_dir = os.environ.get("SWANCTL_DIR", SWANCTLDIR)
    if command is HELP_COMMAND:
        return usage(HELP_COMMAND, None, plugins=True, commands=COMMANDS)

    uri = state.uri if state.uri is not None else strongswan.get_str(
        "swanctl.socket", strongswan.get_str("swanctl.plugins.vici.socket"))
    try:
        conn = Connection.connect(uri if uri is not None else DEFAULT_URI)
    except ViciError as e:
        ctx = Context(command, g, None, strongswan, swanctl_dir, state.debug, COMMANDS)
        ctx.usage(f"connecting to '{uri if uri is not None else 'default'}' URI failed: {e.strerror}")
        return e.errno or 1
    try:
        assert command.call is not None
        ctx = Context(command, g, conn, strongswan, swanctl_dir, state.debug, COMMANDS)
        return command.call(ctx)
    finally:
        conn.close()
        sys.stdout.flush()
