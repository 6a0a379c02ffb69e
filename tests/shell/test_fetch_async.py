"""The daemon fetches revocation data off its event loop (vicid.daemon.fetch, vicid.ike.fetch).

A real vicid process responds to an IKE_SA set up over loopback UDP by an in-process engine
("carol", IKE only: nothing is installed in the host). carol's certificate names an OCSP
responder on loopback that sleeps 5 s before it answers. While vicid waits for it, its vici
socket keeps answering ``version`` and ``stats`` at once (the half-open IKE_SA is listed), and
carol's retransmitted IKE_AUTH is ignored as in progress; once the responder answers, the
IKE_SA comes up. Then ``run_fetch`` alone: a fetch slower than its timeout is abandoned with
None while the trio loop keeps ticking.
"""

from __future__ import annotations

import datetime
import itertools
import socket
import time
from dataclasses import replace
from ipaddress import ip_address

import pytest
import trio
from cryptography.hazmat.primitives import serialization

from tests.exchange.helpers import child_cfg, of, peer_cfg, registry
from tests.shell.conftest import free_port, start_vicid, stop_vicid
from tests.unit.creds.ocsp_responder import Responder, serve
from tests.unit.creds.pki import ca, issue, keygen, pubkey_auth, store_with
from vicid.creds.manager import CredentialManager
from vicid.daemon.fetch import run_fetch
from vicid.ike.effects import Fetch, IkeUpDown, SendDatagram
from vicid.ike.manager import IkeSaManager
from vicid.ike.rng import DeterministicRng
from vicid.ike.settings import EngineSettings

DELAY = 5.0  # longer than carol's first retransmission timeout (4 s)
REAL = datetime.datetime.now(datetime.UTC)
TIMES = {"not_before": REAL - datetime.timedelta(days=1), "not_after": REAL + datetime.timedelta(days=30)}


def pem(item) -> bytes:
    return item.public_bytes(serialization.Encoding.PEM)


@pytest.fixture
def lab(tmp_path):
    authority = ca("vicid test CA", **TIMES)
    responder = Responder(authority, delay=DELAY)
    responder.now = REAL
    server = serve(responder)
    moon = issue("moon.example.org", keygen("p256"), authority, san=["moon.example.org"], **TIMES)
    carol = issue(
        "carol.example.org", keygen("p256"), authority, san=["carol.example.org"], ocsp_uri=server.url, **TIMES
    )
    ike_port = free_port()
    vicid = start_vicid(tmp_path, ports=(ike_port, free_port()))
    try:
        yield vicid, ike_port, authority, moon, carol, responder
    finally:
        stop_vicid(vicid)
        server.close()


