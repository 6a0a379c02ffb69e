"""Public-key authentication (RFC 7296 §2.15, RFC 7427; charon ``pubkey_authenticator.c``).

Builder: our private key for ``my_id`` (the configured certificate's, else any certificate
matching the identity); with SIGNATURE_AUTH (the peer sent SIGNATURE_HASH_ALGORITHMS) an
RFC 7427 signature with the first scheme both support, else a classic RSA / ECDSA one.
Verifier: every trusted public key of ``other_id`` (chain validated, CRLs checked) until one
verifies; the certificate must allow digitalSignature or nonRepudiation. Verifying may need
revocation data fetched first: the message then waits and this runs again (``vicid.ike.fetch``).
"""

from __future__ import annotations

from typing import Any

from vicid.ike.authenticators.base import Authenticator, Result
from vicid.ike.config import AuthClass, AuthRule
from vicid.ike.crypto import signature as sig
from vicid.ike.messages import InMessage, OutMessage
from vicid.ike.sa_state import Ext
from vicid.ike.wire.enums import AuthMethod, PayloadType
from vicid.ike.wire.payloads import AuthPayload

_KEY_NAMES = {"ANY": "ANY", "RSA": "RSA", "ECDSA": "ECDSA", "ED25519": "ED25519", "ED448": "ED448"}


def credmgr(sa) -> Any:
    """The credential manager of the engine (created over the CredStore on first use)."""
    ctx = sa.ctx
    if getattr(ctx, "credmgr", None) is None:
        from vicid.creds.manager import CredentialManager

        ctx.credmgr = CredentialManager(ctx.creds)
    return ctx.credmgr


def configured_certs(values: list[Any]) -> list[Any]:
    """X.509 certificates of ``certs``/``cacerts`` rules (raw ``pubkeys`` are skipped)."""
    from vicid.creds.manager import parse_der

    out = []
    for value in values:
        if getattr(value, "kind", "x509") != "x509":
            continue
        cert = parse_der(value.der) if hasattr(value, "der") else value
        if cert is not None:
            out.append(cert)
    return out


class PubkeyBuilder(Authenticator):
    def build(self, msg: OutMessage) -> Result:
        sa = self.sa
        ident = sa.my_id
        certs = configured_certs(self.info.config.values(AuthRule.SUBJECT_CERT))
        local = credmgr(sa).private_key(ident, certs)
        if local is None:
            sa.log("IKE", 1, f"no private key found for '{ident}'")
            return Result.NOT_FOUND
        self.info.subject_cert, self.info.im_certs = local.cert, list(local.im_certs)
        sa.auth.sent_cert, sa.auth.sent_im = local.cert, list(local.im_certs)
        self.info.auth_class = AuthClass.PUBKEY
        if sa.supports(Ext.SIGNATURE_AUTH):
            return self._sign_rfc7427(msg, local.key)
        return self._sign_classic(msg, local.key)

    def _sign_rfc7427(self, msg: OutMessage, key: Any) -> Result:
        sa = self.sa
        constraints = []
        for rule in (AuthRule.IKE_SIGNATURE_SCHEME, AuthRule.SIGNATURE_SCHEME):
            for text in self.info.config.values(rule):  # both: signature_authentication_constraints
                constraints += [s for s in sig.parse_constraints(str(text))[1] if s not in constraints]
        schemes = sig.select_schemes(key, sa.auth.peer_hashes, constraints,
                                     getattr(sa.ctx.settings, "rsa_pss", False))
        if not schemes:
            sa.log("IKE", 1, "no common hash algorithm found to create signature with "
                             f"{sig.key_type(key)} key")
            return Result.FAILED
        octets = self.ctx.octets(True)
        for scheme in schemes:
            try:
                data = sig.build_auth_data(scheme, sig.sign(key, scheme, octets))
            except (sig.SignatureError, ValueError, TypeError):
                sa.log("IKE", 2, f"unable to create {scheme.name} signature for "
                                 f"{sig.key_type(key)} key")
                continue
            msg.add(AuthPayload(AuthMethod.DIGITAL_SIGNATURE, data))
            self.info.ike_scheme = scheme
            sa.log("IKE", 1, f"authentication of '{sa.my_id}' (myself) with {scheme.log_name()} successful")
            return Result.SUCCESS
        sa.log("IKE", 1, f"authentication of '{sa.my_id}' (myself) with {schemes[-1].log_name()} failed")
        return Result.FAILED

    def _sign_classic(self, msg: OutMessage, key: Any) -> Result:
        sa = self.sa
        found = sig.classic_scheme(key)
        if found is None:
            if sig.key_type(key) == "ECDSA":
                sa.log("IKE", 1, f"{sig.key_size(key)} bit ECDSA private key size not supported")
            else:
                sa.log("IKE", 1, f"private key of type {sig.key_type(key)} not supported")
            return Result.FAILED
        method, scheme = found
        try:
            data = sig.sign(key, scheme, self.ctx.octets(True))
        except (sig.SignatureError, ValueError, TypeError):
            sa.log("IKE", 1, f"authentication of '{sa.my_id}' (myself) with "
                             f"{sig.AUTH_METHOD_NAMES[method]} failed")
            return Result.FAILED
        msg.add(AuthPayload(method, data))
        self.info.ike_scheme = scheme
        sa.log("IKE", 1, f"authentication of '{sa.my_id}' (myself) with "
                         f"{sig.AUTH_METHOD_NAMES[method]} successful")
        return Result.SUCCESS


