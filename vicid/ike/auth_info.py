"""What one authentication round established (charon's "done" ``auth_cfg_t``) and the
constraint check against a configured round (``auth_cfg->complies``).

An IKE_SA keeps, per side, the completed rounds and the round in progress (:class:`AuthRounds`);
ike_cert_pre adds the certificates the peer sent to the round in progress, the authenticators
add what they verified (class, identity, certificate chain, EAP method and identity).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from vicid.identity import Identification, IdKind
from vicid.ike.config import AUTH_CLASS_NAMES, AuthClass, AuthConfig, AuthRule
from vicid.ike.crypto.signature import Scheme, parse_constraints

VALIDATION_NAMES = ("GOOD", "SKIPPED", "STALE", "FAILED", "ON_HOLD", "REVOKED")
EAP_TYPE_NAMES = {1: "EAP_IDENTITY", 4: "EAP_MD5", 5: "EAP_OTP", 6: "EAP_GTC", 13: "EAP_TLS",
                  18: "EAP_SIM", 21: "EAP_TTLS", 23: "EAP_AKA", 25: "EAP_PEAP", 26: "EAP_MSCHAPV2",
                  38: "EAP_TNC", 254: "EAP_EXPANDED", 255: "EAP_EXPERIMENTAL", 256: "EAP_RADIUS",
                  257: "EAP_DYNAMIC"}
EAP_DYNAMIC, EAP_RADIUS = 257, 256


def eap_type_name(eap_type: int) -> str:
    return EAP_TYPE_NAMES.get(eap_type, f"({eap_type})")


def kind_name(ident: Identification) -> str:
    try:
        return IdKind(ident.type).name
    except ValueError:
        return str(ident.type)


@dataclass
class AuthInfo:
    """One side's round: configured rules merged with what was proven."""

    config: AuthConfig = field(default_factory=AuthConfig)
    auth_class: AuthClass | None = None
    identity: Identification | None = None
    eap_type: int = 0
    eap_vendor: int = 0
    eap_identity: Identification | None = None
    subject_cert: Any = None  # cryptography x509.Certificate
    im_certs: list[Any] = field(default_factory=list)
    ca_cert: Any = None
    crl_validation: int | None = None
    ike_scheme: Scheme | None = None
    # helpers filled from CERT/CERTREQ payloads of this round
    received_certs: list[Any] = field(default_factory=list)  # end entity first
    received_im: list[Any] = field(default_factory=list)
    received_crls: list[Any] = field(default_factory=list)
    requested_cas: list[Any] = field(default_factory=list)  # CA certs the peer asked for


@dataclass
class AuthRounds:
    """Per IKE_SA: completed rounds and the ones in progress, plus what IKE_SA_INIT told."""

    local_done: list[AuthInfo] = field(default_factory=list)
    remote_done: list[AuthInfo] = field(default_factory=list)
    local: AuthInfo = field(default_factory=AuthInfo)
    remote: AuthInfo = field(default_factory=AuthInfo)
    peer_hashes: set[int] = field(default_factory=set)  # SIGNATURE_HASH_ALGORITHMS received
    certreq_seen: bool = False

    sent_cert: Any = None  # our end-entity certificate of the last pubkey round
    sent_im: list[Any] = field(default_factory=list)

    def apply(self, local: bool) -> None:
        """``apply_auth_cfg``: the round in progress becomes a completed one; a fresh round
        collects what comes next."""
        if local:
            self.local_done.append(self.local)
            self.local = AuthInfo()
        else:
            self.remote_done.append(self.remote)
            self.remote = AuthInfo()

    def purge(self, local: bool, config: AuthConfig | None = None) -> AuthInfo:
        """Start a new round (``purge`` + ``merge`` of the configured one)."""
        info = AuthInfo(config or AuthConfig())
        if local:
            self.local = info
        else:
            self.remote = info
        return info

    @property
    def remote_eap_identity(self) -> Identification | None:
        for info in [*self.remote_done, self.remote]:
            if info.eap_identity is not None:
                return info.eap_identity
        return None


def _cert_der(cert: Any) -> bytes:
    der = getattr(cert, "der", None)
    if der is not None:
        return der
    from cryptography.hazmat.primitives.serialization import Encoding

    return cert.public_bytes(Encoding.DER)


