"""Pre-shared key authentication (RFC 7296 §2.15, charon ``psk_authenticator.c``)."""

from __future__ import annotations

import hmac

from vicid.creds.psk import best_shared_key, candidates
from vicid.ike.authenticators.base import Authenticator, Result
from vicid.ike.config import AuthClass
from vicid.ike.crypto.auth import psk_auth
from vicid.ike.messages import InMessage, OutMessage
from vicid.ike.wire.enums import AuthMethod, PayloadType
from vicid.ike.wire.payloads import AuthPayload


class PskBuilder(Authenticator):
    def build(self, msg: OutMessage) -> Result:
        sa = self.sa
        sa.log("IKE", 1, f"authentication of '{sa.my_id}' (myself) with pre-shared key")
        secret = best_shared_key(sa.ctx.creds, sa.my_id, sa.other_id)
        if secret is None:
            sa.log("IKE", 1, f"no shared key found for '{sa.my_id}' - '{sa.other_id}'")
            return Result.NOT_FOUND
        msg.add(AuthPayload(AuthMethod.PSK, psk_auth(sa.keymat.prf, secret, self.ctx.octets(True))))
        sa.log("IKE", 2, "successfully created shared key MAC")
        return Result.SUCCESS


class PskVerifier(Authenticator):
    def process(self, msg: InMessage) -> Result:
        """Try every candidate key for ``(my id, other id)``."""
        sa = self.sa
        auth = msg.get(PayloadType.AUTH)
        if auth is None:
            return Result.FAILED
        octets, tried = self.ctx.octets(False), 0
        for cand in candidates(sa.ctx.creds, sa.my_id, sa.other_id):
            tried += 1
            if hmac.compare_digest(psk_auth(sa.keymat.prf, cand.secret, octets), auth.data):
                sa.log("IKE", 1, f"authentication of '{sa.other_id}' with pre-shared key successful")
                self.info.auth_class = AuthClass.PSK
                return Result.SUCCESS
        if not tried:
            sa.log("IKE", 1, f"no shared key found for '{sa.my_id}' - '{sa.other_id}'")
            return Result.NOT_FOUND
        sa.log("IKE", 1, f"tried {tried} shared key{'' if tried == 1 else 's'} for "
                         f"'{sa.my_id}' - '{sa.other_id}', but MAC mismatched")
        return Result.FAILED
