"""A scripted vici daemon for loader tests: answers commands from a table, records requests."""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Callable
from pathlib import Path

from swanctl.message import Message

# a reply, or (events to stream first as (name, body), reply)
Handler = Callable[[Message], "Message | tuple[list[tuple[str, Message]], Message]"]


def ok(**extra: str) -> Message:
    msg = Message().add("success", "yes")
    for k, v in extra.items():
        msg.add(k, v)
    return msg


def fail(errmsg: str) -> Message:
    return Message().add("success", "no").add("errmsg", errmsg)


class FakeDaemon:
    """Serves vici on PATH; HANDLERS map command names to reply builders (default: success)."""

    def __init__(self, path: Path, handlers: dict[str, Handler] | None = None) -> None:
        self.path = Path(path)
        self.handlers = handlers or {}
        self.requests: list[tuple[str, Message]] = []
        self.registrations: list[str] = []
        self.lock = threading.Lock()
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(str(self.path))
        self.sock.listen(4)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def uri(self) -> str:
        return f"unix://{self.path}"

    def names(self) -> list[str]:
        return [n for n, _ in self.requests]

    def of(self, name: str) -> list[Message]:
        return [m for n, m in self.requests if n == name]

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._guarded, args=(conn,), daemon=True).start()

    def _guarded(self, conn: socket.socket) -> None:
        with conn:
            try:
                self._session(conn)
            except OSError:
                pass  # the client went away

    def _session(self, conn: socket.socket) -> None:
        buf = b""
        while True:
            while len(buf) < 4 or len(buf) < 4 + struct.unpack(">I", buf[:4])[0]:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                buf += chunk
            (n,) = struct.unpack(">I", buf[:4])
            pkt, buf = buf[4:4 + n], buf[4 + n:]
            kind, nlen = pkt[0], pkt[1]
            name = pkt[2:2 + nlen].decode()
            if kind == 3:  # EVENT_REGISTER
                with self.lock:
                    self.registrations.append(name)
                reply = bytes([5])
            elif kind == 0:
                msg = Message.decode(pkt[2 + nlen:])
                with self.lock:
                    self.requests.append((name, msg))
                handler = self.handlers.get(name)
                answer = handler(msg) if handler else (Message() if name.startswith("get-") else ok())
                if isinstance(answer, tuple):
                    events, answer = answer
                    for ev_name, body in events:
                        raw = bytes([7, len(ev_name)]) + ev_name.encode() + body.encode()
                        conn.sendall(struct.pack(">I", len(raw)) + raw)
                reply = bytes([1]) + answer.encode()
            else:
                continue
            conn.sendall(struct.pack(">I", len(reply)) + reply)

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> FakeDaemon:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