class PubkeyVerifier(Authenticator):
    def process(self, msg: InMessage) -> Result:
        sa = self.sa
        auth = msg.get(PayloadType.AUTH)
        if auth is None:
            return Result.FAILED
        parsed = self._scheme(auth)
        if parsed is None:
            return Result.FAILED
        scheme, signature = parsed
        octets = self.ctx.octets(False)
        info = self.info
        remote_cfg = info.config
        configured = configured_certs([*remote_cfg.values(AuthRule.CA_CERT),
                                       *remote_cfg.values(AuthRule.SUBJECT_CERT)])
        status = Result.NOT_FOUND
        keys = credmgr(sa).public_keys(
            scheme.key_type, sa.other_id, received=info.received_certs, received_im=info.received_im,
            configured=configured, received_crls=info.received_crls, log=sa.log,
            fetched=sa.tm.fetch.answers)  # revocation data missing: FetchNeeded parks the message
        for public, chain in keys:
            if sig.verify(public, scheme, octets, signature) and self._compliant(chain.subject):
                self._success(auth.method, scheme, chain)
                return Result.SUCCESS
            status = Result.FAILED
            sa.log("IKE", 1, "signature validation failed, looking for another key")
        if status is Result.NOT_FOUND:
            sa.log("IKE", 1, f"no trusted {_KEY_NAMES.get(scheme.key_type, scheme.key_type)} public key "
                             f"found for '{sa.other_id}'")
        return status

    def _scheme(self, auth: AuthPayload) -> tuple[sig.Scheme, bytes] | None:
        if auth.method in sig.CLASSIC:
            return sig.CLASSIC[auth.method], auth.data
        name = sig.AUTH_METHOD_NAMES.get(auth.method, f"({auth.method})")
        if auth.method != AuthMethod.DIGITAL_SIGNATURE:
            self.sa.log("IKE", 1, f"{name} authentication unsupported")
            return None
        try:
            return sig.parse_auth_data(auth.data)
        except sig.SignatureError:
            self.sa.log("IKE", 1, f"{name} authentication payload invalid")
            return None

    def _compliant(self, cert: Any) -> bool:
        from vicid.creds.trust import ike_compliant

        if cert is None or ike_compliant(cert):
            return True
        self.sa.log("IKE", 1, "rejecting certificate without digitalSignature or nonRepudiation "
                              "keyUsage flags")
        return False

    def _success(self, method: int, scheme: sig.Scheme, chain: Any) -> None:
        sa, info = self.sa, self.info
        if method != AuthMethod.DIGITAL_SIGNATURE:
            what = sig.AUTH_METHOD_NAMES[method]
        else:
            what = scheme.log_name()
        sa.log("IKE", 1, f"authentication of '{sa.other_id}' with {what} successful")
        info.auth_class = AuthClass.PUBKEY
        info.ike_scheme = scheme
        info.subject_cert, info.im_certs = chain.subject, list(chain.im_certs)
        info.ca_cert, info.crl_validation = chain.ca_cert, chain.crl_validation
