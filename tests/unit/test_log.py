"""charon-style logging: line formats (plain and json), levels per group, settings."""

from __future__ import annotations

import io
import json
import logging
import time

from vicid import log as vlog
from vicid.settings import Settings, parse_text

NOW = time.mktime((2026, 11, 24, 13, 5, 7, 0, 0, -1)) + 0.123456


def test_plain_line_with_time_precision_ike_name_and_level():
    opts = vlog.LoggerOptions(time_format="%b %e %T", time_precision="ms", ike_name=True, log_level=True)
    line = vlog.format_line(opts, "IKE", 1, "first\nsecond", thread=3, now=NOW, ike=("pq", 7))
    assert line == ("Nov 24 13:05:07.123 03[IKE1] <pq|7> first\n"
                    "Nov 24 13:05:07.123 03[IKE1] <pq|7> second\n")


def test_plain_line_without_time_or_name():
    assert vlog.format_line(vlog.LoggerOptions(), "CFG", 2, "x", now=NOW) == "00[CFG] x\n"
    opts = vlog.LoggerOptions(time_format="%T", time_precision="us")
    assert vlog.format_line(opts, "CFG", 2, "x", now=NOW).startswith("13:05:07.123456 00[CFG] x")


def test_json_line_as_charon_6():
    opts = vlog.LoggerOptions(time_format="%T", ike_name=True, json=True)
    line = vlog.format_line(opts, "IKE", 1, 'a "quoted"\nline', now=NOW, ike=("pq", 2))
    assert line.endswith("\n")
    assert json.loads(line) == {"time": "13:05:07", "thread": 0, "group": "IKE", "level": 1,
                                "ikesa-uniqueid": "2", "ikesa-name": "pq", "msg": 'a "quoted"\nline'}
    assert list(json.loads(line)) == ["time", "thread", "group", "level", "ikesa-uniqueid", "ikesa-name", "msg"]


def test_group_levels_filter_records():
    stream = io.StringIO()
    opts = vlog.LoggerOptions(default=0, levels={"CFG": 2})
    handler = vlog.CharonHandler(opts, stream)
    logger = logging.getLogger("vicid.config.test")
    other = logging.getLogger("vicid.ike.test")
    for lg in (logger, other):
        lg.addHandler(handler)
        lg.setLevel(1)
    try:
        logger.debug("cfg detail")  # CFG level 2: shown
        other.info("ike control")  # IKE level 1 > default 0: hidden
        other.warning("ike audit")  # level 0: shown
    finally:
        for lg in (logger, other):
            lg.removeHandler(handler)
    assert stream.getvalue() == "00[CFG] cfg detail\n00[IKE] ike audit\n"


def test_configure_reads_filelog_sections(tmp_path):
    path = tmp_path / "vicid.log"
    settings = Settings(parse_text(
        f"charon {{ filelog {{ f {{ path = {path}\n default = 1\n ike = 2\n json = yes\n"
        " flush_line = yes\n append = no } } }\n"))
    handlers = vlog.configure(settings)
    assert len(handlers) == 1 and handlers[0].opts.json and handlers[0].opts.levels == {"IKE": 2}
    vlog.install(handlers)
    try:
        logging.getLogger("vicid.ike").debug("hello")
    finally:
        vlog.install([])
    assert json.loads(path.read_text())["msg"] == "hello"


def test_group_mapping():
    assert vlog.group_of("vicid.vici.server") == "CFG"
    assert vlog.group_of("vicid.ike.wire.sk") == "ENC"
    assert vlog.group_of("vicid.ke") == "LIB"
    assert vlog.group_of("elsewhere") == "APP"
