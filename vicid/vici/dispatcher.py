"""vici command and event registry (sans-I/O).

Command modules (``vicid/vici/commands/*.py``) each have a ``register(dispatcher)`` function that
adds their handlers, as charon's vici_query/vici_config/... do. A handler is a plain function
``handler(state, request) -> dict`` returning the response message; streaming commands call
``request.emit(event, body)`` for each item before returning, and the session sends those events
(only if the client registered for them) before the response.

Message bodies are the decoded form of :mod:`vicid.vici.wire`: ``dict[str, Value]`` in wire order,
where a value is ``bytes`` (key/value), ``list[bytes]`` (list) or a nested ``dict`` (section). For
responses handlers may also use ``str``, ``int`` and ``bool`` (rendered ``yes``/``no``) values.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Body = dict[str, Any]


@dataclass
class Request:
    """One command request as a handler sees it."""

    name: str
    body: Body
    # Streams an event to the requesting client (dropped unless that client registered for it);
    # the body may also be given already encoded (bytes), e.g. from a rendering cache.
    emit: Callable[[str, Body | bytes], None] = field(default=lambda event, body: None)
    # Client-side log streaming for initiate/terminate: emit("control-log", ...) when registered.
    registered: Callable[[str], bool] = field(default=lambda event: False)
    # Makes a Deferred bound to this client (set by the session).
    defer: Callable[[], Deferred] = field(default=lambda: Deferred(lambda event, body: None))

    def str(self, key: str, default: str | None = None) -> str | None:
        """A key/value of the request as text (charon's get_str), or ``default``."""
        value = self.body.get(key)
        if isinstance(value, bytes):
            return value.decode("utf-8", "replace")
        return default


class Deferred:
    """A response that arrives later: initiate/terminate wait for the IKE engine.

    A handler returns ``request.defer()``'s result instead of a body; whoever completes the work
    calls :meth:`log` for each ``control-log`` line and :meth:`finish` once. The session turns
    these into segments in order; the server shell sends them as they come (``wakeup``).
    """

    def __init__(self, emit: Callable[[str, Body], None]) -> None:
        self._emit = emit
        self.ready: list[bytes] = []  # segments produced and not yet taken by the server
        self.finished = False
        self.wakeup: Callable[[], None] = lambda: None
        self._respond: Callable[[Body], None] = lambda body: None

    def log(self, body: Body) -> None:
        self.emit("control-log", body)

    def emit(self, event: str, body: Body) -> None:
        """Stream an event (if the client registered for it) ahead of the response."""
        if not self.finished:
            self._emit(event, body)
            self.wakeup()

    def finish(self, response: Body) -> None:
        if not self.finished:
            self._respond(response)
            self.finished = True
            self.wakeup()

    def take(self) -> list[bytes]:
        out, self.ready = self.ready, []
        return out


Handler = Callable[[Any, Request], "Body | Deferred"]


class Dispatcher:
    """Maps command names to handlers and knows which event names exist."""

    def __init__(self) -> None:
        self.commands: dict[str, Handler] = {}
        self.events: set[str] = set()

    def add_command(self, name: str, handler: Handler) -> None:
        if name in self.commands:
            raise ValueError(f"vici command {name!r} registered twice")
        self.commands[name] = handler

    def add_event(self, name: str) -> None:
        self.events.add(name)
