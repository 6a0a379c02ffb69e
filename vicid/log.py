"""Logging as charon does it: subsystem groups, levels -1..4, filelog/syslog from strongswan.conf.

vicid code logs through the standard ``logging`` module under ``vicid.*`` loggers; this module maps
logger names to charon's groups (``CFG``, ``IKE``, ...) and logging levels to charon's levels,
then writes lines in charon's file-logger formats (plain or 6.0's ``json = yes``) and feeds the
vici ``log`` event. Level 4 ("sensitive") is never produced: vicid does not log key material.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, TextIO

GROUPS = ("DMN", "MGR", "IKE", "CHD", "JOB", "CFG", "KNL", "NET", "ASN", "ENC", "TNC", "IMC", "IMV",
          "PTS", "TLS", "APP", "ESP", "LIB")

# logger name prefix -> charon group; the longest prefix wins
_GROUP_OF = {
    "vicid": "DMN", "vicid.daemon": "DMN", "vicid.vici": "CFG", "vicid.config": "CFG",
    "vicid.creds": "CFG", "vicid.ke": "LIB", "vicid.settings": "LIB", "vicid.ike": "IKE",
    "vicid.ike.child": "CHD", "vicid.ike.wire": "ENC", "vicid.ike.manager": "MGR",
    "vicid.kernel": "KNL", "vicid.net": "NET", "vicid.datapath": "ESP", "vicid.job": "JOB",
}


@lru_cache(maxsize=256)  # a few dozen logger names, asked once per record and handler
def group_of(logger_name: str) -> str:
    parts = logger_name.split(".")
    for n in range(len(parts), 0, -1):
        group = _GROUP_OF.get(".".join(parts[:n]))
        if group:
            return group
    return "APP"


def charon_level(record: logging.LogRecord) -> int:
    """charon level of a record: 0 audit (warnings/errors), 1 control, 2 detail, 3 raw."""
    explicit = getattr(record, "charon_level", None)
    if explicit is not None:
        return int(explicit)
    if record.levelno >= logging.WARNING:
        return 0
    if record.levelno >= logging.INFO:
        return 1
    if record.levelno >= logging.DEBUG:
        return 2
    return 3


@dataclass
class LoggerOptions:
    """One filelog/syslog target as strongswan.conf configures it."""

    default: int = 1
    levels: dict[str, int] = field(default_factory=dict)
    time_format: str | None = None
    time_precision: str | None = None  # "ms" or "us"
    ike_name: bool = False
    log_level: bool = False
    json: bool = False

    def enabled(self, group: str, level: int) -> bool:
        return level <= self.levels.get(group, self.default)


def format_line(opts: LoggerOptions, group: str, level: int, msg: str, *, thread: int = 0,
                now: float | None = None, ike: tuple[str, int] | None = None) -> str:
    """One log entry in charon's file-logger layout (possibly several lines)."""
    stamp = _timestamp(opts, time.time() if now is None else now)
    ike_text = ""
    if opts.ike_name and ike:
        ike_text = f" <{ike[0]}|{ike[1]}>" if ike[0] else f" <{ike[1]}>"
    if opts.json:
        entry: dict[str, Any] = {}
        if stamp is not None:
            entry["time"] = stamp
        entry.update(thread=thread, group=group, level=level)
        if opts.ike_name and ike:
            entry["ikesa-uniqueid"] = str(ike[1])
            if ike[0]:
                entry["ikesa-name"] = ike[0]
        entry["msg"] = msg
        return json.dumps(entry, separators=(",", ":"), ensure_ascii=False) + "\n"
    label = f"{group}{level}" if opts.log_level else group
    prefix = f"{thread:02d}[{label}]{ike_text} "
    if stamp is not None:
        prefix = f"{stamp} {prefix}"
    return "".join(f"{prefix}{line}\n" for line in msg.split("\n"))


def _timestamp(opts: LoggerOptions, now: float) -> str | None:
    if not opts.time_format:
        return None
    text = time.strftime(opts.time_format, time.localtime(now))
    frac = now - int(now)
    if opts.time_precision == "us":
        text += f".{int(frac * 1_000_000):06d}"
    elif opts.time_precision == "ms":
        text += f".{int(frac * 1000):03d}"
    return text


class CharonHandler(logging.Handler):
    """A logging handler writing charon-format lines to a stream, filtered per group."""

    def __init__(self, opts: LoggerOptions, stream: TextIO, flush_line: bool = True) -> None:
        super().__init__(logging.NOTSET)
        self.opts, self.stream, self.flush_line = opts, stream, flush_line
        self._lock = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        group, level = group_of(record.name), charon_level(record)
        if not self.opts.enabled(group, level):
            return
        try:
            line = format_line(self.opts, group, level, _message(record), now=record.created,
                               ike=getattr(record, "ike", None))
            with self._lock:
                self.stream.write(line)
                if self.flush_line:
                    self.stream.flush()
        except Exception:
            self.handleError(record)


class CallbackHandler(logging.Handler):
    """Hands records at level <= max_level to a callback (the vici ``log`` event)."""

    def __init__(self, callback: Callable[[str, int, str, logging.LogRecord], None], max_level: int = 1,
                 active: Callable[[], bool] = lambda: True):
        super().__init__(logging.NOTSET)
        self.callback, self.max_level = callback, max_level
        self.active = active  # is anyone there to call back (e.g. a vici client registered for `log`)?

    def emit(self, record: logging.LogRecord) -> None:
        level = charon_level(record)
        if level > self.max_level:
            return
        try:
            self.callback(group_of(record.name), level, _message(record), record)
        except Exception:
            self.handleError(record)


