"""Engine log lines mirrored to stdlib logging, each (group, level) resolved to its logger once."""

from __future__ import annotations

import logging

_LOGGERS = {"IKE": "vicid.ike", "CHD": "vicid.ike.child", "CFG": "vicid.config", "MGR": "vicid.ike.manager",
            "ENC": "vicid.ike.wire", "NET": "vicid.net", "KNL": "vicid.kernel"}
_PY_LEVEL = {0: logging.WARNING, 1: logging.INFO, 2: logging.DEBUG, 3: 5, 4: 5}


# the logger objects themselves: getLogger() takes the logging module's lock on every call
_LOGGER_OF = {group: logging.getLogger(name) for group, name in _LOGGERS.items()}
_IKE_LOGGER = _LOGGER_OF["IKE"]


# (group, charon level) -> (logger, stdlib level), filled as lines come: two lookups in one
LOG_TARGETS: dict[tuple[str, int], tuple[logging.Logger, int]] = {}


def log_target(group: str, level: int) -> tuple[logging.Logger, int]:
    """The logger and stdlib level of a (group, level) line, remembered in ``LOG_TARGETS``."""
    target = LOG_TARGETS[(group, level)] = (_LOGGER_OF.get(group, _IKE_LOGGER),
                                            _PY_LEVEL.get(level, logging.DEBUG))
    return target


def stdlib_logs(group: str, level: int) -> bool:
    """Would stdlib logging take a line of this group and level (the daemon sets the loggers'
    levels to what its handlers write, so nobody's lines are never built)?"""
    logger, pylevel = LOG_TARGETS.get((group, level)) or log_target(group, level)
    return logger.isEnabledFor(pylevel)


def stdlib_log(group: str, level: int, msg: str, ike: tuple[str, int] | None = None) -> None:
    """Mirror an engine log line to stdlib logging (``vicid.log`` maps it to charon's group)."""
    logger, pylevel = LOG_TARGETS.get((group, level)) or log_target(group, level)
    if logger.isEnabledFor(pylevel):
        stdlib_record(logger, pylevel, level, msg, ike)


def stdlib_record(logger: logging.Logger, pylevel: int, level: int, msg: str, ike: tuple[str, int] | None) -> None:
    """Hand one line that ``logger`` takes at ``pylevel`` to its handlers."""
    # the record is made here rather than by logger.log(): that would walk the stack for a
    # source file and line (findCaller) that no vicid handler prints, for every line
    record = logger.makeRecord(logger.name, pylevel, "vicid.ike", 0, "%s", (msg,), None,
                               extra={"charon_level": level, "ike": ike})
    logger.handle(record)