def test_vici_answers_while_an_ocsp_fetch_waits(lab):
    vicid, ike_port, authority, moon, carol, responder = lab
    session = vicid.session()
    session.load_cert({"type": "x509", "flag": "CA", "data": pem(authority.cert)})
    session.load_key({"type": "ecdsa", "data": moon.key_pem()})
    session.load_conn(
        {
            "gw": {
                "version": "2",
                "local_addrs": ["127.0.0.1"],
                "remote_addrs": ["127.0.0.1"],
                "proposals": ["aes256gcm16-sha512-x25519"],
                "local": {"auth": "pubkey", "certs": [pem(moon.cert)], "id": "moon.example.org"},
                "remote": {"auth": "pubkey", "id": "carol.example.org", "revocation": "strict"},
                "children": {"net": {"local_ts": ["198.51.100.0/24"], "remote_ts": ["203.0.113.0/24"]}},
            }
        }
    )
    # carol: the sans-I/O engine on a loopback UDP socket
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    udp.settimeout(0.05)
    me, peer = (ip_address("127.0.0.1"), udp.getsockname()[1]), (ip_address("127.0.0.1"), ike_port)
    carol_peer = replace(
        peer_cfg("gw", "127.0.0.1", "127.0.0.1", None, None, "aes256gcm16-sha512-x25519", [child_cfg()]),
        local_auth=(pubkey_auth("carol.example.org", carol.cfg()),),
        remote_auth=(pubkey_auth("moon.example.org"),),
    )
    store = store_with(authority, carol, keys=(carol.key,))
    manager = IkeSaManager(EngineSettings(), registry(), DeterministicRng("carol"), lambda: [carol_peer], store)
    manager.ctx.credmgr = CredentialManager(store)
    seen: list = []
    start = time.monotonic()

    def pump(until: float) -> None:
        while time.monotonic() < until:
            now = time.monotonic() - start
            deadline = manager.next_deadline()
            if deadline is not None and deadline <= now:
                manager.handle_timer(now)
            for effect in manager.drain():
                seen.append(effect)
                if isinstance(effect, SendDatagram):
                    udp.sendto(effect.data, (str(effect.dst[0]), effect.dst[1]))
            if any(isinstance(e, IkeUpDown) for e in seen):
                return
            try:
                data, src = udp.recvfrom(65536)
            except TimeoutError:
                continue
            manager.receive_datagram(data, (ip_address(src[0]), src[1]), me, time.monotonic() - start)

    manager.initiate(carol_peer, None, me, peer, 0.0)  # IKE only: nothing for the kernel
    pump(time.monotonic() + 1.0)  # IKE_SA_INIT done, IKE_AUTH sent: vicid is fetching now
    assert responder.requests or "requesting ocsp status" in vicid.log, vicid.log[-2000:]
    latencies = []
    while time.monotonic() - start < DELAY - 0.5:
        t0 = time.monotonic()
        assert session.version()["daemon"] == b"vicid"
        stats = session.stats()
        latencies.append(time.monotonic() - t0)
        assert stats["ikesas"] == {"total": b"1", "half-open": b"1"}
        pump(time.monotonic() + 0.2)  # carol retransmits her IKE_AUTH at 4 s meanwhile
    assert not any(isinstance(e, IkeUpDown) for e in seen)
    pump(time.monotonic() + DELAY + 5)
    took = time.monotonic() - start
    assert [e.up for e in of(seen, IkeUpDown)] == [True], vicid.log[-3000:]
    assert took >= DELAY
    assert max(latencies) < 0.5, latencies  # the loop never blocked on the fetch
    log = vicid.log
    assert "certificate status is good" in log and "authentication of 'carol.example.org'" in log
    assert "ignoring request with ID 1, already processing" in log
    assert len(responder.requests) == 1
    print(
        f"vici version+stats during the {DELAY:.0f} s fetch: {len(latencies)} calls, "
        f"max {max(latencies) * 1000:.1f} ms; IKE_SA up after {took:.2f} s"
    )
    udp.close()
    session.transport.close()


def test_run_fetch_abandons_a_fetch_past_its_timeout():
    calls: list[tuple[int, bytes | None]] = []
    ticks: list[float] = []

    def slow(_uri, _data, _ctype, _timeout):
        time.sleep(1.5)
        return b"late"

    async def submit(work):
        work(trio.current_time())

    async def main():
        limiter = trio.CapacityLimiter(2)

        async def ticker():
            while True:
                ticks.append(trio.current_time())
                await trio.sleep(0.05)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(ticker)
            t0 = trio.current_time()
            effect = Fetch(7, "http://ocsp.example.org/", b"req", "application/ocsp-request", 0.5)
            await run_fetch(effect, submit, lambda fid, body, now: calls.append((fid, body)), limiter, slow)
            assert 0.45 <= trio.current_time() - t0 < 1.2
            fast = Fetch(8, "http://ocsp.example.org/", b"req", "application/ocsp-request", 5.0)
            await run_fetch(fast, submit, lambda fid, body, now: calls.append((fid, body)), limiter, slow)
            nursery.cancel_scope.cancel()

    trio.run(main)
    assert calls == [(7, None), (8, b"late")]
    gaps = [b - a for a, b in itertools.pairwise(ticks)]
    assert max(gaps) < 0.3  # the loop kept running while the threads slept
