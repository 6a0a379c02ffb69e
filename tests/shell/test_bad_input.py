"""Bad vici input closes only the offending client; the daemon, other clients and state carry on."""

from __future__ import annotations

import socket
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.shell.test_vici_package import CONN

BAD = [
    pytest.param(struct.pack(">I", 600 * 1024) + b"\x00", id="oversized"),
    pytest.param(struct.pack(">I", 3) + b"\x09ab", id="unknown-packet-type"),
    pytest.param(struct.pack(">I", 1) + b"\x01", id="response-from-client"),
    pytest.param(struct.pack(">I", 7) + b"\x00\x04stats\x02"[:7], id="truncated-name"),
    pytest.param(struct.pack(">I", 9) + b"\x00\x05stats\x01\x01", id="unbalanced-section"),
    pytest.param(struct.pack(">I", 40) + b"\x00\x05stats", id="closed-mid-message"),
    pytest.param(b"\x00\x00\x00\x00", id="empty-segment"),
]


def raw_send(path, data: bytes) -> bytes:
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(5)
        s.connect(str(path))
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
        return b"".join(chunks)


@pytest.mark.parametrize("data", BAD)
def test_malformed_input_closes_only_that_client(vicid, data):
    keeper = vicid.session()
    keeper.load_conn(CONN)
    reply = raw_send(vicid.unix, data)
    assert reply == b""  # rejected without an answer, connection closed by the daemon
    assert keeper.get_conns() == {"conns": [b"gw"]}  # an existing client still works
    other = vicid.session(tcp=True)
    assert other.version()["daemon"] == b"vicid"
    other.transport.close()
    keeper.transport.close()
    assert vicid.alive()
    assert vicid.log.count("sent invalid data") == 1  # logged once


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(min_size=1, max_size=64))
def test_random_bytes_never_hurt_the_daemon(vicid, data):
    try:
        raw_send(vicid.unix, data)
    except OSError:
        pass
    assert vicid.alive()
    s = vicid.session()
    assert s.get_conns() == {"conns": []}
    s.transport.close()
