"""One end of the namespace tunnel test: vicid's userspace datapath with hand-installed SAs.

    ip netns exec NS python -m tests.unit.datapath.tunnel_peer carol|moon

Opens a TUN device, binds UDP 4500, installs the same SAs/policies the engine would (fixed test
keys, AES-GCM-16), prints "ready", forwards until SIGTERM, then prints its counters as JSON.
"""

from __future__ import annotations

import json
import signal
import sys
from ipaddress import ip_address

import trio

from vicid.datapath.port import LibipsecPort
from vicid.ike.effects import Direction, InstallChildSa, InstallPolicy, SaKeys
from vicid.ike.ts import parse_ts
from vicid.kernel.port import execute
from vicid.secrets import Secret

NODES = {"carol": ("192.0.2.3", "203.0.113.0/24"), "moon": ("192.0.2.2", "198.51.100.0/24")}
KEY_C2M = Secret(bytes(range(36)))  # test-only keys, never used outside this test
KEY_M2C = Secret(bytes(range(100, 136)))
SPI_C2M, SPI_M2C = 0xC2000001, 0x2C000001


def effects(me: str) -> list:
    other = "moon" if me == "carol" else "carol"
    local, local_net = NODES[me]
    remote, remote_net = NODES[other]
    lo, re = (ip_address(local), 4500), (ip_address(remote), 4500)
    lts, rts = parse_ts(local_net), parse_ts(remote_net)
    out_spi, in_spi = (SPI_C2M, SPI_M2C) if me == "carol" else (SPI_M2C, SPI_C2M)
    out_key, in_key = (KEY_C2M, KEY_M2C) if me == "carol" else (KEY_M2C, KEY_C2M)

    def child(spi, inbound, key, src, dst):
        return InstallChildSa(1, 1, 1, spi, inbound, 3, "TUNNEL", src, dst, True,
                              SaKeys(20, 256, key, 0, None), (lts,), (rts,), replay_window=64)

    def pol(direction, src, dst):
        return InstallPolicy(1, direction, lts, rts, "TUNNEL", src, dst)

    return [child(in_spi, True, in_key, re, lo), pol(Direction.IN, re[0], lo[0]), pol(Direction.FWD, re[0], lo[0]),
            child(out_spi, False, out_key, lo, re), pol(Direction.OUT, lo[0], re[0])]


async def main(me: str) -> None:
    sock = trio.socket.socket(trio.socket.AF_INET, trio.socket.SOCK_DGRAM)
    await sock.bind((NODES[me][0], 4500))

    async def send(data, src, dst):
        await sock.sendto(data, (str(dst[0]), dst[1]))

    port = LibipsecPort(send)
    async with trio.open_nursery() as nursery:
        await nursery.start(port.run)
        for eff in effects(me):
            await execute(port, eff)

        async def receive():
            while True:
                data, (addr, sport) = await sock.recvfrom(65536)
                if data[:4] != b"\0\0\0\0":
                    port.receive_esp(data, (ip_address(addr), sport), (ip_address(NODES[me][0]), 4500))

        nursery.start_soon(receive)
        print("ready", port.tun_name, flush=True)
        with trio.open_signal_receiver(signal.SIGTERM) as signals:
            async for _ in signals:
                break
        stats = {"stats": dict(port.forwarder.stats), "drops": dict(port.forwarder.drops)}
        nursery.cancel_scope.cancel()
    print(json.dumps(stats), flush=True)


if __name__ == "__main__":
    trio.run(main, sys.argv[1])
