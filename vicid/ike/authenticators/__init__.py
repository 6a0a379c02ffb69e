"""IKEv2 authenticators (charon ``sa/ikev2/authenticators``): PSK, public key, EAP.

``create_builder`` picks by the configured auth class of our round (any = public key),
``create_verifier`` by the AUTH method the peer used (no AUTH payload = EAP).
"""

from __future__ import annotations

from vicid.ike.auth_info import AuthInfo, AuthRounds, complies
from vicid.ike.authenticators.base import AuthContext, Authenticator, Result
from vicid.ike.config import AuthClass, AuthRule
from vicid.ike.messages import InMessage
from vicid.ike.wire.enums import AuthMethod, PayloadType

_PUBKEY_METHODS = {AuthMethod.RSA_SIG, AuthMethod.ECDSA_256, AuthMethod.ECDSA_384,
                   AuthMethod.ECDSA_521, AuthMethod.DIGITAL_SIGNATURE}


def create_builder(ctx: AuthContext, info: AuthInfo) -> Authenticator | None:
    """``authenticator_create_builder``."""
    from vicid.ike.authenticators.eap import EapClient
    from vicid.ike.authenticators.psk import PskBuilder
    from vicid.ike.authenticators.pubkey import PubkeyBuilder

    auth_class = info.config.get(AuthRule.AUTH_CLASS)
    if auth_class in (None, AuthClass.ANY, AuthClass.PUBKEY):
        return PubkeyBuilder(ctx, info)
    if auth_class == AuthClass.PSK:
        return PskBuilder(ctx, info)
    if auth_class == AuthClass.EAP:
        return EapClient(ctx, info)
    return None


def create_verifier(ctx: AuthContext, info: AuthInfo, msg: InMessage) -> Authenticator | None:
    """``authenticator_create_verifier``."""
    from vicid.ike.authenticators.eap import EapServer
    from vicid.ike.authenticators.psk import PskVerifier
    from vicid.ike.authenticators.pubkey import PubkeyVerifier

    auth = msg.get(PayloadType.AUTH)
    if auth is None:
        return EapServer(ctx, info)
    if auth.method in _PUBKEY_METHODS:
        return PubkeyVerifier(ctx, info)
    if auth.method == AuthMethod.PSK:
        return PskVerifier(ctx, info)
    return None


__all__ = ["AuthContext", "AuthInfo", "AuthRounds", "Authenticator", "Result", "complies",
           "create_builder", "create_verifier"]
