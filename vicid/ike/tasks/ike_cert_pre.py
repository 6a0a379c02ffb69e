"""CERTREQ and received CERT payloads before AUTH (charon ``ike_cert_pre.c``, RFC 7296 §3.7).

We ask for certificates (CERTREQ, encoding 4: SHA-1 hashes of the trusted CAs'
SubjectPublicKeyInfo) in the IKE_SA_INIT response as responder and in the first IKE_AUTH
request as initiator, unless ``send_certreq = no``: the CAs of the remote rounds' ``cacerts``
if configured, else every trusted CA certificate. Received CERTREQs set "certreq seen" (so
``send_cert = ifasked`` sends ours); received CERT payloads become helper certificates of the
peer's round in progress: the first an end-entity candidate, the others issuers; CRLs are kept
for revocation checks. Certificates come from the peer: they are parsed, never trusted as such.
"""

from __future__ import annotations

from cryptography import x509

from vicid.creds.trust import spki_sha1, subject_text
from vicid.ike.authenticators.pubkey import configured_certs, credmgr
from vicid.ike.config import AuthRule
from vicid.ike.messages import InMessage, OutMessage
from vicid.ike.tasks.base import Status, Task, TaskKind
from vicid.ike.wire.enums import ExchangeType, NotifyType, PayloadType
from vicid.ike.wire.payloads import CertreqPayload

E = ExchangeType
ENC_X509_SIGNATURE, ENC_CRL, ENC_X509_HASH_AND_URL, ENC_OCSP_CONTENT = 4, 7, 12, 14
CERT_ENCODING_NAMES = {1: "PKCS7_WRAPPED_X509", 2: "PGP", 3: "DNS_SIGNED_KEY", 4: "X509_SIGNATURE",
                       6: "KERBEROS_TOKEN", 7: "CRL", 8: "ARL", 9: "SPKI", 10: "X509_ATTRIBUTE",
                       11: "RAW_RSA_KEY", 12: "X509_HASH_AND_URL", 13: "X509_HASH_AND_URL_BUNDLE",
                       14: "OCSP_CONTENT", 15: "RAW_PUBLIC_KEY"}
KEYID_LEN = 20


class IkeCertPre(Task):
    kind = TaskKind.IKE_CERT_PRE

    def __init__(self, sa, initiator: bool) -> None:
        super().__init__(sa, initiator)
        self.sent = False

    def migrate(self) -> None:
        self.sent = False

    # --- building -----------------------------------------------------------------------------
    def build(self, msg: OutMessage) -> Status:
        wanted = E.IKE_AUTH if self.initiator else E.IKE_SA_INIT
        if msg.exchange == wanted and not self.sent:
            self.sent = True
            self._build_certreqs(msg)
        return Status.NEED_MORE

    def _build_certreqs(self, msg: OutMessage) -> None:
        sa = self.sa
        ike_cfg = sa.ike_cfg or sa.peer_cfg
        if ike_cfg is None or not ike_cfg.send_certreq:
            return
        cas: list[x509.Certificate] = []
        if sa.peer_cfg is not None:
            for auth in sa.peer_cfg.remote_auth:
                cas += configured_certs(auth.values(AuthRule.CA_CERT))
        if not cas:
            cas = credmgr(sa).ca_certs()
        keyids: list[bytes] = []
        for cert in cas:
            keyid = spki_sha1(cert)
            if keyid not in keyids:
                keyids.append(keyid)
                sa.log("IKE", 1, f'sending cert request for "{subject_text(cert)}"')
        if keyids:
            msg.add(CertreqPayload(ENC_X509_SIGNATURE, b"".join(keyids)))

    # --- processing ---------------------------------------------------------------------------
    def process(self, msg: InMessage) -> Status:
        if msg.exchange == E.IKE_SA_INIT and self.initiator:
            self._process_certreqs(msg)
        elif msg.exchange == E.IKE_AUTH:
            if not self.initiator:
                self._process_certreqs(msg)
            self._process_certs(msg)
            if msg.get(PayloadType.AUTH) is not None and msg.notify(NotifyType.ANOTHER_AUTH_FOLLOWS) is None:
                return Status.SUCCESS
        return Status.NEED_MORE

    def _process_certreqs(self, msg: InMessage) -> None:
        sa = self.sa
        for req in msg.get_all(PayloadType.CERTREQ):
            sa.auth.certreq_seen = True
            if req.encoding != ENC_X509_SIGNATURE:
                sa.log("IKE", 1, f"cert payload {CERT_ENCODING_NAMES.get(req.encoding, req.encoding)} "
                                 "not supported - ignored")
                continue
            unknown = 0
            data = req.data
            for pos in range(0, len(data) - len(data) % KEYID_LEN, KEYID_LEN):
                cert = credmgr(sa).ca_by_keyid(data[pos:pos + KEYID_LEN])
                if cert is None:
                    unknown += 1
                    continue
                sa.log("IKE", 1, f'received cert request for "{subject_text(cert)}"')
                sa.auth.local.requested_cas.append(cert)
            if unknown:
                sa.log("IKE", 1, f"received {unknown} cert requests for an unknown ca")

    def _process_certs(self, msg: InMessage) -> None:
        sa = self.sa
        info = sa.auth.remote
        first = True
        for payload in msg.get_all(PayloadType.CERT):
            if payload.encoding == ENC_X509_SIGNATURE:
                cert = _parse_cert(payload.data)
                if cert is None:
                    sa.drop("bad_certificate")
                    continue
                if first:
                    sa.log("IKE", 1, f'received end entity cert "{subject_text(cert)}"')
                    info.received_certs.append(cert)
                    first = False
                else:
                    sa.log("IKE", 1, f'received issuer cert "{subject_text(cert)}"')
                    info.received_im.append(cert)
            elif payload.encoding == ENC_CRL:
                crl = _parse_crl(payload.data)
                if crl is not None:
                    sa.log("IKE", 1, f'received CRL "{_dn(crl.issuer)}"')
                    info.received_crls.append(crl)
            elif payload.encoding == ENC_X509_HASH_AND_URL:
                sa.log("IKE", 1, "received hash-and-url encoded cert, but we don't accept them, ignore")
            else:
                name = CERT_ENCODING_NAMES.get(payload.encoding, f"({payload.encoding})")
                sa.log("ENC", 1, f"certificate encoding {name} not supported")


def _dn(name: x509.Name) -> str:
    from vicid.identity import dntoa

    return dntoa(name.public_bytes())


def _parse_cert(der: bytes) -> x509.Certificate | None:
    """A peer's certificate; None if it does not parse (input from the wire)."""
    try:
        return x509.load_der_x509_certificate(der)
    except ValueError:
        return None


def _parse_crl(der: bytes) -> x509.CertificateRevocationList | None:
    try:
        return x509.load_der_x509_crl(der)
    except ValueError:
        return None
