"""A vici man-in-the-middle for comparing two clients on identical input.

``Recorder`` forwards a client to a real daemon and keeps the packets of
each connection in wire order.  ``Replayer`` then plays a recorded
connection back to another client: it checks that each packet the client
sends equals the recorded one and answers with exactly what the daemon sent
after it.  Running strongSwan's swanctl through the recorder and ours
against the replayer shows two things at once: ours sends the same requests
byte for byte, and it prints the same text for the same replies and events,
including replies that cannot be reproduced live (random SPIs, uptimes).
"""

from __future__ import annotations

import os
import select
import socket
import struct
import threading
from dataclasses import dataclass, field
from pathlib import Path

CLIENT, SERVER = "C", "S"


def _split(buf: bytearray) -> bytes | None:
    """Take one complete framed packet (length prefix included) off BUF."""
    if len(buf) >= 4:
        (n,) = struct.unpack(">I", buf[:4])
        if len(buf) >= 4 + n:
            pkt = bytes(buf[:4 + n])
            del buf[:4 + n]
            return pkt
    return None


def _read_packet(sock: socket.socket, buf: bytearray) -> bytes | None:
    """One framed packet from BUF/SOCK; None on EOF."""
    while True:
        pkt = _split(buf)
        if pkt is not None:
            return pkt
        chunk = sock.recv(65536)
        if not chunk:
            return None
        buf += chunk


def describe(pkt: bytes) -> str:
    """A short human form: packet type and name."""
    kind = pkt[4]
    names = {0: "CMD_REQUEST", 1: "CMD_RESPONSE", 2: "CMD_UNKNOWN", 3: "EVENT_REGISTER", 4: "EVENT_UNREGISTER",
             5: "EVENT_CONFIRM", 6: "EVENT_UNKNOWN", 7: "EVENT"}
    label = names.get(kind, str(kind))
    if kind in (0, 3, 4, 7):
        n = pkt[5]
        label += " " + pkt[6:6 + n].decode("latin-1")
    return label


@dataclass
class Transcript:
    packets: list[tuple[str, bytes]] = field(default_factory=list)

    def requests(self) -> list[bytes]:
        return [p for d, p in self.packets if d == CLIENT]


class _Server:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        if self.path.exists():
            self.path.unlink()
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(str(self.path))
        os.chmod(self.path, 0o666)
        self.sock.listen(8)
        self.transcripts: list[Transcript] = []
        self._stop = False
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def uri(self) -> str:
        return f"unix://{self.path}"

    def _accept(self) -> None:
        while not self._stop:
            try:
                r, _, _ = select.select([self.sock], [], [], 0.1)
                if not r:
                    continue
                client, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self._stop = True
        self.sock.close()
        self._thread.join(2)

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Recorder(_Server):
    """Forward every connection to UPSTREAM (a unix socket path), recording it."""

    def __init__(self, path: Path, upstream: Path) -> None:
        self.upstream = Path(upstream)
        self.lock = threading.Lock()
        super().__init__(path)

    def _serve(self, client: socket.socket) -> None:
        t = Transcript()
        with self.lock:
            self.transcripts.append(t)
        daemon = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        daemon.connect(str(self.upstream))
        bufs = {client: bytearray(), daemon: bytearray()}
        peer = {client: daemon, daemon: client}
        try:
            while True:
                r, _, _ = select.select([client, daemon], [], [], 60)
                if not r:
                    return
                for s in r:
                    chunk = s.recv(65536)
                    if not chunk:
                        return
                    bufs[s] += chunk
                    while (pkt := _split(bufs[s])) is not None:
                        with self.lock:
                            t.packets.append((CLIENT if s is client else SERVER, pkt))
                        peer[s].sendall(pkt)
        except OSError:
            return
        finally:
            client.close()
            daemon.close()


class Replayer(_Server):
    """Serve recorded TRANSCRIPTS, one per accepted connection, in order."""

    def __init__(self, path: Path, transcripts: list[Transcript]) -> None:
        self.queue = list(transcripts)
        self.mismatches: list[str] = []
        self.lock = threading.Lock()
        super().__init__(path)

    def _serve(self, client: socket.socket) -> None:
        with self.lock:
            t = self.queue.pop(0) if self.queue else Transcript()
        buf = bytearray()
        i = 0
        packets = t.packets
        try:
            # anything the daemon said before the first request (nothing, normally)
            while i < len(packets) and packets[i][0] == SERVER:
                client.sendall(packets[i][1])
                i += 1
            while i < len(packets):
                pkt = _read_packet(client, buf)
                if pkt is None:
                    break
                expected = packets[i][1]
                if pkt != expected:
                    with self.lock:
                        self.mismatches.append(f"packet {i}: got {describe(pkt)} {pkt.hex()}, "
                                               f"recorded {describe(expected)} {expected.hex()}")
                i += 1
                while i < len(packets) and packets[i][0] == SERVER:
                    client.sendall(packets[i][1])
                    i += 1
            # the recorded client hung up here; ours may wait for a signal first
            client.settimeout(30)
            rest = _read_packet(client, buf)
            if rest is not None:
                with self.lock:
                    self.mismatches.append(f"extra packet after the transcript: {describe(rest)}")
        except OSError:
            pass
        finally:
            client.close()
