"""Control commands: --initiate, --terminate, --rekey, --redirect, --install, --uninstall."""

from __future__ import annotations

import sys
from collections.abc import Callable

from . import render
from .base import Fmt, dump_msg, int_arg, read_options, register, request, succeeded
from .command import Context
from .getopt import EOF
from .message import Message

# -- control: initiate, terminate, rekey, redirect, install, uninstall --------

def _control_log(ctx: Context, fmt: Fmt) -> Callable[[str, Message], None]:
    def cb(_name: str, msg: Message) -> None:
        if fmt.raw:
            dump_msg(ctx, msg, "log", fmt)
        else:
            ctx.write(render.control_log(msg))
        sys.stdout.flush()

    return cb


def _result(ctx: Context, reply: Message, label: str, fmt: Fmt) -> int:
    if fmt.raw:
        dump_msg(ctx, reply, f"{label} reply", fmt)
        return 0
    if succeeded(reply):
        ctx.write(f"{label} completed successfully\n")
        return 0
    ctx.err(f"{label} failed: {reply.find_str('errmsg', '')}\n")
    return 1


def initiate(ctx: Context) -> int:
    fmt, msg = Fmt(), Message()
    opts = read_options(ctx, fmt, "citl", "invalid --initiate option")
    if isinstance(opts, int):
        return opts
    child, ike = opts.get("c"), opts.get("i")
    timeout, level = int_arg(opts.get("t")), int_arg(opts.get("l", "1"))
    ret = register(ctx, "control-log", "log", _control_log(ctx, fmt))
    if ret:
        return ret
    if child:
        msg.add("child", child)
    if ike:
        msg.add("ike", ike)
    if timeout:
        msg.add("timeout", str(timeout * 1000))
    msg.add("loglevel", str(level))
    reply = request(ctx, "initiate", msg)
    if isinstance(reply, int):
        return reply
    return _result(ctx, reply, "initiate", fmt)


def terminate(ctx: Context) -> int:
    fmt, msg = Fmt(), Message()
    opts = read_options(ctx, fmt, "cfiCItl", "invalid --terminate option")
    if isinstance(opts, int):
        return opts
    child, ike, force = opts.get("c"), opts.get("i"), "f" in opts
    child_id, ike_id = int_arg(opts.get("C")), int_arg(opts.get("I"))
    timeout, level = int_arg(opts.get("t")), int_arg(opts.get("l", "1"))
    ret = register(ctx, "control-log", "log", _control_log(ctx, fmt))
    if ret:
        return ret
    if child:
        msg.add("child", child)
    if ike:
        msg.add("ike", ike)
    if child_id:
        msg.add("child-id", str(child_id))
    if ike_id:
        msg.add("ike-id", str(ike_id))
    if force:
        msg.add("force", "yes")
    if timeout:
        msg.add("timeout", str(timeout * 1000))
    msg.add("loglevel", str(level))
    reply = request(ctx, "terminate", msg)
    if isinstance(reply, int):
        return reply
    return _result(ctx, reply, "terminate", fmt)


def rekey(ctx: Context) -> int:
    fmt, msg = Fmt(), Message()
    opts = read_options(ctx, fmt, "ciCIa", "invalid --rekey option")
    if isinstance(opts, int):
        return opts
    child, ike, reauth = opts.get("c"), opts.get("i"), "a" in opts
    child_id, ike_id = int_arg(opts.get("C")), int_arg(opts.get("I"))
    if child:
        msg.add("child", child)
    if ike:
        msg.add("ike", ike)
    if child_id:
        msg.add("child-id", str(child_id))
    if ike_id:
        msg.add("ike-id", str(ike_id))
    if reauth:
        msg.add("reauth", "yes")
    reply = request(ctx, "rekey", msg)
    if isinstance(reply, int):
        return reply
    return _result(ctx, reply, "rekey", fmt)


def redirect(ctx: Context) -> int:
    fmt, msg = Fmt(), Message()
    opts = read_options(ctx, fmt, "iIpdg", "invalid --redirect option")
    if isinstance(opts, int):
        return opts
    values = {"ike": opts.get("i"), "peer-ip": opts.get("p"), "peer-id": opts.get("d"), "gateway": opts.get("g")}
    ike_id = int_arg(opts.get("I"))
    if values["ike"]:
        msg.add("ike", values["ike"])
    if ike_id:
        msg.add("ike-id", str(ike_id))
    for key in ("peer-ip", "peer-id", "gateway"):
        if values[key]:
            msg.add(key, values[key] or "")
    reply = request(ctx, "redirect", msg)
    if isinstance(reply, int):
        return reply
    return _result(ctx, reply, "redirect", fmt)


def _manage_policy(ctx: Context, label: str) -> int:
    fmt, msg = Fmt(), Message()
    child = ike = None
    for op, arg in ctx.options():
        if op == "h":
            return ctx.usage()
        # swanctl swaps the flags here: -r alone prints the normal text
        if op == "P":
            fmt.raw = fmt.pretty = True
        elif op == "r":
            fmt.pretty = True
        elif op == "c":
            child = arg
        elif op == "i":
            ike = arg
        elif op != EOF:
            return ctx.usage(f"invalid --{label} option")
    if child:
        msg.add("child", child)
    if ike:
        msg.add("ike", ike)
    reply = request(ctx, label, msg)
    if isinstance(reply, int):
        return reply
    if fmt.raw:
        ctx.write(label + "\n")
        dump_msg(ctx, reply, " reply", fmt)
        return 0
    return _result(ctx, reply, label, fmt)


def install(ctx: Context) -> int:
    return _manage_policy(ctx, "install")


def uninstall(ctx: Context) -> int:
    return _manage_policy(ctx, "uninstall")
