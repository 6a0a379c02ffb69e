"""How a revocation check gets an OCSP response or a CRL from a URI (charon's fetcher calls).

Three ways, decided by the check's ``OcspContext``:

* the engine (``deferred``): the answer fetched for the message being processed, if there is
  one; else :class:`FetchNeeded` is raised, the message waits while the shell
  fetches, and the check runs again with the answer (:mod:`vicid.ike.fetch`);
* a synchronous ``fetch`` callable (unit tests, tools): asked on the spot;
* neither (or the engine where nothing can wait, e.g. inside a TLS handshake): no fetch, the
  URI counts as known but unanswered.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class FetchRequest:
    """What the credential layer wants fetched; ``key`` names the answer (``("crl", uri)`` or
    ``("ocsp", uri, serial, issuer key id)``), so a re-run finds it whatever nonce it would pick."""

    key: tuple
    uri: str
    data: bytes = b""  # POST body (an OCSP request); empty: GET
    content_type: str = ""
    timeout: float = 10.0
    what: str = "ocsp"  # "ocsp" / "crl", for log lines


@dataclass(frozen=True)
class Answer:
    """A finished fetch: the request that went out (its OCSP nonce must come back) and the
    body, None if the fetch failed or timed out."""

    request: bytes
    body: bytes | None


class FetchNeeded(Exception):
    """Raised through a task's ``process`` when verification needs a fetch first."""

    def __init__(self, request: FetchRequest) -> None:
        super().__init__(request.uri)
        self.request = request




def obtain(
    ctx: Any,
    key: tuple,
    uri: str,
    build: Callable[[], bytes],
    content_type: str,
    what: str,
    announce: str,
    log: Callable[[str, int, str], None],
) -> Answer:
    """The answer for ``key``: (request sent, body or None if nothing usable came back).
    ``build`` makes the request body only when a fetch really goes out; ``announce`` is the
    line logged then."""
    answers = ctx.answers
    if answers is not None and key in answers:
        return answers[key]
    if ctx.deferred and answers is None:
        log("CFG", 1, f"  not fetching {what} from '{uri}' here, using cached data only")
        return Answer(b"", None)
    data = build()
    log("CFG", 1, announce)
    if ctx.deferred:
        raise FetchNeeded(FetchRequest(key, uri, data, content_type, ctx.timeout, what))
    body = ctx.fetch(uri, data, content_type, ctx.timeout) if ctx.fetch is not None else None
    return Answer(data, body)


__all__ = ["Answer", "FetchNeeded", "FetchRequest", "obtain"]
