"""Revocation data the shell fetches while one IKE_SA waits (park and resume, sans I/O).

charon's revocation plugin fetches OCSP responses and CRLs from the worker thread that verifies
IKE_AUTH: that IKE_SA waits, every other one goes on. The engine must not block, so it does the
same in steps:

1. Verifying a certificate, the credential layer finds it needs a response that is neither
   cached nor already answered for this message, and raises :class:`FetchNeeded`.
2. The task manager parks the message at the task that asked (:func:`park`): nothing is sent,
   the SA's retransmission timer is held, and a :class:`~vicid.ike.effects.Fetch` effect asks the
   shell to fetch (one fetch per URI or OCSP certificate, however many IKE_SAs wait for it).
   Requests arriving meanwhile (a peer's retransmits) are ignored as in progress, as charon
   ignores requests for an IKE_SA whose job is still running.
3. The shell answers with ``IkeSaManager.fetch_complete(id, body or None, now)``; if it never
   does, the engine gives up ``timeout + GRACE`` seconds later as if the fetch had failed. The
   answer is recorded for each waiting IKE_SA (:class:`FetchState`) and the message is
   processed again from the parked task, which now finds the answer (or the failure) and goes
   on; a good response has meanwhile gone into the credential cache for later IKE_SAs.

An IKE_SA destroyed while it waits (half-open timeout, terminate) just stops waiting.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from vicid.creds.fetching import Answer, FetchNeeded, FetchRequest
from vicid.ike.effects import Fetch
from vicid.ike.fetch_table import GRACE, FetchTable

if TYPE_CHECKING:
    from vicid.ike.sa import IkeSa
    from vicid.ike.tasks.base import Status, Task


@dataclass
class Parked:
    """A received message whose processing waits for fetch ``fetch_id`` at ``task``."""

    msg: Any  # vicid.ike.messages.InMessage
    task: Task
    fetch_id: int


@dataclass
class FetchState:
    """One IKE_SA's side: the message parked (if any) and the answers fetched for it so far
    (several links of a chain may each need one); cleared when the message is done."""

    parked: Parked | None = None
    answers: dict[tuple, Answer] = field(default_factory=dict)

    def clear(self) -> None:
        self.parked = None
        self.answers.clear()


def park(sa: IkeSa, msg: Any, task: Task, request: FetchRequest) -> None:
    """Hold ``msg`` at ``task`` until ``request`` is answered; ask the shell unless a fetch
    for the same answer is already running."""
    fetch_id, new = sa.ctx.fetches.request(sa.uniqueid, request, sa.now)
    sa.tm.fetch.parked = Parked(msg, task, fetch_id)
    if new:
        sa.ctx.emit(Fetch(fetch_id, request.uri, request.data, request.content_type, request.timeout))
    elif request.what == "crl":
        sa.log("CFG", 1, f"  waiting for crl fetch from '{request.uri}' ...")
    else:
        sa.log("CFG", 1, f"  waiting for ocsp request to '{request.uri}' ...")
    sa.log("IKE", 2, f"processing of {_what(msg)} waits for {request.what} fetch #{fetch_id}")


def busy(sa: IkeSa, message_id: int, is_request: bool) -> None:
    """A message for an IKE_SA whose processing is parked: ignored (a peer retransmits)."""
    kind = "request" if is_request else "response"
    sa.log("MGR", 1, f"ignoring {kind} with ID {message_id}, already processing")
    sa.drop("already_processing")


def resume(sa: IkeSa, fetch_id: int, request: FetchRequest, body: bytes | None) -> Status:
    """Record the answer of ``fetch_id`` and go on with the parked message."""
    from vicid.ike.tasks.base import Status

    state = sa.tm.fetch
    parked = state.parked
    if parked is None or parked.fetch_id != fetch_id:
        return Status.SUCCESS
    state.answers[request.key] = Answer(request.data, body)
    state.parked = None
    return sa.tm.resume(parked)


def describe(table: FetchTable, fetch_id: int) -> str:
    pending = table.pending.get(fetch_id)
    what = f"{pending.request.what} fetch from '{pending.request.uri}'" if pending else "fetch"
    return f"{what} (#{fetch_id})"


def _what(msg: Any) -> str:
    from vicid.ike.messages import exchange_name

    return f"{exchange_name(msg.exchange)} {'request' if msg.is_request else 'response'} {msg.message_id}"


__all__ = [
    "GRACE",
    "Answer",
    "FetchNeeded",
    "FetchRequest",
    "FetchState",
    "FetchTable",
    "Parked",
    "busy",
    "describe",
    "park",
    "resume",
]
