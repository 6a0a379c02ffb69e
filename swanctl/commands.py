"""The swanctl commands: their option tables and what each sends and prints.

Option letters, descriptions and usage lines are strongSwan 6.1's, in its
registration order (which is also the order of ``swanctl --help``).  The
vicid extensions are ``--json`` on the listing commands and ``--watch`` on
``--list-sas``; they only add options, so every upstream command line keeps
its meaning.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable

from . import jsonout, render
from .base import Fmt, dump_msg, emit_json, format_flag, read_options, request, succeeded
from .client import ViciError
from .command import FILE, HELP, JSON, PRETTY, RAW, Command, Context, Option
from .control import initiate, install, redirect, rekey, terminate, uninstall
from .getopt import EOF, NO_ARG, OPTIONAL_ARG, REQUIRED_ARG
from .listings import flush_certs, list_algs, list_authorities, list_certs, list_conns, list_pols, list_pools, list_sas
from .message import Message
from .waiting import log, monitor_sa

# -- loading ------------------------------------------------------------------

def _load(ctx: Context, name: str, what: Callable, creds: bool) -> int:
    from . import load

    fmt = Fmt()
    clear = noprompt = False
    path = None
    for op, arg in ctx.options():
        if op == "h":
            return ctx.usage()
        if creds and op == "c":
            clear = True
        elif creds and op == "n":
            noprompt = True
        elif op in ("P", "r"):
            format_flag(fmt, op)
        elif op == "f":
            path = arg
        elif op != EOF:
            return ctx.usage(f"invalid --{name} option")
    loader = load.Loader(ctx, fmt.raw, fmt.pretty)
    cfg = loader.load_conf(path)
    return what(loader, cfg, clear=clear, noprompt=noprompt)


def load_all(ctx: Context) -> int:
    from .load import Loader

    return _load(ctx, "load-all", Loader.all, True)


def load_authorities(ctx: Context) -> int:
    from .load import Loader

    return _load(ctx, "load-authorities", Loader.authorities, False)


def load_conns(ctx: Context) -> int:
    from .load import Loader

    return _load(ctx, "load-conns", Loader.conns, False)


def load_creds(ctx: Context) -> int:
    from .load import Loader

    return _load(ctx, "load-creds", Loader.creds, True)


def load_pools(ctx: Context) -> int:
    from .load import Loader

    return _load(ctx, "load-pools", Loader.pools, False)


# -- daemon information ------------------------------------------------------

def version(ctx: Context) -> int:
    fmt = Fmt()
    opts = read_options(ctx, fmt, "d", "invalid --terminate option")  # sic, as in swanctl
    if isinstance(opts, int):
        return opts
    daemon = "d" in opts
    from . import SWANCTL_VERSION

    if not daemon:
        if fmt.json:
            emit_json(ctx, jsonout.version(None, SWANCTL_VERSION))
        else:
            ctx.write(f"strongSwan swanctl {SWANCTL_VERSION}\n")
        return 0
    reply = request(ctx, "version")
    if isinstance(reply, int):
        return reply
    if fmt.json:
        emit_json(ctx, jsonout.version(reply, SWANCTL_VERSION))
    elif fmt.raw:
        dump_msg(ctx, reply, "version reply", fmt)
    else:
        ctx.write(render.version_reply(reply))
    return 0


def stats(ctx: Context) -> int:
    fmt = Fmt()
    for op, _arg in ctx.options():
        if op == "h":
            return ctx.usage()
        if format_flag(fmt, op):
            continue
        if op != EOF:
            return ctx.usage("invalid --stats option")
    reply = request(ctx, "stats")
    if isinstance(reply, int):
        return reply
    if fmt.json:
        emit_json(ctx, jsonout.stats(reply))
    elif fmt.raw:
        dump_msg(ctx, reply, "stats reply", fmt)
    else:
        ctx.write(render.stats_reply(reply))
    return 0


def reload_settings(ctx: Context) -> int:
    fmt = Fmt()
    for op, _arg in ctx.options():
        if op == "h":
            return ctx.usage()
        if op in ("P", "r"):
            format_flag(fmt, op)
        elif op != EOF:
            return ctx.usage("invalid --reload-settings option")
    reply = request(ctx, "reload-settings")
    if isinstance(reply, int):
        return reply
    if fmt.raw:
        dump_msg(ctx, reply, "reload-settings reply", fmt)
    elif not succeeded(reply):
        ctx.err(f"reload-settings failed: {reply.find_str('errmsg', '')}\n")
        return 1
    return 0


def counters(ctx: Context) -> int:
    fmt, msg = Fmt(), Message()
    opts = read_options(ctx, fmt, "naR", "invalid --counters option")
    if isinstance(opts, int):
        return opts
    name, all_, reset = opts.get("n"), "a" in opts, "R" in opts
    if all_:
        msg.add("all", "yes")
    elif name:
        msg.add("name", name)
    verb = "reset" if reset else "get"
    assert ctx.conn is not None
    try:
        reply = ctx.conn.request(f"{verb}-counters", msg)
    except ViciError as e:
        ctx.err(f"{verb}-counters request failed: {e.strerror}\n")
        return e.errno or 1
    if fmt.json and not reset:
        if not succeeded(reply):
            ctx.err(f"{verb}-counters failed: {reply.find_str('errmsg', '')}\n")
            return 1
        emit_json(ctx, jsonout.counters(reply))
        return 0
    if fmt.raw:
        dump_msg(ctx, reply, "counters reply", fmt)
        return 0
    if not succeeded(reply):
        ctx.err(f"{verb}-counters failed: {reply.find_str('errmsg', '')}\n")
        return 1
    if reset:
        ctx.write("reset-counters completed successfully\n")
        return 0
    out, ret = render.counters_reply(reply)
    ctx.write(out)
    if ret:
        ctx.err(f"parsing get-counters reply failed: {os.strerror(errno.EBADMSG)}\n")
    return 0


# -- the table -----------------------------------------------------------------

def _o(name: str, op: str, arg: int, desc: str) -> Option:
    return Option(name, op, arg, desc)


_R = REQUIRED_ARG
_N = NO_ARG
WATCH = Option("watch", "w", OPTIONAL_ARG, "repeat every <s> seconds (default 2) and on SA changes (vicid)")

COMMANDS: tuple[Command, ...] = (
    Command("counters", "C", "list or reset IKE event counters",
            ("[--name <name>|--all] [--reset] [--raw|--pretty]",),
            (HELP, _o("name", "n", _R, "connection name, omit for global counters"),
             _o("all", "a", _N, "get/reset counters for all tracked connections"),
             _o("reset", "R", _N, "reset the counters"), RAW, PRETTY, JSON), counters),
    Command("initiate", "i", "initiate a connection",
            ("[--child <name>] [--ike <name>] [--timeout <s>] [--raw|--pretty]",),
            (HELP, _o("child", "c", _R, "initiate a CHILD_SA configuration"),
             _o("ike", "i", _R, "initiate an IKE_SA, or name of child's parent"),
             _o("timeout", "t", _R, "timeout in seconds before detaching"), RAW, PRETTY,
             _o("loglevel", "l", _R, "verbosity of redirected log")), initiate),
    Command("terminate", "t", "terminate a connection",
            ("--child <name> | --ike <name> | --child-id <id> | --ike-id <id>", "[--timeout <s>] [--raw|--pretty]"),
            (HELP, _o("child", "c", _R, "terminate by CHILD_SA name"),
             _o("ike", "i", _R, "terminate by IKE_SA name"),
             _o("child-id", "C", _R, "terminate by CHILD_SA unique identifier"),
             _o("ike-id", "I", _R, "terminate by IKE_SA unique identifier"),
             _o("force", "f", _N, "terminate IKE_SA without waiting, unless timeout is set"),
             _o("timeout", "t", _R, "timeout in seconds before detaching"), RAW, PRETTY,
             _o("loglevel", "l", _R, "verbosity of redirected log")), terminate),
    Command("rekey", "R", "rekey an SA",
            ("--child <name> | --ike <name> | --child-id <id> | --ike-id <id>", "[--reauth] [--raw|--pretty]"),
            (HELP, _o("child", "c", _R, "rekey by CHILD_SA name"), _o("ike", "i", _R, "rekey by IKE_SA name"),
             _o("child-id", "C", _R, "rekey by CHILD_SA unique identifier"),
             _o("ike-id", "I", _R, "rekey by IKE_SA unique identifier"),
             _o("reauth", "a", _N, "reauthenticate instead of rekey an IKEv2 SA"), RAW, PRETTY), rekey),
    Command("redirect", "d", "redirect an IKE_SA",
            ("--ike <name> | --ike-id <id> | --peer-ip <ip|subnet|range>",
             "--peer-id <id|wildcards> | --gateway <ip|fqdn> [--raw|--pretty]"),
            (HELP, _o("ike", "i", _R, "redirect by IKE_SA name"),
             _o("ike-id", "I", _R, "redirect by IKE_SA unique identifier"),
             _o("peer-ip", "p", _R, "redirect by client IP"), _o("peer-id", "d", _R, "redirect by IKE_SA name"),
             _o("gateway", "g", _R, "target gateway (IP or FQDN)"), RAW, PRETTY), redirect),
    Command("uninstall", "U", "uninstall a trap or shunt policy",
            ("--child <name> [--ike <name>] [--raw|--pretty]",),
            (HELP, _o("child", "c", _R, "CHILD_SA configuration to uninstall"),
             _o("ike", "i", _R, "name of the connection to which the child belongs"), RAW, PRETTY), uninstall),
    Command("install", "p", "install a trap or shunt policy",
            ("--child <name> [--ike <name>] [--raw|--pretty]",),
            (HELP, _o("child", "c", _R, "CHILD_SA configuration to install"),
             _o("ike", "i", _R, "name of the connection to which the child belongs"), RAW, PRETTY), install),
    Command("list-sas", "l", "list currently active IKE_SAs",
            ("[--ike <name>|--ike-id <id>] [--child <name>|--child-id <id>]", "[--raw|--pretty]"),
            (HELP, _o("ike", "i", _R, "filter IKE_SAs by name"),
             _o("ike-id", "I", _R, "filter IKE_SAs by unique identifier"),
             _o("child", "c", _R, "filter CHILD_SAs by name"),
             _o("child-id", "C", _R, "filter CHILD_SAs by unique identifier"),
             _o("noblock", "n", _N, "don't wait for IKE_SAs in use"), RAW, PRETTY, JSON, WATCH), list_sas),
    Command("monitor-sa", "m", "monitor for IKE_SA and CHILD_SA changes", ("[--raw|--pretty]",),
            (HELP, RAW, PRETTY), monitor_sa),
    Command("list-pols", "P", "list currently installed policies",
            ("[--child <name>] [--trap] [--drop] [--pass] [--raw|--pretty]",),
            (HELP, _o("child", "c", _R, "filter policies by CHILD_SA config name"),
             _o("trap", "t", _N, "list trap policies"), _o("drop", "d", _N, "list drop policies"),
             _o("pass", "p", _N, "list bypass policies"), RAW, PRETTY, JSON), list_pols),
    Command("list-authorities", "B", "list loaded authority configurations", ("[--raw|--pretty]",),
            (HELP, _o("name", "n", _R, "filter by authority name"), RAW, PRETTY, JSON), list_authorities),
    Command("list-conns", "L", "list loaded configurations", ("[--ike <name>] [--raw|--pretty]",),
            (HELP, _o("ike", "i", _R, "filter connections by name"), RAW, PRETTY, JSON), list_conns),
    Command("list-certs", "x", "list stored certificates",
            ("[--subject <dn/san>] [--pem]", "[--type x509|x509_ac|x509_crl|ocsp_response|pubkey]",
             "[--flag none|ca|aa|ocsp|any] [--raw|--pretty|--short|--utc]"),
            (HELP, _o("subject", "s", _R, "filter by certificate subject"),
             _o("type", "t", _R, "filter by certificate type"),
             _o("flag", "f", _R, "filter by X.509 certificate flag"),
             _o("pem", "p", _N, "print PEM encoding of certificate"), RAW, PRETTY,
             _o("short", "S", _N, "omit some certificate details"),
             _o("utc", "U", _N, "use UTC for time fields"), JSON), list_certs),
    Command("list-pools", "A", "list loaded pool configurations", ("[--leases] [--raw|--pretty]",),
            (HELP, RAW, PRETTY, _o("leases", "l", _N, "list leases of each pool"),
             _o("name", "n", _R, "filter pools by name"), JSON), list_pools),
    Command("list-algs", "g", "show loaded algorithms", ("[--raw|--pretty]",), (HELP, RAW, PRETTY, JSON), list_algs),
    Command("flush-certs", "f", "flush cached certificates",
            ("[--type x509|x509_ac|x509_crl|ocsp_response|pubkey]", "[--raw|--pretty]"),
            (HELP, _o("type", "t", _R, "filter by certificate type"), RAW, PRETTY), flush_certs),
    Command("load-all", "q", "load credentials, authorities, pools and connections",
            ("[--raw|--pretty] [--clear] [--noprompt]",),
            (HELP, _o("clear", "c", _N, "clear previously loaded credentials"),
             _o("noprompt", "n", _N, "do not prompt for passwords"), RAW, PRETTY, FILE), load_all),
    Command("load-authorities", "b", "(re-)load authority configuration", ("[--raw|--pretty]",),
            (HELP, RAW, PRETTY, FILE), load_authorities),
    Command("load-conns", "c", "(re-)load connection configuration", ("[--raw|--pretty]",),
            (HELP, RAW, PRETTY, FILE), load_conns),
    Command("load-creds", "s", "(re-)load credentials", ("[--raw|--pretty] [--clear] [--noprompt]",),
            (HELP, _o("clear", "c", _N, "clear previously loaded credentials"),
             _o("noprompt", "n", _N, "do not prompt for passwords"), RAW, PRETTY, FILE), load_creds),
    Command("load-pools", "a", "(re-)load pool configuration", ("[--raw|--pretty]",),
            (HELP, RAW, PRETTY, FILE), load_pools),
    Command("log", "T", "trace logging output (levels 0 and 1 only)", ("[--raw|--pretty]",),
            (HELP, RAW, PRETTY), log),
    Command("version", "V", "show version information", ("[--raw|--pretty]",),
            (HELP, _o("daemon", "d", _N, "query daemon version"), RAW, PRETTY, JSON), version),
    Command("stats", "S", "show daemon stats information", ("[--raw|--pretty]",),
            (HELP, RAW, PRETTY, JSON), stats),
    Command("reload-settings", "r", "reload daemon strongswan.conf", ("[--raw|--pretty]",),
            (HELP, RAW, PRETTY), reload_settings),
)
HELP_COMMAND = Command("help", "h", "show usage, version and plugin information", (), ())
COMMANDS = (*COMMANDS, HELP_COMMAND)
