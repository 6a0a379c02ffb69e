"""EAP-TLS (RFC 5216; TLS 1.3 per RFC 9190) as charon's eap-tls plugin and libtls speak it.

TLS itself is OpenSSL through pyOpenSSL over memory BIOs: records go in with ``bio_write`` and
come out with ``bio_read``, so the method stays sans-I/O. What this module adds is the EAP-TLS
framing of ``tls_eap.c``:

* flags L (length included), M (more fragments), S (start); the server starts with an empty
  Start request and raises the EAP identifier for every request it sends;
* a TLS flight larger than ``charon.plugins.eap-tls.fragment_size`` (1024, counting the EAP
  header) goes out in fragments, the first with L and the total length; every fragment but the
  last has M and is acknowledged by an empty EAP-TLS packet; with ``include_length`` (default)
  an unfragmented packet carries L too;
* at most ``max_message_count`` (32) packets per exchange;
* TLS 1.3: after the handshake the server sends one protected octet 0x00 (the "protected
  success indication" of RFC 9190), the client acknowledges, then EAP-Success follows;
* MSK: TLS 1.2 ``PRF(master, "client EAP encryption", client.random | server.random)``,
  TLS 1.3 ``TLS-Exporter("EXPORTER_EAP_TLS_Key_Material", 0x0D, 128)``; the first 64 octets.

Versions: ``charon.tls.version_min/max`` (libtls fallback), 1.2 to 1.2 by default as charon 6.1.
Certificates come from vicid's credential store: our end-entity certificate and key for our
identity (the EAP identity or IKE identity of the client, the IKE identity or ``aaa_id`` of the
server) with its intermediates; the peer's certificate must chain to a loaded CA and carry the
expected identity (``%any`` accepts the subject), checked by the same code as IKE signatures
(CRLs included) from OpenSSL's verify callback, so an untrusted peer gets a TLS alert.
"""

from __future__ import annotations

import struct
from typing import Any

from OpenSSL import SSL, crypto

from vicid.identity import IdKind
from vicid.ike.authenticators.eap_methods import EAP_TLS, REQUEST, RESPONSE, EapMethod, EapPacket, St
from vicid.ike.config import AuthRule
from vicid.secrets import Secret

FLAG_LENGTH, FLAG_MORE, FLAG_START = 0x80, 0x40, 0x20
MAX_MESSAGE_LEN = 4 * (16384 + 2048)  # libtls' limit on the announced TLS message length
_HEADER = 6  # code, identifier, length, type, flags
_VERSIONS = {
    0x0301: SSL.TLS1_VERSION,
    0x0302: SSL.TLS1_1_VERSION,
    0x0303: SSL.TLS1_2_VERSION,
    0x0304: SSL.TLS1_3_VERSION,
}
_VERSION_NAMES = {"TLSv1": "TLS 1.0", "TLSv1.1": "TLS 1.1", "TLSv1.2": "TLS 1.2", "TLSv1.3": "TLS 1.3"}
MSK_LABEL_12 = b"client EAP encryption"
MSK_LABEL_13 = b"EXPORTER_EAP_TLS_Key_Material"


