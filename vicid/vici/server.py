"""The vici server shell: listeners for unix://, tcp:// and vsock:// URIs, one task per client.

Protocol work happens in :class:`~vicid.vici.session.ViciSession`; this module only moves bytes.
Each client has a bounded outgoing channel: broadcast events to a client that does not read are
dropped and counted rather than stalling the daemon.
"""

from __future__ import annotations

import errno
import grp
import logging
import os
import pwd
import socket as _socket
import stat
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import trio

from vicid.vici.dispatcher import Body, Deferred, Dispatcher
from vicid.vici.session import ViciSession
from vicid.vici.wire import ViciError, encode_message

log = logging.getLogger("vicid.vici")

BACKLOG = 3  # charon's VICI_SOCKET_BACKLOG
OUTGOING_QUEUE = 256  # segments buffered per client before broadcast events are dropped
RECV_SIZE = 65536
WRITE_BATCH = 1 << 18  # bytes of queued segments joined into one write


@dataclass(frozen=True)
class ListenUri:
    scheme: str  # unix, tcp, vsock
    address: Any  # path, (host, port) or (cid, port)
    text: str


def parse_uri(uri: str) -> ListenUri:
    """Parse a vici URI as charon's stream manager accepts it for listening."""
    scheme, sep, rest = uri.partition("://")
    if not sep:
        raise ValueError(f"invalid vici URI '{uri}'")
    if scheme == "unix":
        if not rest:
            raise ValueError(f"invalid vici URI '{uri}': missing path")
        return ListenUri("unix", rest, uri)
    host, colon, port = rest.rpartition(":")
    if not colon or not port.isdigit():
        raise ValueError(f"invalid vici URI '{uri}': missing port")
    if scheme == "tcp":
        if int(port) > 65535:
            raise ValueError(f"invalid vici URI '{uri}': bad port")
        return ListenUri("tcp", (host.strip("[]"), int(port)), uri)
    if scheme == "vsock":
        if host == "*":
            cid = _socket.VMADDR_CID_ANY
        elif host.isdigit() and int(host) <= 0xFFFFFFFF:
            cid = int(host)
        else:
            raise ValueError(f"invalid vici URI '{uri}': bad CID")
        if int(port) > 0xFFFFFFFF:
            raise ValueError(f"invalid vici URI '{uri}': bad port")
        return ListenUri("vsock", (cid, int(port)), uri)
    raise ValueError(f"unsupported vici URI scheme '{scheme}'")


async def open_listener(uri: ListenUri, owner: str | None = None, group: str | None = None
                        ) -> trio.SocketListener:
    """Bind and listen; only bind/listen here, never connect (notably for AF_VSOCK)."""
    if uri.scheme == "unix":
        sock = _bind_unix(uri.address, owner, group)
    elif uri.scheme == "tcp":
        infos = await trio.socket.getaddrinfo(uri.address[0] or None, uri.address[1],
                                              type=_socket.SOCK_STREAM, flags=_socket.AI_PASSIVE)
        family, _, _, _, addr = infos[0]
        sock = trio.socket.socket(family, _socket.SOCK_STREAM)
        sock.setsockopt(_socket.SOL_SOCKET, _socket.SO_REUSEADDR, 1)
        await sock.bind(addr)
    else:
        sock = trio.socket.socket(_socket.AF_VSOCK, _socket.SOCK_STREAM)
        await sock.bind(uri.address)
    sock.listen(BACKLOG)
    return trio.SocketListener(sock)


def _bind_unix(path: str, owner: str | None, group: str | None) -> trio.socket.SocketType:
    try:
        if stat.S_ISSOCK(os.lstat(path).st_mode):
            os.unlink(path)  # stale socket from an earlier run
    except FileNotFoundError:
        pass
    sock = trio.socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    old = os.umask(0o117)  # socket mode 0660, as charon
    try:
        sock._sock.bind(path)  # synchronous bind of a local path; nothing to await
    finally:
        os.umask(old)
    uid = pwd.getpwnam(owner).pw_uid if owner else -1
    gid = grp.getgrnam(group).gr_gid if group else -1
    if uid != -1 or gid != -1:
        os.chown(path, uid, gid)
    return sock


