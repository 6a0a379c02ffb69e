"""CERT payloads after AUTH (charon ``ike_cert_post.c``, RFC 7296 §3.6).

When our round signed with a certificate, the end-entity certificate and the intermediate CA
certificates above it go out in CERT payloads (encoding 4, X.509 signature) - always with
``send_cert = always``, only after the peer sent a CERTREQ with ``ifasked`` (the default),
never with ``never``. Nothing is sent for PSK or EAP AUTH payloads.
"""

from __future__ import annotations

from cryptography.hazmat.primitives.serialization import Encoding

from vicid.creds.trust import subject_text
from vicid.ike.config import CertPolicy
from vicid.ike.messages import InMessage, OutMessage
from vicid.ike.sa_state import Cond
from vicid.ike.tasks.base import Status, Task, TaskKind
from vicid.ike.wire.enums import AuthMethod, ExchangeType, PayloadType
from vicid.ike.wire.payloads import CertPayload

ENC_X509_SIGNATURE = 4


class IkeCertPost(Task):
    kind = TaskKind.IKE_CERT_POST

    def build(self, msg: OutMessage) -> Status:
        if msg.exchange == ExchangeType.IKE_AUTH:
            self._build_certs(msg)
        if self.initiator or not self.sa.has(Cond.AUTHENTICATED):
            return Status.NEED_MORE  # more rounds with certificates may follow
        return Status.SUCCESS

    def process(self, msg: InMessage) -> Status:
        if not self.initiator or not self.sa.has(Cond.AUTHENTICATED):
            return Status.NEED_MORE
        return Status.SUCCESS

    def _build_certs(self, msg: OutMessage) -> None:
        sa = self.sa
        auth = msg.get(PayloadType.AUTH)
        cfg = sa.peer_cfg
        if cfg is None or auth is None or auth.method == AuthMethod.PSK:
            return  # no CERT payload for EAP/PSK
        if cfg.send_cert == CertPolicy.NEVER_SEND:
            return
        if cfg.send_cert == CertPolicy.SEND_IF_ASKED and not sa.auth.certreq_seen:
            return
        cert = sa.auth.sent_cert
        if cert is None:
            return
        sa.log("IKE", 1, f'sending end entity cert "{subject_text(cert)}"')
        msg.add(CertPayload(ENC_X509_SIGNATURE, cert.public_bytes(Encoding.DER)))
        for im in sa.auth.sent_im:
            sa.log("IKE", 1, f'sending issuer cert "{subject_text(im)}"')
            msg.add(CertPayload(ENC_X509_SIGNATURE, im.public_bytes(Encoding.DER)))
