"""Command line of the `vicid` daemon."""

from __future__ import annotations

import argparse
import os
import sys

import trio

from vicid import STRONGSWAN_VERSION, __version__
from vicid.settings import SettingsError

DEFAULT_CONF = "/etc/strongswan.conf"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="vicid",
        description="IKEv2 daemon driven through strongSwan's vici protocol (swanctl, vici clients).",
    )
    parser.add_argument("--conf", metavar="FILE",
                        help="strongswan.conf to read (default: $STRONGSWAN_CONF, else /etc/strongswan.conf)")
    parser.add_argument("--foreground", action="store_true",
                        help="stay attached to the terminal and also log to stderr")
    parser.add_argument("--pid-file", metavar="FILE", help="write the daemon's PID to FILE")
    parser.add_argument("--version", action="version",
                        version=f"vicid {__version__} (strongSwan {STRONGSWAN_VERSION} compatible)")
    return parser.parse_args(argv)


def conf_path(arg: str | None) -> str:
    return arg or os.environ.get("STRONGSWAN_CONF") or DEFAULT_CONF


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from vicid.daemon.run import Daemon, DaemonOptions

    options = DaemonOptions(conf_path(args.conf), foreground=args.foreground, pid_file=args.pid_file,
                            tune_gc=True)
    try:
        daemon = Daemon(options)
    except SettingsError as exc:
        print(f"vicid: {exc}", file=sys.stderr)
        return 1
    daemon.setup_logging()
    if not args.foreground:
        _detach()
    try:
        trio.run(daemon.run)
    except OSError as exc:
        print(f"vicid: {exc}", file=sys.stderr)
        return 1
    return 0


def _detach() -> None:
    """Classic double fork so the daemon leaves its session; logs go where settings say."""
    if os.fork() > 0:
        os._exit(0)
    os.setsid()
    if os.fork() > 0:
        os._exit(0)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
