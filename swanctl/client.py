"""A vici client connection the way libvici behaves for swanctl.

One connection per command; requests are answered in order; events of a
registered name may arrive at any time and are handed to their callback as
they are read (libvici does that from its reader thread, so output order is
wire order).  Failures set an errno like libvici, since swanctl reports
``strerror(errno)`` and exits with it.
"""

from __future__ import annotations

import errno
import os
import select
import socket
import struct
import sys
from collections.abc import Callable
from dataclasses import dataclass

from .message import Message, MessageError

CMD_REQUEST, CMD_RESPONSE, CMD_UNKNOWN = 0, 1, 2
EVENT_REGISTER, EVENT_UNREGISTER, EVENT_CONFIRM, EVENT_UNKNOWN, EVENT = 3, 4, 5, 6, 7

MESSAGE_SIZE_MAX = 512 * 1024  # VICI_MESSAGE_SIZE_MAX
DEFAULT_URI = "unix:///var/run/charon.vici"
AF_VSOCK = getattr(socket, "AF_VSOCK", 40)
VMADDR_CID_ANY = 0xFFFFFFFF

EventCb = Callable[[str, Message], None]


class ViciError(OSError):
    """A failed vici operation; ``errno`` is what swanctl would report."""

    def __init__(self, code: int) -> None:
        super().__init__(code, os.strerror(code))


DEBUG_LEVEL = [1]  # swanctl --debug; its logger prints messages up to this level


def log(msg: str, level: int = 1) -> None:
    """swanctl's own DBG output goes to stderr, one line per message."""
    if level <= DEBUG_LEVEL[0]:
        sys.stdout.flush()
        print(msg, file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Endpoint:
    family: int
    address: object
    uri: str


def parse_uri(uri: str) -> Endpoint:
    """Resolve a stream URI like strongSwan's stream manager; ViciError(ENOENT) if unusable."""
    if uri.startswith("unix://"):
        path = uri[len("unix://"):].encode("utf-8", "surrogateescape")[:107]
        return Endpoint(socket.AF_UNIX, path, uri)
    if uri.startswith("tcp://"):
        return Endpoint(*_parse_tcp(uri), uri)
    if uri.startswith("vsock://"):
        return Endpoint(AF_VSOCK, _parse_vsock(uri), uri)
    raise ViciError(errno.ENOENT)  # no stream constructor for this prefix


def _parse_tcp(uri: str) -> tuple[int, tuple]:
    rest = uri[len("tcp://"):]
    colon = rest.rfind(":")
    if colon < 0:
        return _invalid(uri)
    host = rest[1:colon - 1] if rest.startswith("[") and colon > 0 and rest[colon - 1] == "]" else rest[:colon]
    port_text = rest[colon + 1:]
    if not port_text.isdigit() or int(port_text) > 65535:
        if port_text == "":
            port = 0  # strtoul("") = 0 and consumes nothing: accepted like charon
        else:
            return _invalid(uri)
    else:
        port = int(port_text)
    try:
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM)
    except socket.gaierror as e:
        log(f"resolving '{host}' failed: {e.strerror}")
        return _invalid(uri)
    family, _, _, _, sockaddr = infos[0]
    return family, sockaddr


def _parse_vsock(uri: str) -> tuple[int, int]:
    rest = uri[len("vsock://"):]
    cid_text, sep, port_text = rest.partition(":")
    if not sep or not port_text.isdigit():
        return _invalid(uri)
    cid = VMADDR_CID_ANY if cid_text == "*" else (int(cid_text) if cid_text.isdigit() else -1)
    port = int(port_text)
    if cid < 0 or cid > 0xFFFFFFFF or port > 0xFFFFFFFF:
        return _invalid(uri)
    return cid, port


def _invalid(uri: str):
    log(f"invalid stream URI: '{uri}'")
    raise ViciError(errno.ENOENT)


