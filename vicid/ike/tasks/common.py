"""Helpers several tasks share: proposal selection with charon's log lines, KE objects, nonces."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from vicid.ike.ke import InvalidKeData, KeyExchange, UnsupportedKeMethod
from vicid.ike.proposal import Proposal, proposals_str, select_proposal
from vicid.ike.sa_state import Ext
from vicid.ike.wire.enums import ke_name
from vicid.ike.wire.payloads import KePayload

if TYPE_CHECKING:
    from vicid.ike.sa import IkeSa


def select(sa: IkeSa, configured: Sequence[Proposal], supplied: Sequence[Proposal], *,
           skip_ke: bool = False) -> Proposal | None:
    """charon's ``proposal_select`` with PROPOSAL_SKIP_PRIVATE / PREFER_SUPPLIED from settings."""
    settings = sa.ctx.settings
    strip = not (sa.supports(Ext.STRONGSWAN) or settings.accept_private_algs)
    selected = select_proposal(configured, supplied, prefer_ours=settings.prefer_configured_proposals,
                               strip_private=strip, skip_ke=skip_ke)
    level = 2 if selected else 1
    if sa.logs("CFG", level):
        sa.log("CFG", level, f"received proposals: {proposals_str(supplied)}")
        sa.log("CFG", level, f"configured proposals: {proposals_str(configured)}")
    if selected is not None and sa.logs("CFG", 1):
        sa.log("CFG", 1, f"selected proposal: {selected}")
    return selected


def create_ke(sa: IkeSa, method: int) -> KeyExchange | None:
    """A new KE object for ``method`` (seeded by the injected Rng when it provides seeds)."""
    seed_source = getattr(sa.ctx.rng, "ke_seed", None)  # optional in the Rng protocol
    try:
        return sa.ctx.ke.create(method, seed=seed_source() if seed_source else None)
    except UnsupportedKeMethod:
        return None


def ke_payload(ke: KeyExchange) -> KePayload:
    return KePayload(ke.method, ke.public_value())


def apply_peer_value(sa: IkeSa, ke: KeyExchange, data: bytes) -> bool:
    """``set_public_key``: False (and a log line) if the peer's value is unusable."""
    try:
        ke.set_peer_value(data)
    except InvalidKeData as exc:
        sa.log("IKE", 1, f"applying {ke_name(ke.method)} public value failed: {exc.reason}")
        return False
    return True


def nonce(sa: IkeSa) -> bytes:
    return sa.ctx.rng.bytes(sa.ctx.settings.nonce_size)