def _message(record: logging.LogRecord) -> str:
    msg = record.getMessage()
    if record.exc_info and record.levelno >= logging.ERROR:
        msg += "\n" + logging.Formatter().formatException(record.exc_info)
    return msg


def _options(settings: Any, base: str) -> LoggerOptions:
    default = settings.get_int(f"{base}.default", 1)
    levels = {}
    for group in GROUPS:
        value = settings.get(f"{base}.{group.lower()}")
        if value is not None:
            levels[group] = settings.get_int(f"{base}.{group.lower()}", default)
    precision = settings.get(f"{base}.time_precision")
    if precision is None and settings.get_bool(f"{base}.time_add_ms", False):
        precision = "ms"
    return LoggerOptions(
        default=default, levels=levels, time_format=settings.get(f"{base}.time_format"),
        time_precision=precision, ike_name=settings.get_bool(f"{base}.ike_name", False),
        log_level=settings.get_bool(f"{base}.log_level", False),
        json=settings.get_bool(f"{base}.json", False),
    )


_SYSLOG_FACILITIES = {
    "daemon": logging.handlers.SysLogHandler.LOG_DAEMON,
    "auth": logging.handlers.SysLogHandler.LOG_AUTH,
    "authpriv": logging.handlers.SysLogHandler.LOG_AUTHPRIV,
    **{f"local{i}": getattr(logging.handlers.SysLogHandler, f"LOG_LOCAL{i}") for i in range(8)},
}


class _SyslogHandler(CharonHandler):
    """syslog target: charon's line without time stamp, one syslog message per line."""

    def __init__(self, opts: LoggerOptions, facility: int) -> None:
        super().__init__(opts, sys.stderr)
        self.syslog = logging.handlers.SysLogHandler(address="/dev/log", facility=facility)

    def emit(self, record: logging.LogRecord) -> None:
        group, level = group_of(record.name), charon_level(record)
        if not self.opts.enabled(group, level):
            return
        opts = LoggerOptions(**{**self.opts.__dict__, "time_format": None})
        for line in format_line(opts, group, level, _message(record)).splitlines():
            rec = logging.makeLogRecord({"msg": "charon: " + line, "levelno": logging.INFO})
            self.syslog.emit(rec)


def configure(settings: Any, ns: str = "charon", foreground: bool = False) -> list[logging.Handler]:
    """Install handlers for ``<ns>.filelog.*`` and ``<ns>.syslog.*``; stderr when none is set.

    Returns the installed handlers so a settings reload can replace them.
    """
    root = logging.getLogger("vicid")
    root.setLevel(5)  # filtering happens per handler with charon's per-group levels
    # no charon log format shows a thread name, PID or process name: records skip looking them up
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    root.propagate = False
    handlers: list[logging.Handler] = []
    for name in settings.sections(f"{ns}.filelog"):
        base = f"{ns}.filelog.{name}"
        path = settings.get(f"{base}.path", name)
        opts = _options(settings, base)
        if path in ("stdout", "stderr"):
            stream: TextIO = sys.stdout if path == "stdout" else sys.stderr
        else:
            mode = "a" if settings.get_bool(f"{base}.append", True) else "w"
            stream = open(path, mode, encoding="utf-8")  # closed by install() on reload
        handlers.append(CharonHandler(opts, stream, settings.get_bool(f"{base}.flush_line", False)))
    for name in settings.sections(f"{ns}.syslog"):
        if name in _SYSLOG_FACILITIES:
            try:
                handlers.append(_SyslogHandler(_options(settings, f"{ns}.syslog.{name}"),
                                               _SYSLOG_FACILITIES[name]))
            except OSError:
                pass  # no syslog socket (containers): other targets still log
    if not handlers or foreground:
        if not any(getattr(h, "stream", None) is sys.stderr for h in handlers):
            handlers.append(CharonHandler(LoggerOptions(), sys.stderr))
    return handlers


_PY_LEVEL = {-1: logging.CRITICAL + 1, 0: logging.WARNING, 1: logging.INFO, 2: logging.DEBUG, 3: 5, 4: 5}


def handler_level(handler: logging.Handler, group: str) -> int:
    """The most verbose charon level HANDLER writes for GROUP (4 for handlers it does not know)."""
    if isinstance(handler, CharonHandler):
        return handler.opts.levels.get(group, handler.opts.default)
    if isinstance(handler, CallbackHandler):
        return handler.max_level if handler.active() else -1
    return 4


def apply_levels(handlers: list[logging.Handler]) -> None:
    """Set each group's logger to the most verbose level any of HANDLERS takes, so that a line
    nobody writes is dropped by ``isEnabledFor`` before a record is built (charon's bus asks its
    loggers' levels the same way). Only the daemon calls this: it changes global logger state."""
    for prefix, group in _GROUP_OF.items():
        level = max((handler_level(h, group) for h in handlers), default=-1)
        logging.getLogger(prefix).setLevel(_PY_LEVEL[max(-1, min(level, 4))])


def install(handlers: list[logging.Handler], keep: list[logging.Handler] | None = None) -> None:
    """Replace vicid's logging handlers (closing file streams we opened)."""
    root = logging.getLogger("vicid")
    for old in list(root.handlers):
        if keep and old in keep:
            continue
        root.removeHandler(old)
        stream = getattr(old, "stream", None)
        if stream not in (None, sys.stdout, sys.stderr):
            stream.close()
    for handler in handlers:
        root.addHandler(handler)
