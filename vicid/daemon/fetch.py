"""The shell's fetcher for revocation data (charon's ``curl`` fetcher, HTTP only).

The engine never waits for it. When verifying an IKE_AUTH needs an OCSP response or a CRL it
has not got, the engine parks that message (only that IKE_SA waits; see ``vicid.ike.fetch``)
and emits a ``Fetch`` effect. The engine loop hands it to :func:`run_fetch`, a task of its
nursery: the blocking HTTP exchange runs in a worker thread, bounded by
``charon.plugins.revocation.timeout`` seconds, while the loop goes on serving other IKE_SAs,
vici and the datapath; the body (or None) goes back to the engine as
``fetch_complete(id, body, now)``, which processes the parked message again. Good answers are
cached by the credential layer, so a responder or CRL distribution point is asked once until
its answer goes stale.
"""

from __future__ import annotations

import logging
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable
from typing import Any

import trio

from vicid.creds.manager import CredentialManager
from vicid.creds.store import CredStore
from vicid.ike.effects import Fetch

log = logging.getLogger("vicid.creds")
MAX_RESPONSE = 1 << 20  # an OCSP response or CRL larger than 1 MiB is refused
# responders are asked directly: a proxy from the environment may not be reachable from the
# daemon's network namespace
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
MAX_THREADS = 8  # fetches running at once (per engine); more wait, within their timeout, for a thread


def http_fetch(uri: str, data: bytes, content_type: str, timeout: float) -> bytes | None:
    """POST ``data`` (GET if empty) to an http:// URI; the body of a 200 answer, else None."""
    if not uri.lower().startswith("http://"):
        log.debug("unable to fetch from %s: only http:// URIs are supported", uri)
        return None
    request = urllib.request.Request(uri, data=data or None, method="POST" if data else "GET")
    if data:
        request.add_header("Content-Type", content_type)
    try:
        with _OPENER.open(request, timeout=timeout) as answer:
            if answer.status != 200:
                return None
            body = answer.read(MAX_RESPONSE + 1)
    except (OSError, ValueError, urllib.error.URLError) as exc:
        log.debug("fetching %s failed: %s", uri, exc)
        return None
    return body if len(body) <= MAX_RESPONSE else None


async def run_fetch(effect: Fetch, submit: Callable[[Callable[[float], None]], Awaitable[None]],
                    complete: Callable[[int, bytes | None, float], None], limiter: trio.CapacityLimiter,
                    fetcher: Callable[[str, bytes, str, float], bytes | None] = http_fetch) -> None:
    """Carry out one Fetch effect off the engine loop, then queue ``complete(id, body, now)``
    for the engine through ``submit``. A fetch past its timeout is abandoned (its thread ends
    on its own socket timeout) and answered with None."""
    body: bytes | None = None
    with trio.move_on_after(effect.timeout):
        body = await trio.to_thread.run_sync(fetcher, effect.uri, effect.data, effect.content_type, effect.timeout,
                                             abandon_on_cancel=True, limiter=limiter)
    if body is None:
        log.info("fetching %s failed or timed out", effect.uri)
    await submit(lambda now: complete(effect.fetch_id, body, now))


def revocation_credmgr(creds: CredStore, settings: Any) -> CredentialManager:
    """The engine's credential manager with the revocation plugin's settings; missing data is
    fetched by the engine's park-and-resume (``deferred``), never on the spot."""
    key = "charon.plugins.revocation"
    return CredentialManager(
        creds,
        deferred=True,
        fetch_timeout=settings.get_int(f"{key}.timeout", 10),
        enable_ocsp=settings.get_bool(f"{key}.enable_ocsp", True),
        enable_crl=settings.get_bool(f"{key}.enable_crl", True),
    )


__all__ = ["http_fetch", "revocation_credmgr", "run_fetch"]
