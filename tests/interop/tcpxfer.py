"""A TCP sender/receiver for traffic through test tunnels, run inside a namespace.

Standalone (standard library only), so it runs with the host's python3 under ``ip netns exec``:

    tcpxfer.py recv ADDR PORT            prints "listening", then one JSON line when done
    tcpxfer.py send SRC DST PORT BYTES   prints one JSON line when done

Each side reports ``{"bytes", "sha256", "seconds"}``; the caller compares the digests. The data
is random (a checksum match cannot come from a lucky pattern) with :data:`MARKER` planted every
4 KiB, so a capture can prove that no payload crosses the wire in clear. Both sides stop on their own
(timeouts), so a broken tunnel never leaves a process behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass

CHUNK = 1 << 16
MARKER = b"vicid-cleartext-marker-0123456789"  # planted every 4 KiB: must never be seen on the wire
TIMEOUT = 60.0  # per socket operation: a stalled tunnel ends the run


@dataclass
class Result:
    bytes: int
    sha256: str
    seconds: float

    @property
    def mbit_s(self) -> float:
        return self.bytes * 8 / self.seconds / 1e6 if self.seconds else 0.0


def receive(addr: str, port: int) -> dict:
    with socket.create_server((addr, port)) as server:
        server.settimeout(TIMEOUT)
        print("listening", flush=True)
        conn, _ = server.accept()
    digest, total = hashlib.sha256(), 0
    with conn:
        conn.settimeout(TIMEOUT)
        start = time.monotonic()
        while chunk := conn.recv(CHUNK):
            digest.update(chunk)
            total += len(chunk)
        seconds = time.monotonic() - start
    return {"bytes": total, "sha256": digest.hexdigest(), "seconds": seconds}


def send(src: str, dst: str, port: int, size: int) -> dict:
    data = bytearray(os.urandom(size))
    for at in range(0, size - len(MARKER), 4096):
        data[at:at + len(MARKER)] = MARKER
    with socket.create_connection((dst, port), timeout=TIMEOUT, source_address=(src, 0)) as conn:
        start = time.monotonic()
        conn.sendall(data)
        conn.shutdown(socket.SHUT_WR)
        conn.recv(1)  # wait for the receiver's close: everything arrived
        seconds = time.monotonic() - start
    return {"bytes": size, "sha256": hashlib.sha256(data).hexdigest(), "seconds": seconds}


# --- driving it from the host ---------------------------------------------------------------------

def _cmd(netns: str, *args: str) -> list[str]:
    return ["ip", "netns", "exec", netns, sys.executable, os.path.abspath(__file__), *args]


def transfer(src_ns: str, src: str, dst_ns: str, dst: str, size: int, port: int = 5001,
             timeout: float = 120.0) -> tuple[Result, Result]:
    """Send SIZE random bytes from SRC (in SRC_NS) to DST:PORT (in DST_NS); (sent, received)."""
    recv = subprocess.Popen(_cmd(dst_ns, "recv", dst, str(port)), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    try:
        ready = recv.stdout.readline() if recv.stdout else ""
        if ready.strip() != "listening":
            raise RuntimeError(f"receiver did not start: {ready}{recv.stderr.read() if recv.stderr else ''}")
        sent = subprocess.run(_cmd(src_ns, "send", src, dst, str(port), str(size)), capture_output=True,
                              text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        if sent.returncode:
            raise RuntimeError(f"sender failed: {sent.stderr.strip()}")
        out, err = recv.communicate(timeout=timeout)
        if recv.returncode:
            raise RuntimeError(f"receiver failed: {err.strip()}")
        return Result(**json.loads(sent.stdout)), Result(**json.loads(out))
    finally:
        if recv.poll() is None:  # our own child, by PID
            recv.kill()
            recv.wait()


def main(argv: list[str]) -> int:
    if argv[:1] == ["recv"] and len(argv) == 3:
        result = receive(argv[1], int(argv[2]))
    elif argv[:1] == ["send"] and len(argv) == 5:
        result = send(argv[1], argv[2], int(argv[3]), int(argv[4]))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
