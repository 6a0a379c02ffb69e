"""A test OCSP responder made with cryptography.x509.ocsp: answers per certificate serial as
told (good, revoked, unknown), signed by the CA, a delegated signer or a wrong key, with the
request's nonce echoed (or a wrong one), fresh or stale; optionally served over HTTP on a
loopback socket in a thread (``serve``), which also serves CRLs on GET (``HttpResponder.crls``)
and can answer slowly (``Responder.delay``)."""

from __future__ import annotations

import datetime
import http.server
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509 import ocsp

from tests.unit.creds.pki import NOW, Issued, _hash


@dataclass
class Responder:
    """``statuses`` maps a serial to "good", "revoked" or "unknown" (default "good")."""

    issuer: Issued
    signer: Issued | None = None  # delegated responder (None: the CA signs)
    statuses: dict[int, str] = field(default_factory=dict)
    now: datetime.datetime = NOW
    stale: bool = False  # nextUpdate in the past
    no_next_update: bool = False
    bad_signature: bool = False  # the signature's last octet flipped (CA-signed responses)
    nonce: str = "echo"  # "echo", "none" or "wrong"
    include_signer: bool = True
    requests: list[bytes] = field(default_factory=list)
    status: ocsp.OCSPResponseStatus = ocsp.OCSPResponseStatus.SUCCESSFUL
    delay: float = 0.0  # seconds the HTTP server waits before it answers (a slow responder)

    def answer(self, request_der: bytes) -> bytes:
        self.requests.append(request_der)
        if self.status != ocsp.OCSPResponseStatus.SUCCESSFUL:
            return ocsp.OCSPResponseBuilder.build_unsuccessful(self.status).public_bytes(serialization.Encoding.DER)
        request = ocsp.load_der_ocsp_request(request_der)
        signer = self.signer or self.issuer
        state = self.statuses.get(request.serial_number, "good")
        status = {
            "good": ocsp.OCSPCertStatus.GOOD,
            "revoked": ocsp.OCSPCertStatus.REVOKED,
            "unknown": ocsp.OCSPCertStatus.UNKNOWN,
        }[state]
        this_update = self.now - datetime.timedelta(days=3 if self.stale else 0, hours=1)
        next_update = (
            None
            if self.no_next_update
            else (self.now - datetime.timedelta(days=1) if self.stale else self.now + datetime.timedelta(days=2))
        )
        builder = ocsp.OCSPResponseBuilder().add_response_by_hash(
            request.issuer_name_hash,
            request.issuer_key_hash,
            request.serial_number,
            request.hash_algorithm,
            status,
            this_update,
            next_update,
            self.now - datetime.timedelta(days=1) if state == "revoked" else None,
            x509.ReasonFlags.key_compromise if state == "revoked" else None,
        )
        builder = builder.responder_id(ocsp.OCSPResponderEncoding.NAME, signer.cert)
        if self.signer is not None and self.include_signer:
            builder = builder.certificates([self.signer.cert])
        try:
            nonce = request.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce
        except x509.ExtensionNotFound:
            nonce = None
        if nonce is not None and self.nonce != "none":
            value = nonce if self.nonce == "echo" else bytes(len(nonce))
            builder = builder.add_extension(x509.OCSPNonce(value), critical=False)
        der = builder.sign(signer.key, _hash(signer.key)).public_bytes(serialization.Encoding.DER)
        if self.bad_signature and self.signer is None:
            der = der[:-1] + bytes([der[-1] ^ 0x01])  # the signature is the last field: corrupt it
        return der

    def fetcher(self, uri: str, data: bytes, content_type: str, timeout: float) -> bytes | None:
        """A fetch seam answering in-process (unit tests)."""
        assert content_type == "application/ocsp-request"
        return self.answer(data)


class _Handler(http.server.BaseHTTPRequestHandler):
    responder: Responder

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        if self.headers.get("Content-Type") != "application/ocsp-request":
            self.send_error(415)
            return
        responder = self.server.responder  # type: ignore[attr-defined]
        time.sleep(responder.delay)
        self._answer(responder.answer(body), "application/ocsp-response")

    def do_GET(self) -> None:
        """A CRL from ``HttpResponder.crls`` by path (DER), else 404."""
        server = self.server
        server.gets.append(self.path)  # type: ignore[attr-defined]
        time.sleep(server.responder.delay)  # type: ignore[attr-defined]
        crl = server.crls.get(self.path)  # type: ignore[attr-defined]
        if crl is None:
            self.send_error(404)
            return
        self._answer(crl, "application/pkix-crl")

    def _answer(self, answer: bytes, content_type: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *_args: Any) -> None:
        pass


class HttpResponder:
    """``responder`` served over HTTP from a listening socket the caller made (so the socket may
    live in another network namespace); ``url`` is where to reach it. Stop with ``close``."""

    def __init__(self, responder: Responder, sock: socket.socket, host: str) -> None:
        self.responder = responder
        self.server = http.server.HTTPServer(sock.getsockname()[:2], _Handler, bind_and_activate=False)
        self.server.socket.close()
        self.server.socket = sock
        self.server.responder = responder  # type: ignore[attr-defined]
        self.crls: dict[str, bytes] = {}  # path -> DER CRL served on GET
        self.gets: list[str] = []  # paths asked for
        self.server.crls, self.server.gets = self.crls, self.gets  # type: ignore[attr-defined]
        self.base = f"http://{host}:{sock.getsockname()[1]}"
        self.url = f"{self.base}/ocsp"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


def loopback_socket(netns: str | None = None) -> socket.socket:
    """A listening TCP socket on 127.0.0.1 (inside network namespace ``netns`` if given)."""
    if netns is None:
        return _listen()
    box: dict[str, Any] = {}

    def inside() -> None:  # setns() changes only this short-lived thread's namespace
        import ctypes
        import os

        libc = ctypes.CDLL(None, use_errno=True)
        fd = os.open(f"/run/netns/{netns}", os.O_RDONLY)
        try:
            if libc.setns(fd, 0x40000000) != 0:  # CLONE_NEWNET
                box["error"] = OSError(ctypes.get_errno(), "setns failed")
                return
            box["sock"] = _listen()
        except OSError as exc:
            box["error"] = exc
        finally:
            os.close(fd)

    worker = threading.Thread(target=inside)
    worker.start()
    worker.join()
    if "error" in box:
        raise box["error"]
    return box["sock"]


def _listen() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    return sock


def serve(responder: Responder, netns: str | None = None) -> HttpResponder:
    return HttpResponder(responder, loopback_socket(netns), "127.0.0.1")