def _subject_text(cert: Any) -> str:
    subject = getattr(cert, "subject", None)
    if isinstance(subject, Identification):
        return str(subject)
    from vicid.creds.trust import subject_text

    return subject_text(cert)


def _identity_error(rule: AuthRule, wanted: Identification, have: Identification | None) -> str:
    prefix = "" if rule == AuthRule.IDENTITY else "EAP "
    if have is None:
        return f"constraint check failed: {prefix}identity '{wanted}' ({kind_name(wanted)}) required"
    return (f"constraint check failed: {prefix}identity '{wanted}' ({kind_name(wanted)}) required, "
            f"not matched by '{have}' ({kind_name(have)})")


def _chain_ders(done: AuthInfo) -> list[bytes]:
    return [_cert_der(c) for c in [*done.im_certs, *([done.ca_cert] if done.ca_cert is not None else [])]]


def complies(done: AuthInfo, constraints: AuthConfig) -> str | None:
    """``complies(constraints, log_error)``: the first failure message, or None."""
    require_ca: str | None = None
    ca_match = False
    require_cert: Any = None
    cert_match = False
    schemes: list[Scheme] = []
    for rule, value in constraints.enumerate():
        problem = None
        if rule == AuthRule.AUTH_CLASS:
            if value != AuthClass.ANY and value != done.auth_class:
                problem = (f"constraint requires {AUTH_CLASS_NAMES.get(int(value), value)} authentication, "
                           f"but {AUTH_CLASS_NAMES.get(int(done.auth_class or 0), done.auth_class)} was used")
        elif rule in (AuthRule.IDENTITY, AuthRule.EAP_IDENTITY):
            have = done.identity if rule == AuthRule.IDENTITY else done.eap_identity
            if have is None or not have.matches(value):
                problem = _identity_error(rule, value, have)
        elif rule == AuthRule.EAP_TYPE:
            if value != done.eap_type and value not in (EAP_DYNAMIC, EAP_RADIUS):
                problem = f"constraint requires {eap_type_name(value)}, but {eap_type_name(done.eap_type)} was used"
        elif rule == AuthRule.CA_CERT:
            require_ca = _subject_text(value)
            ca_match = ca_match or _cert_der(value) in _chain_ders(done)
        elif rule == AuthRule.CA_IDENTITY:
            require_ca = str(value)
            from vicid.creds.trust import has_subject

            ca_match = ca_match or any(has_subject(c, value) for c in [*done.im_certs, done.ca_cert] if c is not None)
        elif rule == AuthRule.SUBJECT_CERT:
            require_cert = value
            cert_match = cert_match or (done.subject_cert is not None and
                                        _cert_der(done.subject_cert) == _cert_der(value))
        elif rule == AuthRule.CRL_VALIDATION:
            problem = _validation_problem(int(value), done.crl_validation)
        elif rule in (AuthRule.IKE_SIGNATURE_SCHEME, AuthRule.SIGNATURE_SCHEME):
            schemes += parse_constraints(str(value))[1]
        if problem:
            return problem
    if schemes and done.ike_scheme is not None and done.auth_class == AuthClass.PUBKEY and not any(
            s.name == done.ike_scheme.name and s.hash_id == done.ike_scheme.hash_id for s in schemes):
        return f"signature scheme {done.ike_scheme.log_name()} not acceptable"
    if require_ca is not None and not ca_match:
        return f"constraint check failed: peer not authenticated by CA '{require_ca}'"
    if require_cert is not None and not cert_match:
        return ("constraint check failed: peer not authenticated with peer cert "
                f"'{_subject_text(require_cert)}'")
    return None


def _validation_problem(required: int, validated: int | None) -> str | None:
    """revocation = strict (GOOD) / ifuri (SKIPPED) / relaxed (FAILED: no constraint)."""
    if required >= 3 or validated is None:
        return None
    ok = validated == 0 or (required == 1 and validated == 1)
    if ok:
        return None
    return (f"constraint check failed: RULE_CRL_VALIDATION is {VALIDATION_NAMES[validated]}, "
            f"but requires at least {VALIDATION_NAMES[required]}")


__all__ = ["AuthInfo", "AuthRounds", "complies", "eap_type_name"]