class TlsMethod(EapMethod):
    eap_type = EAP_TLS
    mutual = True
    derives_msk = True

    def __init__(self, *args) -> None:
        super().__init__(*args)
        cfg = getattr(self.sa.ctx.settings, "eap_tls", None)
        self.frag_size = max(64, getattr(cfg, "fragment_size", 1024))
        self.max_count = getattr(cfg, "max_message_count", 32)
        self.include_length = getattr(cfg, "include_length", True)
        self.version_min = getattr(cfg, "version_min", 0x0303)
        self.version_max = getattr(cfg, "version_max", 0x0303)
        self.processed = 0
        self.pending = b""  # TLS output of the current flight not yet sent
        self.first_fragment = True
        self.complete = False  # handshake done
        self.indication = False  # TLS 1.3 protected success indication sent/received
        self.failed = False  # a TLS alert is on its way; the next packet ends the method
        self.peer_certs: list[Any] = []  # cryptography certificates from the verify callback
        self.chain: Any = None  # ChainResult of the verified peer certificate
        self._verdict: bool | None = None
        self._conn: SSL.Connection | None = None
        if self.is_server:
            self.identifier = self._new_identifier()

    # --- setup ----------------------------------------------------------------------------------
    def _log(self, level: int, msg: str) -> None:
        self.sa.log("TLS", level, msg)

    def _credmgr(self) -> Any:
        from vicid.ike.authenticators.pubkey import credmgr

        return credmgr(self.sa)

    def _connection(self) -> SSL.Connection | None:
        """The OpenSSL connection with our certificate, key and the verify hook."""
        from vicid.ike.authenticators.pubkey import configured_certs

        me = self.server if self.is_server else self.peer
        configured = [] if self.is_server else configured_certs(self.sa.auth.local.config.values(AuthRule.SUBJECT_CERT))
        local = self._credmgr().private_key(me, configured)
        ctx = SSL.Context(SSL.TLS_METHOD)
        ctx.set_min_proto_version(_VERSIONS.get(self.version_min, SSL.TLS1_2_VERSION))
        ctx.set_max_proto_version(_VERSIONS.get(self.version_max, SSL.TLS1_2_VERSION))
        # libtls sends no renegotiation_info (RFC 5746); EAP-TLS never renegotiates, so OpenSSL's
        # refusal of such servers only gets in the way
        ctx.set_options(SSL.OP_NO_TICKET | SSL.OP_NO_RENEGOTIATION | SSL.OP_LEGACY_SERVER_CONNECT)
        if local is None or local.cert is None:
            role = "server" if self.is_server else "client"
            self._log(1, f"no usable TLS {role} certificate found for '{me}'")
            if self.is_server:
                return None
        else:
            ctx.use_certificate(local.cert)
            ctx.use_privatekey(local.key)
            for im in local.im_certs:
                ctx.add_extra_chain_cert(im)
        ctx.set_verify(SSL.VERIFY_PEER | SSL.VERIFY_FAIL_IF_NO_PEER_CERT, self._verify)
        conn = SSL.Connection(ctx, None)
        if self.is_server:
            conn.set_accept_state()
        else:
            conn.set_connect_state()
        return conn

    def _verify(self, _conn: SSL.Connection, cert: crypto.X509, _err: int, depth: int, _ok: int) -> bool:
        """OpenSSL's opinion is ignored (it has no trust anchors); at depth 0 vicid decides."""
        parsed = cert.to_cryptography()
        if parsed not in self.peer_certs:
            self.peer_certs.append(parsed)
        if depth != 0:
            return True
        if self._verdict is not None:  # OpenSSL asks once per error it found, and once more
            return self._verdict
        try:
            self._verdict = self._trusted(parsed)
            return self._verdict
        except Exception as exc:  # raised here, it would escape from inside OpenSSL
            self._log(1, f"verifying TLS peer certificate failed: {exc}")
            self._verdict = False
            return False

    def _trusted(self, leaf: Any) -> bool:
        from vicid.creds.trust import subject_text

        ident = self.peer if self.is_server else self.server
        what = "peer" if self.is_server else "server"
        self._log(1, f"received TLS {what} certificate '{subject_text(leaf)}'")
        ims = [c for c in self.peer_certs if c != leaf]
        for im in ims:
            self._log(1, f"received TLS intermediate certificate '{subject_text(im)}'")
        if ident.type == IdKind.ID_ANY:
            from vicid.creds.trust import subject_id

            ident = subject_id(leaf)
        for _key, chain in self._credmgr().public_keys("ANY", ident, received=[leaf], received_im=ims, log=self.sa.log):
            if chain.subject == leaf:
                self.chain = chain
                return True
        self._log(1, f"no trusted certificate found for '{ident}' to verify TLS {what}")
        return False

    # --- EAP framing ----------------------------------------------------------------------------
    def initiate(self) -> tuple[St, EapPacket | None]:
        if not self.is_server:
            return St.FAILED, None
        self._conn = self._connection()
        if self._conn is None:
            return St.FAILED, None
        self._log(2, "sending EAP_TLS start packet (6 bytes)")
        return St.NEED_MORE, EapPacket(REQUEST, self.identifier, EAP_TLS, bytes([FLAG_START]))

    def process(self, packet: EapPacket) -> tuple[St, EapPacket | None]:
        self.processed += 1
        if self.max_count and self.processed > self.max_count:
            self._log(1, f"EAP_TLS packet count exceeded ({self.processed} > {self.max_count})")
            return St.FAILED, None
        if not packet.data:
            self._log(1, "invalid EAP_TLS packet length")
            return St.FAILED, None
        if not self.is_server:
            self.identifier = packet.identifier
        if self.failed:
            return St.FAILED, None
        flags = packet.data[0]
        if flags & FLAG_START:
            if self.is_server:
                return St.FAILED, None
            if self._conn is None:
                self._conn = self._connection()
            if self._conn is None:
                return St.FAILED, None
            return self._advance(b"")
        if len(packet.data) == 1:
            self._log(2, "received EAP_TLS acknowledgment packet")
            if self.pending:
                return St.NEED_MORE, self._fragment()
            if self.is_server and self.complete:
                return St.SUCCESS, None
            return St.NEED_MORE, self._ack()
        data = packet.data[1:]
        if flags & FLAG_LENGTH:
            if len(data) < 4:
                self._log(1, "EAP_TLS packet too short")
                return St.FAILED, None
            (total,) = struct.unpack("!I", data[:4])
            data = data[4:]
            if total < len(data) or total > MAX_MESSAGE_LEN:
                self._log(1, f"invalid EAP_TLS packet length ({total} bytes)")
                return St.FAILED, None
        if self._conn is None:
            return St.FAILED, None
        status, reply = self._advance(data, more=bool(flags & FLAG_MORE))
        if status is St.NEED_MORE and reply is None:
            return St.NEED_MORE, self._ack()
        return status, reply

    def _advance(self, data: bytes, more: bool = False) -> tuple[St, EapPacket | None]:
        """Feed received records to OpenSSL, then send what it produced, or an ACK while the
        peer has more fragments to come or we have nothing to say."""
        conn = self._conn
        assert conn is not None
        if data:
            conn.bio_write(data)
        try:
            if not self.complete:
                conn.do_handshake()
                self._handshake_done()
            if self.complete:
                self._application()
        except SSL.WantReadError:
            pass
        except SSL.Error as exc:
            return self._tls_failed(exc)
        self.pending += self._drain()
        if more and not self.failed:
            return St.NEED_MORE, None
        if self.pending:
            return St.NEED_MORE, self._fragment()
        if self.failed:
            return St.FAILED, None
        return St.NEED_MORE, None

    def _handshake_done(self) -> None:
        conn = self._conn
        assert conn is not None
        self.complete = True
        version = _VERSION_NAMES.get(conn.get_protocol_version_name(), conn.get_protocol_version_name())
        self._log(1, f"negotiated {version} using suite {conn.get_cipher_name()}")
        if self.is_server and self._tls13() and not self.indication:
            self._log(2, "sending protected success indication via TLS")
            conn.send(b"\x00")
            self.indication = True

    def _application(self) -> None:
        """Application data after the handshake: only the server's 0x00 with TLS 1.3."""
        conn = self._conn
        assert conn is not None
        while True:
            try:
                data = conn.recv(16384)
            except SSL.WantReadError:
                return
            except SSL.ZeroReturnError:
                return
            if self.is_server or not self._tls13() or self.indication:
                self._log(1, "peer sent unexpected TLS data")
                self.failed = True
                return
            if data != b"\x00":
                self._log(1, "received incorrect protected success indication via TLS")
                self.failed = True
                return
            self._log(2, "received protected success indication via TLS")
            self.indication = True

    def _tls_failed(self, exc: Exception) -> tuple[St, EapPacket | None]:
        """Send the alert OpenSSL produced, if any; the method fails on the next packet."""
        self._log(1, f"TLS handshake failed: {self._reason(exc)}")
        self.failed = True
        out = self._drain()
        if not out:
            return St.FAILED, None
        self.pending += out
        return St.NEED_MORE, self._fragment()

    @staticmethod
    def _reason(exc: Exception) -> str:
        args = exc.args[0] if exc.args else None
        if isinstance(args, list) and args:
            return str(args[-1][-1])
        return str(exc) or type(exc).__name__

    def _drain(self) -> bytes:
        conn = self._conn
        out = b""
        if conn is None:
            return out
        while True:
            try:
                chunk = conn.bio_read(65536)
            except SSL.WantReadError:
                return out
            if not chunk:
                return out
            out += chunk

    def _fragment(self) -> EapPacket:
        """The next packet of the pending flight (``build_pkt``)."""
        flags = 0
        if self.first_fragment:
            room = self.frag_size - _HEADER - 4
            total = len(self.pending)
            chunk, self.pending = self.pending[:room], self.pending[room:]
            if self.pending:
                flags, kind = FLAG_LENGTH | FLAG_MORE, "first fragment"
                self.first_fragment = False
            else:
                flags, kind = (FLAG_LENGTH if self.include_length else 0), "packet"
            body = (struct.pack("!I", total) if flags & FLAG_LENGTH else b"") + chunk
        else:
            room = self.frag_size - _HEADER
            chunk, self.pending = self.pending[:room], self.pending[room:]
            if self.pending:
                flags, kind = FLAG_MORE, "further fragment"
            else:
                kind = "final fragment"
                self.first_fragment = True
            body = chunk
        code = REQUEST if self.is_server else RESPONSE
        if self.is_server:
            self.identifier = (self.identifier + 1) & 0xFF
        self._log(2, f"sending EAP_TLS {kind} ({_HEADER + len(body)} bytes)")
        return EapPacket(code, self.identifier, EAP_TLS, bytes([flags]) + body)

    def _ack(self) -> EapPacket:
        if self.is_server:
            self.identifier = (self.identifier + 1) & 0xFF
        self._log(2, "sending EAP_TLS acknowledgment packet")
        return EapPacket(REQUEST if self.is_server else RESPONSE, self.identifier, EAP_TLS, b"\x00")

    # --- results --------------------------------------------------------------------------------
    def _tls13(self) -> bool:
        return self._conn is not None and self._conn.get_protocol_version_name() == "TLSv1.3"

    def msk(self) -> Secret | None:
        conn = self._conn
        if conn is None or not self.complete or self.failed:
            return None
        if self._tls13():
            if not self.indication:
                self._log(1, "missing protected success indication for EAP-TLS with TLS 1.3")
                return None
            material = conn.export_keying_material(MSK_LABEL_13, 128, bytes([EAP_TLS]))
        else:
            material = conn.export_keying_material(MSK_LABEL_12, 128)
        return Secret(material[:64])

    def merge_auth(self, info) -> None:
        """The verified client certificate chain becomes the round's (``get_auth``)."""
        chain = self.chain
        if chain is None:
            return
        info.subject_cert, info.im_certs = chain.subject, list(chain.im_certs)
        info.ca_cert, info.crl_validation = chain.ca_cert, chain.crl_validation


__all__ = ["TlsMethod"]