class ViciServer:
    """Accepts clients on any number of listeners and fans broadcast events out to them."""

    def __init__(self, dispatcher: Dispatcher, state: Any,
                 on_client_error: Callable[[str], None] | None = None,
                 on_registrations: Callable[[], None] | None = None) -> None:
        self.dispatcher = dispatcher
        self.state = state
        self.clients: dict[ViciSession, trio.MemorySendChannel[bytes]] = {}
        self.dropped_events = 0
        self.on_client_error = on_client_error or (lambda reason: None)
        # registrations per event over all clients (has_listeners is asked per engine event);
        # on_registrations is told whenever an event gains its first or loses its last listener
        self.listening: Counter[str] = Counter()
        self.on_registrations = on_registrations or (lambda: None)
        self.unix_paths: list[str] = []

    async def serve(self, uris: list[str], owner: str | None = None, group: str | None = None,
                    *, task_status: trio.TaskStatus[list[trio.SocketListener]] = trio.TASK_STATUS_IGNORED
                    ) -> None:
        listeners = []
        for text in uris:
            uri = parse_uri(text)
            listeners.append(await open_listener(uri, owner, group))
            if uri.scheme == "unix":
                self.unix_paths.append(uri.address)
            log.info("vici listening on %s", text)
        try:
            async with trio.open_nursery() as nursery:
                for listener in listeners:
                    nursery.start_soon(trio.serve_listeners, self.handle_stream, [listener])
                task_status.started(listeners)
        finally:
            self.remove_socket_files()

    def remove_socket_files(self) -> None:
        for path in self.unix_paths:
            try:
                os.unlink(path)
            except OSError:
                pass
        self.unix_paths.clear()

    def has_listeners(self, event: str) -> bool:
        return self.listening[event] > 0

    def _count_registration(self, event: str, delta: int) -> None:
        before = self.listening[event]
        self.listening[event] = before + delta
        if (before > 0) != (before + delta > 0):
            self.on_registrations()

    def broadcast(self, event: str, body: Body) -> None:
        """Send an event to every registered client without blocking."""
        encoded = None
        for session, channel in list(self.clients.items()):
            if session.registrations[event] <= 0:
                continue
            if encoded is None:  # encoded once for all clients
                encoded = body if isinstance(body, bytes) else encode_message(body)
            segment = session.event_segment(event, encoded)
            if not segment:
                continue
            try:
                channel.send_nowait(segment)
            except trio.WouldBlock:
                self.dropped_events += 1
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                pass

    async def handle_stream(self, stream: trio.abc.Stream) -> None:
        peer = _peer_name(stream)
        session = ViciSession(self.dispatcher, self.state, peer, on_register=self._count_registration)
        send, recv = trio.open_memory_channel[bytes](OUTGOING_QUEUE)
        self.clients[session] = send
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._writer, stream, recv)
                await self._reader(stream, session, send)
                nursery.cancel_scope.cancel()
        finally:
            del self.clients[session]
            for event, count in session.registrations.items():
                if count > 0:
                    self._count_registration(event, -count)
            await trio.aclose_forcefully(stream)

    async def _reader(self, stream: trio.abc.Stream, session: ViciSession,
                      send: trio.MemorySendChannel[bytes]) -> None:
        while True:
            try:
                data = await stream.receive_some(RECV_SIZE)
            except (trio.BrokenResourceError, OSError):
                return
            if not data:
                if session.reader.pending:
                    self._reject(session, "connection closed inside a message")
                return
            try:
                segments = session.receive(data)
            except ViciError as exc:
                self._reject(session, str(exc))
                return
            try:
                for item in segments:
                    if isinstance(item, Deferred):
                        await self._stream_deferred(item, send)
                    else:
                        await send.send(item)  # responses wait for room; they are never dropped
            except trio.BrokenResourceError:
                return  # the writer gave up: the client is gone

    @staticmethod
    async def _stream_deferred(deferred: Deferred, send: trio.MemorySendChannel[bytes]) -> None:
        """Forward a deferred response's control-log events as they come, then the response."""
        wake = trio.Event()

        def wakeup() -> None:
            wake.set()

        deferred.wakeup = wakeup
        while True:
            for segment in deferred.take():
                await send.send(segment)
            if deferred.finished and not deferred.ready:
                return
            await wake.wait()
            wake = trio.Event()

    def _reject(self, session: ViciSession, reason: str) -> None:
        log.warning("vici client %s sent invalid data (%s), disconnecting", session.peer, reason)
        self.on_client_error(reason)

    @staticmethod
    async def _writer(stream: trio.abc.Stream, recv: trio.MemoryReceiveChannel[bytes]) -> None:
        async with recv:
            async for segment in recv:
                # whatever else is queued goes out in the same write (events come in bursts)
                batch = [segment]
                size = len(segment)
                while size < WRITE_BATCH:
                    try:
                        more = recv.receive_nowait()
                    except (trio.WouldBlock, trio.EndOfChannel):
                        break
                    batch.append(more)
                    size += len(more)
                try:
                    await stream.send_all(batch[0] if len(batch) == 1 else b"".join(batch))
                except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as exc:
                    if getattr(exc, "errno", None) not in (None, errno.EPIPE, errno.ECONNRESET):
                        log.debug("vici send failed: %s", exc)
                    return


def _peer_name(stream: trio.abc.Stream) -> str:
    sock = getattr(stream, "socket", None)
    try:
        peer = sock.getpeername() if sock is not None else None
    except OSError:
        peer = None
    if isinstance(peer, tuple):
        return ":".join(str(p) for p in peer[:2])
    return "unix" if sock is not None and sock.family == _socket.AF_UNIX else str(peer or "client")
