"""vici listens on every URI form charon accepts; the socket file is handled like charon does."""

from __future__ import annotations

import errno
import os
import random
import socket
import stat

import pytest

from tests.shell.conftest import free_port, start_vicid, stop_vicid


def vsock_available() -> str | None:
    try:
        with socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM) as s:
            s.bind((socket.VMADDR_CID_ANY, socket.VMADDR_PORT_ANY))
    except (AttributeError, OSError) as exc:
        return f"AF_VSOCK unavailable here: {exc}"
    return None


def test_vsock_any_cid_binds_and_listens(tmp_path):
    reason = vsock_available()
    if reason:
        pytest.skip(reason)
    port = random.randint(20000, 60000)
    unix = tmp_path / "charon.vici"
    v = start_vicid(tmp_path, [f"unix://{unix}", f"vsock://*:{port}"])
    try:
        # Only bind/listen is checked: never connect an AF_VSOCK socket to any CID. The port is
        # taken if a second bind to it fails with EADDRINUSE.
        with socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM) as probe:
            with pytest.raises(OSError) as err:
                probe.bind((socket.VMADDR_CID_ANY, port))
            assert err.value.errno == errno.EADDRINUSE
        assert f"vici listening on vsock://*:{port}" in v.log
        assert v.session().version()["daemon"] == b"vicid"
    finally:
        stop_vicid(v)


def test_unix_socket_mode_stale_file_and_removal_on_shutdown(tmp_path):
    unix = tmp_path / "charon.vici"
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(unix))  # a leftover socket file from a crashed daemon
    stale.close()
    v = start_vicid(tmp_path)
    try:
        assert stat.S_IMODE(os.stat(unix).st_mode) == 0o660
        assert v.session().version()["daemon"] == b"vicid"
    finally:
        stop_vicid(v)
    assert v.proc.returncode == 0
    assert not unix.exists()
    assert not (tmp_path / "vicid.pid").exists()
    assert "SIGTERM received, shutting down" in v.log


def test_tcp_ipv6_listener(tmp_path):
    port = free_port()
    unix = tmp_path / "charon.vici"
    v = start_vicid(tmp_path, [f"unix://{unix}", f"tcp://[::1]:{port}"])
    try:
        import vici

        s = vici.Session(socket.create_connection(("::1", port), timeout=5))
        assert s.version()["daemon"] == b"vicid"
    finally:
        stop_vicid(v)


def test_sighup_reloads_settings(tmp_path):
    v = start_vicid(tmp_path)
    try:
        v.proc.send_signal(1)
        s = v.session()
        s.reload_settings()
        assert s.version()["daemon"] == b"vicid"
    finally:
        stop_vicid(v)
    assert v.log.count("reloaded settings") == 2
