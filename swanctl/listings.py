"""Listing commands: --list-sas/-pols/-authorities/-conns/-certs/-pools/-algs, --flush-certs."""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Callable

from . import jsonout, render
from .base import Fmt, dump_msg, emit_json, format_flag, int_arg, read_options, register, request
from .command import Context
from .getopt import EOF
from .message import Message
from .waiting import watch_sas

# -- listings ----------------------------------------------------------------

def _stream(ctx: Context, event: str, what: str, command: str, msg: Message, fmt: Fmt,
            label: str, text: Callable[[Message], tuple[str, int]], fail: str,
            collected: list[Message]) -> int:
    """Register EVENT, send COMMAND, print each event (text, raw or collected for JSON)."""

    def cb(_name: str, ev: Message) -> None:
        if fmt.json:
            collected.append(ev)
        elif fmt.raw:
            dump_msg(ctx, ev, label, fmt)
        else:
            out, ret = text(ev)
            ctx.write(out)
            if ret:
                ctx.err(f"{fail}: {os.strerror(errno.EBADMSG)}\n")
        sys.stdout.flush()

    ret = register(ctx, event, what, cb)
    if ret:
        return ret
    reply = request(ctx, command, msg)
    if isinstance(reply, int):
        return reply
    if fmt.raw and not fmt.json:
        dump_msg(ctx, reply, f"{command} reply", fmt)
    return 0


def list_sas(ctx: Context) -> int:
    fmt, msg = Fmt(), Message()
    ike = child = None
    ike_id = child_id = 0
    noblock = False
    watch: float | None = None
    for op, arg in ctx.options():
        if op == "h":
            return ctx.usage()
        if format_flag(fmt, op):
            continue
        if op == "i":
            ike = arg
        elif op == "I":
            ike_id = int_arg(arg)
        elif op == "c":
            child = arg
        elif op == "C":
            child_id = int_arg(arg)
        elif op == "n":
            noblock = True
        elif op == "w":
            watch = _interval(arg)
            if watch is None:
                return ctx.usage("invalid --watch interval")
        elif op != EOF:
            return ctx.usage("invalid --list-sas option")
    if ike:
        msg.add("ike", ike)
    if ike_id:
        msg.add("ike-id", str(ike_id))
    if child:
        msg.add("child", child)
    if child_id:
        msg.add("child-id", str(child_id))
    if noblock:
        msg.add("noblock", "yes")
    if watch is not None:
        return watch_sas(ctx, msg, fmt, watch)
    events: list[Message] = []
    ret = _stream(ctx, "list-sa", "SAs", "list-sas", msg, fmt, "list-sa event", render.sa_event,
                  "parsing SA event failed", events)
    if ret == 0 and fmt.json:
        emit_json(ctx, jsonout.list_sas(events))
    return ret


def _interval(arg: str | None) -> float | None:
    if arg is None:
        return 2.0
    try:
        value = float(arg)
    except ValueError:
        return None
    return value if value > 0 else None


def list_pols(ctx: Context) -> int:
    fmt, msg = Fmt(), Message()
    opts = read_options(ctx, fmt, "ctdp", "invalid --list-pols option")
    if isinstance(opts, int):
        return opts
    child = opts.get("c")
    trap, drop, pas = "t" in opts, "d" in opts, "p" in opts
    if not (trap or drop or pas):
        trap = drop = pas = True
    if child:
        msg.add("child", child)
    for flag, key in ((trap, "trap"), (drop, "drop"), (pas, "pass")):
        if flag:
            msg.add(key, "yes")
    events: list[Message] = []
    ret = _stream(ctx, "list-policy", "policies", "list-policies", msg, fmt, "list-policy event",
                  render.policy_event, "parsing policy event failed", events)
    if ret == 0 and fmt.json:
        emit_json(ctx, jsonout.list_pols(events))
    return ret


def list_authorities(ctx: Context) -> int:
    fmt, msg = Fmt(), Message()
    opts = read_options(ctx, fmt, "n", "invalid --list-authorities option")
    if isinstance(opts, int):
        return opts
    name = opts.get("n")
    if name:
        msg.add("name", name)
    events: list[Message] = []
    ret = _stream(ctx, "list-authority", "authorities", "list-authorities", msg, fmt,
                  "list-authorities event", render.authority_event, "parsing authority event failed", events)
    if ret == 0 and fmt.json:
        emit_json(ctx, jsonout.list_authorities(events))
    return ret


