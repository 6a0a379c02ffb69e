"""The authenticator contract (charon ``authenticator.h``) and what authenticators get from
the IKE_AUTH task: the AUTH octets of either side, the IKE_SA and the round in progress."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum, auto
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from vicid.ike.auth_info import AuthInfo
    from vicid.ike.messages import InMessage, OutMessage
    from vicid.ike.sa import IkeSa


class Result(Enum):
    SUCCESS = auto()
    NEED_MORE = auto()
    FAILED = auto()
    NOT_FOUND = auto()
    INVALID_ARG = auto()  # EAP: the received identity fits another config


@dataclass
class AuthContext:
    """Inputs of one authenticator (``authenticator_create_builder/verifier`` arguments).

    ``octets(mine)`` returns the signed octets ``RealMessage | Nonce | prf(SK_p, ID') |
    IntAuth`` for our side (True) or the peer's (False), with the ID payloads as carried."""

    sa: IkeSa
    octets: Callable[[bool], bytes]
    msk_octets: Callable[[bool], bytes]  # same octets, for EAP AUTH (identical, named for clarity)


class Authenticator:
    """``build`` adds payloads, ``process`` consumes them; ``is_mutual`` for EAP-only."""

    def __init__(self, ctx: AuthContext, info: AuthInfo) -> None:
        self.ctx = ctx
        self.info = info

    @property
    def sa(self) -> IkeSa:
        return self.ctx.sa

    def build(self, msg: OutMessage) -> Result:
        return Result.FAILED

    def process(self, msg: InMessage) -> Result:
        return Result.FAILED

    def is_mutual(self) -> bool:
        return False
