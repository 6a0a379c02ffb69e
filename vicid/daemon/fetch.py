"""The shell's fetcher for revocation data (charon's ``curl`` fetcher, HTTP only).

The credential manager calls it synchronously while an IKE_AUTH is verified: the engine loop
waits for the answer (at most ``charon.plugins.revocation.timeout`` seconds), as the charon
worker thread handling that IKE_SA waits. Responses are cached by the credential layer, so a
responder is asked once per certificate until its answer goes stale.
"""

from __future__ import annotations

import logging
import urllib.error
import urllib.request
from typing import Any

from vicid.creds.manager import CredentialManager
from vicid.creds.store import CredStore

log = logging.getLogger("vicid.creds")
MAX_RESPONSE = 1 << 20  # an OCSP response or CRL larger than 1 MiB is refused
# responders are asked directly: a proxy from the environment may not be reachable from the
# daemon's network namespace
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


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


def revocation_credmgr(creds: CredStore, settings: Any) -> CredentialManager:
    """The engine's credential manager with the revocation plugin's settings and this fetcher."""
    key = "charon.plugins.revocation"
    return CredentialManager(
        creds,
        fetcher=http_fetch,
        fetch_timeout=settings.get_int(f"{key}.timeout", 10),
        enable_ocsp=settings.get_bool(f"{key}.enable_ocsp", True),
        enable_crl=settings.get_bool(f"{key}.enable_crl", True),
    )


__all__ = ["http_fetch", "revocation_credmgr"]
