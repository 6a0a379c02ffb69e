"""Commands that wait for events: --monitor-sa, --log, and --list-sas --watch."""

from __future__ import annotations

import errno
import json
import os
import signal
import sys
import time

from . import jsonout, render
from .base import Fmt, dump_msg, format_flag, register, request
from .client import Connection, ViciError
from .command import Context
from .getopt import EOF
from .message import Message


def watch_sas(ctx: Context, msg: Message, fmt: Fmt, interval: float) -> int:
    """--watch: list again every INTERVAL seconds and whenever an SA comes, goes or rekeys.

    A second connection carries the updown/rekey events so that listing and
    waiting never interleave on one socket.  Each round prints one snapshot
    (text, raw, or one JSON document per line); on a terminal the screen is
    cleared first.  Ends on SIGINT/SIGTERM.
    """
    assert ctx.conn is not None
    try:
        notify = Connection.connect(ctx.conn.uri)
    except ViciError as e:
        ctx.err(f"connecting to '{ctx.conn.uri}' failed: {e.strerror}\n")
        return e.errno or 1
    changed = [False]
    for event in ("ike-updown", "child-updown", "ike-rekey", "child-rekey"):
        ret = register(_with_conn(ctx, notify), event, "SA events", lambda *_: changed.__setitem__(0, True))
        if ret:
            notify.close()
            return ret
    events: list[Message] = []
    ret = register(ctx, "list-sa", "SAs", lambda _name, ev: events.append(ev))  # once: no duplicates
    if ret:
        notify.close()
        return ret
    stop = _SigintFlag()
    tty = sys.stdout.isatty()
    try:
        while not stop.raised:
            events.clear()
            reply = request(ctx, "list-sas", msg)
            if isinstance(reply, int):
                return reply
            if fmt.json:
                doc = jsonout.list_sas(events)
                doc["time"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
                ctx.write(json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n")
            else:
                if tty:
                    ctx.write("\x1b[H\x1b[2J")
                for ev in events:
                    if fmt.raw:
                        dump_msg(ctx, ev, "list-sa event", fmt)
                    else:
                        text, failed = render.sa_event(ev)
                        ctx.write(text)
                        if failed:
                            ctx.err(f"parsing SA event failed: {os.strerror(errno.EBADMSG)}\n")
                if fmt.raw:
                    dump_msg(ctx, reply, "list-sas reply", fmt)
                if not tty:
                    ctx.write("\n")
            sys.stdout.flush()
            changed[0] = False
            deadline = time.monotonic() + interval
            while not stop.raised and not changed[0]:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                try:
                    notify.poll_event(min(left, 0.2))
                except ViciError:
                    ctx.err("connection closed\n")
                    return errno.ECONNRESET
    finally:
        stop.restore()
        notify.close()
    return 0


def _with_conn(ctx: Context, conn: Connection) -> Context:
    return Context(ctx.command, ctx.getopt, conn, ctx.strongswan, ctx.swanctl_dir, ctx.debug, ctx.commands)


class _SigintFlag:
    """SIGINT/SIGTERM set a flag instead of raising (wait_sigint())."""

    def __init__(self) -> None:
        self.raised = False
        self._old = {s: signal.signal(s, self._handler) for s in (signal.SIGINT, signal.SIGTERM)}

    def _handler(self, _sig: int, _frame: object) -> None:
        self.raised = True

    def restore(self) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)


def _wait_events(ctx: Context, keep_waiting_when_closed: bool) -> bool:
    """Dispatch events until SIGINT/SIGTERM (True) or, unless told to keep waiting, a close (False)."""
    assert ctx.conn is not None
    stop = _SigintFlag()
    closed = False
    try:
        while not stop.raised:
            if closed:
                time.sleep(0.1)  # like wait_sigint(): only a signal ends the wait
                continue
            try:
                ctx.conn.poll_event(0.2)
            except ViciError:
                if stop.raised:
                    break
                if not keep_waiting_when_closed:
                    return False
                closed = True
    finally:
        stop.restore()
    return True


def monitor_sa(ctx: Context) -> int:
    fmt = Fmt()
    for op, _arg in ctx.options():
        if op == "h":
            return ctx.usage()
        if op in ("P", "r"):
            format_flag(fmt, op)
        elif op != EOF:
            return ctx.usage("invalid --monitor-sa option")

    def cb(_name: str, ev: Message) -> None:
        if fmt.raw:
            dump_msg(ctx, ev, f"{_name} event", fmt)
        else:
            out, ret = render.sa_event(ev)
            ctx.write(out)
            if ret:
                ctx.err(f"parsing SA event failed: {os.strerror(errno.EBADMSG)}\n")
        sys.stdout.flush()

    for event, what in (("ike-updown", "IKE_SAs"), ("child-updown", "CHILD_SAs")):
        ret = register(ctx, event, what, cb)
        if ret:
            return ret

    if not _wait_events(ctx, False):
        ctx.err("connection closed\n")
        return errno.ECONNRESET
    ctx.err("disconnecting...\n")
    return 0


def log(ctx: Context) -> int:
    fmt = Fmt()
    for op, _arg in ctx.options():
        if op == "h":
            return ctx.usage()
        if op in ("P", "r"):
            format_flag(fmt, op)
        elif op != EOF:
            return ctx.usage("invalid --log option")

    def cb(_name: str, ev: Message) -> None:
        if fmt.raw:
            dump_msg(ctx, ev, "log", fmt)
        else:
            ctx.write(render.log_event(ev))
        sys.stdout.flush()

    ret = register(ctx, "log", "log", cb)
    if ret:
        return ret

    # swanctl --log has no close handler: it keeps waiting for a signal
    _wait_events(ctx, True)
    ctx.err("disconnecting...\n")
    return 0