class Connection:
    """A connected vici session (vici_conn_t)."""

    def __init__(self, sock: socket.socket, uri: str) -> None:
        self.sock = sock
        self.uri = uri
        self.events: dict[str, EventCb] = {}
        self._buf = b""

    @classmethod
    def connect(cls, uri: str, timeout: float | None = None) -> Connection:
        ep = parse_uri(uri)
        try:
            sock = socket.socket(ep.family, socket.SOCK_STREAM)
        except OSError as e:
            log(f"opening socket '{uri}' failed: {os.strerror(e.errno or errno.EIO)}")
            raise ViciError(e.errno or errno.EIO) from None
        try:
            sock.settimeout(timeout)
            sock.connect(ep.address)
        except OSError as e:
            sock.close()
            code = e.errno or errno.ECONNREFUSED
            log(f"connecting to '{uri}' failed: {os.strerror(code)}")
            raise ViciError(code) from None
        return cls(sock, uri)

    def close(self) -> None:
        self.sock.close()

    # -- framing ------------------------------------------------------------
    def _send(self, kind: int, name: str | None = None, body: bytes = b"") -> None:
        payload = bytes([kind])
        if name is not None:
            raw = name.encode()
            payload += bytes([len(raw)]) + raw
        payload += body
        try:
            self.sock.sendall(struct.pack(">I", len(payload)) + payload)
        except OSError as e:
            raise ViciError(e.errno or errno.EPIPE) from None

    def _recv_exact(self, n: int) -> bytes:
        while len(self._buf) < n:
            try:
                chunk = self.sock.recv(max(65536, n - len(self._buf)))
            except OSError as e:
                raise ViciError(e.errno or errno.ECONNRESET) from None
            if not chunk:
                raise ViciError(errno.ECONNRESET)
            self._buf += chunk
        data, self._buf = self._buf[:n], self._buf[n:]
        return data

    def read_packet(self) -> tuple[int, bytes]:
        (length,) = struct.unpack(">I", self._recv_exact(4))
        if length == 0 or length > MESSAGE_SIZE_MAX:
            raise ViciError(errno.EBADMSG)
        data = self._recv_exact(length)
        return data[0], data[1:]

    def _dispatch_event(self, body: bytes) -> None:
        if not body:
            return
        n = body[0]
        name = body[1:1 + n].decode("latin-1")
        cb = self.events.get(name)
        if cb is None:
            return
        try:
            msg = Message.decode(body[1 + n:])
        except MessageError:
            return  # libvici drops events it cannot parse
        cb(name, msg)

    def _wait(self, wanted: tuple[int, ...]) -> tuple[int, bytes]:
        while True:
            kind, body = self.read_packet()
            if kind == EVENT:
                self._dispatch_event(body)
                continue
            if kind in wanted:
                return kind, body
            raise ViciError(errno.EBADMSG)

    # -- API ----------------------------------------------------------------
    def request(self, name: str, msg: Message | None = None) -> Message:
        """vici_submit(): the response, or ViciError(ENOENT) for an unknown command."""
        self._send(CMD_REQUEST, name, (msg or Message()).encode())
        kind, body = self._wait((CMD_RESPONSE, CMD_UNKNOWN))
        if kind == CMD_UNKNOWN:
            raise ViciError(errno.ENOENT)
        try:
            return Message.decode(body)
        except MessageError:
            raise ViciError(errno.EBADMSG) from None

    def register(self, event: str, cb: EventCb | None) -> None:
        """vici_register(): with CB register, without unregister."""
        self._send(EVENT_REGISTER if cb else EVENT_UNREGISTER, event)
        kind, _ = self._wait((EVENT_CONFIRM, EVENT_UNKNOWN))
        if kind == EVENT_UNKNOWN:
            raise ViciError(errno.ENOENT)
        if cb:
            self.events[event] = cb
        else:
            self.events.pop(event, None)

    def _buffered(self) -> bool:
        """A complete packet is already read (select() would not tell)."""
        if len(self._buf) < 4:
            return False
        (length,) = struct.unpack(">I", self._buf[:4])
        return len(self._buf) >= 4 + length

    def poll_event(self, timeout: float) -> bool:
        """Dispatch the next event if one arrives within TIMEOUT; False if none did.

        Raises ViciError when the connection is gone.
        """
        if not self._buffered():
            try:
                readable, _, _ = select.select([self.sock], [], [], timeout)
            except InterruptedError:
                return False
            if not readable:
                return False
        kind, body = self.read_packet()
        if kind == EVENT:
            self._dispatch_event(body)
        return True
