"""What every command shares: output formats, requests with swanctl's error texts."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from .client import ViciError
from .command import Context, atoi
from .getopt import EOF
from .message import Message, dump


@dataclass
class Fmt:
    raw: bool = False
    pretty: bool = False
    json: bool = False
    pem: bool = False


def format_flag(fmt: Fmt, op: str | int) -> bool:
    """The --raw/--pretty cases shared by all commands (pretty implies raw)."""
    if op == "P":
        fmt.pretty = fmt.raw = True
    elif op == "r":
        fmt.raw = True
    elif op == "j":
        fmt.json = True
    else:
        return False
    return True


def read_options(ctx: Context, fmt: Fmt, own: str, invalid: str) -> dict[str, str | None] | int:
    """The option loop of a command (command_getopt() until EOF): --help prints the usage,
    --raw/--pretty/--json set ``fmt``, the command's own options (the letters in ``own``) come
    back as {letter: last argument, None for a flag}; anything else prints usage with ``invalid``.
    An int is the exit code to return at once."""
    found: dict[str, str | None] = {}
    for op, arg in ctx.options():
        if op == "h":
            return ctx.usage()
        if op == EOF:
            break
        if format_flag(fmt, op):
            continue
        if isinstance(op, str) and op in own:
            found[op] = arg
            continue
        return ctx.usage(invalid)
    return found


def request(ctx: Context, name: str, msg: Message | None = None) -> Message | int:
    """vici_submit(); on failure print "<name> request failed" and return errno."""
    assert ctx.conn is not None
    try:
        return ctx.conn.request(name, msg)
    except ViciError as e:
        ctx.err(f"{name} request failed: {e.strerror}\n")
        return e.errno or 1


def register(ctx: Context, event: str, what: str, cb: Callable[[str, Message], None]) -> int:
    assert ctx.conn is not None
    try:
        ctx.conn.register(event, cb)
    except ViciError as e:
        ctx.err(f"registering for {what} failed: {e.strerror}\n")
        return e.errno or 1
    return 0


def dump_msg(ctx: Context, msg: Message, label: str, fmt: Fmt) -> None:
    ctx.write(dump(msg, label, fmt.pretty))


def emit_json(ctx: Context, doc: object) -> None:
    ctx.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")


def succeeded(reply: Message) -> bool:
    return reply.find_str("success", "no") == "yes"


def int_arg(arg: str | None) -> int:
    return atoi(arg or "")
