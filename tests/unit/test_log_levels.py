"""The daemon sets each group's logger to what its handlers write, so unwritten lines are dropped
before a record is built; the vici ``log`` event's handler counts only while someone listens."""

from __future__ import annotations

import io
import logging

import pytest

from vicid import log as vlog
from vicid.ike.log_mirror import stdlib_log, stdlib_logs


@pytest.fixture
def restore_levels():
    loggers = [logging.getLogger(name) for name in vlog._GROUP_OF]
    saved = [lg.level for lg in loggers]
    yield
    for lg, level in zip(loggers, saved, strict=True):
        lg.setLevel(level)


def test_logger_levels_follow_the_most_verbose_handler(restore_levels):
    listening = []
    file = vlog.CharonHandler(vlog.LoggerOptions(default=0, levels={"CFG": 2}), io.StringIO())
    silent = vlog.CharonHandler(vlog.LoggerOptions(default=-1), io.StringIO())
    vici = vlog.CallbackHandler(lambda *a: None, max_level=1, active=lambda: bool(listening))
    vlog.apply_levels([file, silent, vici])
    assert logging.getLogger("vicid.ike").level == logging.WARNING
    assert logging.getLogger("vicid.config").level == logging.DEBUG
    assert not stdlib_logs("IKE", 1) and stdlib_logs("IKE", 0) and stdlib_logs("CFG", 2)
    listening.append("client")  # a vici client registered for `log`: level 1 everywhere
    vlog.apply_levels([file, silent, vici])
    assert logging.getLogger("vicid.ike").level == logging.INFO
    assert stdlib_logs("IKE", 1) and not stdlib_logs("IKE", 2)
    vlog.apply_levels([vlog.CharonHandler(vlog.LoggerOptions(default=-1), io.StringIO())])
    assert not stdlib_logs("IKE", 0)
    vlog.apply_levels([logging.NullHandler()])  # a handler of unknown kind takes everything
    assert stdlib_logs("ENC", 4)


def test_written_lines_are_unchanged(restore_levels):
    stream = io.StringIO()
    handler = vlog.CharonHandler(vlog.LoggerOptions(default=1, levels={"ENC": -1}), stream)
    root = logging.getLogger("vicid")
    root.addHandler(handler)
    try:
        vlog.apply_levels([handler])
        stdlib_log("IKE", 1, "control line", ("net", 1))
        stdlib_log("IKE", 2, "detail line", ("net", 1))
        stdlib_log("ENC", 0, "encoder line", ("net", 1))
    finally:
        root.removeHandler(handler)
    assert stream.getvalue() == "00[IKE] control line\n"