def list_conns(ctx: Context) -> int:
    fmt, msg = Fmt(), Message()
    opts = read_options(ctx, fmt, "i", "invalid --list-conns option")
    if isinstance(opts, int):
        return opts
    ike = opts.get("i")
    if ike:
        msg.add("ike", ike)
    events: list[Message] = []
    ret = _stream(ctx, "list-conn", "connections", "list-conns", msg, fmt, "list-conn event",
                  render.conn_event, "parsing conn event failed", events)
    if ret == 0 and fmt.json:
        emit_json(ctx, jsonout.list_conns(events))
    return ret


def list_certs(ctx: Context) -> int:
    from . import certs

    fmt, msg = Fmt(), Message()
    opts = read_options(ctx, fmt, "stfpSU", "invalid --list-certs option")
    if isinstance(opts, int):
        return opts
    subject, ctype, flag = opts.get("s"), opts.get("t"), opts.get("f")
    fmt.pem = fmt.pem or "p" in opts
    detailed, utc = "S" not in opts, "U" in opts
    if ctype:
        msg.add("type", ctype)
    if flag:
        msg.add("flag", flag)
    if subject:
        msg.add("subject", subject)
    printer = certs.Printer(detailed, utc)
    collected: list[dict] = []

    def cb(_name: str, ev: Message) -> None:
        if fmt.json:
            item = jsonout.cert(ev, ctx.err)
            if item is not None:
                collected.append(item)
        elif fmt.raw:
            dump_msg(ctx, ev, "list-cert event", fmt)
        else:
            ctx.write(printer.event(ev, fmt.pem, ctx.err))
        sys.stdout.flush()

    ret = register(ctx, "list-cert", "certificates", cb)
    if ret:
        return ret
    reply = request(ctx, "list-certs", msg)
    if isinstance(reply, int):
        return reply
    if fmt.json:
        emit_json(ctx, jsonout.list_certs(collected))
    elif fmt.raw:
        dump_msg(ctx, reply, "list-certs reply", fmt)
    return 0


def list_pools(ctx: Context) -> int:
    fmt, msg = Fmt(), Message()
    opts = read_options(ctx, fmt, "ln", "invalid --list-pools option")
    if isinstance(opts, int):
        return opts
    leases, name = "l" in opts, opts.get("n")
    if leases:
        msg.add("leases", "yes")
    if name:
        msg.add("name", name)
    reply = request(ctx, "get-pools", msg)
    if isinstance(reply, int):
        return reply
    if fmt.json:
        emit_json(ctx, jsonout.list_pools(reply))
        return 0
    if fmt.raw:
        dump_msg(ctx, reply, "get-pools reply", fmt)
        return 0
    out, ret = render.pools_reply(reply)
    ctx.write(out)
    return ret


def list_algs(ctx: Context) -> int:
    fmt = Fmt()
    for op, _arg in ctx.options():
        if op == "h":
            return ctx.usage()
        if format_flag(fmt, op):
            continue
        if op != EOF:
            return ctx.usage("invalid --list-algs option")
    reply = request(ctx, "get-algorithms")
    if isinstance(reply, int):
        return reply
    if fmt.json:
        emit_json(ctx, jsonout.list_algs(reply))
    elif fmt.raw:
        dump_msg(ctx, reply, "get-algorithms reply", fmt)
    else:
        out, ret = render.algs_reply(reply)
        ctx.write(out)
        if ret:
            ctx.err(f"parsing get-algorithms reply failed: {os.strerror(errno.EBADMSG)}\n")
    return 0


def flush_certs(ctx: Context) -> int:
    fmt, msg = Fmt(), Message()
    opts = read_options(ctx, fmt, "t", "invalid --flush-certs option")
    if isinstance(opts, int):
        return opts
    ctype = opts.get("t")
    if ctype:
        msg.add("type", ctype)
    reply = request(ctx, "flush-certs", msg)
    if isinstance(reply, int):
        return reply
    if fmt.raw:
        dump_msg(ctx, reply, "flush-certs reply", fmt)
    return 0
