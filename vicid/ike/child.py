"""CHILD_SA state record (charon ``child_sa_t`` without the kernel calls).

The engine never talks to the kernel: installing, updating and deleting SAs and policies are
effects (``InstallChildSa``, ``InstallPolicy``, ...) that this module builds in charon's order.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum
from functools import lru_cache

from vicid.ike.config import ChildConfig, IpsecMode
from vicid.ike.effects import (
    ChildSaView,
    DeleteChildSa,
    DeletePolicy,
    Direction,
    Effect,
    Endpoint,
    InstallChildSa,
    InstallPolicy,
    SaKeys,
)
from vicid.ike.proposal import Proposal
from vicid.ike.ts import TrafficSelector
from vicid.ike.wire.enums import IntegAlg, KeMethod, ProtocolId, TransformType, encr_name


class OutboundState(Enum):
    """charon's ``child_sa_outbound_state_t``: a rekeyed CHILD_SA only *registers* its outbound
    SA until the old one goes, so traffic keeps using the old SA until then."""

    NONE = "NONE"
    REGISTERED = "REGISTERED"
    INSTALLED = "INSTALLED"


class ChildState(Enum):
    CREATED = "CREATED"
    ROUTED = "ROUTED"
    INSTALLING = "INSTALLING"
    INSTALLED = "INSTALLED"
    UPDATING = "UPDATING"
    REKEYING = "REKEYING"
    REKEYED = "REKEYED"
    RETRYING = "RETRYING"
    DELETING = "DELETING"
    DELETED = "DELETED"
    DESTROYING = "DESTROYING"


# a tuple: members match by identity (a set lookup calls Enum's Python __hash__)
_SHOW_SA = (ChildState.INSTALLED, ChildState.REKEYING, ChildState.REKEYED, ChildState.DELETING,
            ChildState.DELETED)


def spi_hex(spi: bytes) -> str:
    return spi.hex() if spi else "00000000"


@dataclass(eq=False)
class ChildSa:
    """One CHILD_SA (a pair of IPsec SAs) of an IKE_SA."""

    config: ChildConfig
    uniqueid: int
    reqid: int
    initiator: bool
    state: ChildState = ChildState.CREATED
    mode: IpsecMode = IpsecMode.TUNNEL
    protocol: int = ProtocolId.ESP
    spi_in: bytes = b""
    spi_out: bytes = b""
    proposal: Proposal | None = None
    my_ts: list[TrafficSelector] = field(default_factory=list)
    other_ts: list[TrafficSelector] = field(default_factory=list)
    my_host: Endpoint | None = None
    other_host: Endpoint | None = None
    encap: bool = False
    installed_at: float = 0.0
    rekey_at: float | None = None
    expire_at: float | None = None
    installed_in: bool = False
    installed_out: bool = False
    policies: list[InstallPolicy] = field(default_factory=list)
    soft_lifetime: int | None = None  # rekey time minus jitter, fixed at installation
    pending_out: InstallChildSa | None = None  # registered, not yet installed outbound SA
    rekey_sa: ChildSa | None = field(default=None, repr=False)  # link during a rekeying
    destroy_at: float | None = None  # a rekeyed SA whose inbound SA lingers (delete_rekeyed_delay)

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def spi_in_int(self) -> int:
        return int.from_bytes(self.spi_in, "big") if self.spi_in else 0

    @property
    def spi_out_int(self) -> int:
        return int.from_bytes(self.spi_out, "big") if self.spi_out else 0

    @property
    def outbound_state(self) -> OutboundState:
        if self.installed_out:
            return OutboundState.INSTALLED
        return OutboundState.REGISTERED if self.pending_out is not None else OutboundState.NONE

    @property
    def spis_text(self) -> str:
        return f"{spi_hex(self.spi_in)}_i {spi_hex(self.spi_out)}_o"

    # --- kernel effects --------------------------------------------------------------------
    def install_outbound(self) -> list[Effect]:
        """``install_outbound``: the registered outbound SA goes into the kernel now."""
        if self.pending_out is None:
            return []
        effect, self.pending_out = self.pending_out, None
        self.installed_out = True
        return [effect]

    def remove_outbound(self) -> list[Effect]:
        """``remove_outbound``: the outbound SA (if installed) leaves the kernel; a merely
        registered one is forgotten."""
        self.pending_out = None
        if not self.installed_out or self.other_host is None:
            return []
        self.installed_out = False
        return [DeleteChildSa(self.spi_out_int, self.protocol, self.other_host, False, self.uniqueid)]

    def install_effect(self, ike_uniqueid: int, keys: SaKeys, inbound: bool,
                       replay_window: int) -> InstallChildSa:
        """One direction of the SA (``child_sa->install``); inbound first, as charon."""
        assert self.my_host is not None and self.other_host is not None
        src, dst = (self.other_host, self.my_host) if inbound else (self.my_host, self.other_host)
        life = self.config.lifetime_time
        soft = self.soft_lifetime if self.soft_lifetime is not None else life.rekey
        return InstallChildSa(
            ike_uniqueid, self.uniqueid, self.reqid, self.spi_in_int if inbound else self.spi_out_int,
            inbound, self.protocol, self.mode.name, src, dst, self.encap, keys,
            tuple(self.my_ts), tuple(self.other_ts),
            self.config.replay_window if self.config.replay_window is not None else replay_window,
            soft, life.life, self.config.lifetime_bytes.rekey, self.config.lifetime_bytes.life,
            self.config.lifetime_packets.rekey, self.config.lifetime_packets.life,
            self.config.mark_in, self.config.mark_out, self.config.if_id_in)

    def policy_effects(self) -> list[InstallPolicy]:
        """``install_policies``: per TS pair in, fwd (not transport), out (``child_sa.c``)."""
        assert self.my_host is not None and self.other_host is not None
        mode, out = self.mode.name, []
        me, other = self.my_host[0], self.other_host[0]
        for mine in self.my_ts:
            for theirs in self.other_ts:
                out.append(InstallPolicy(self.reqid, Direction.IN, mine, theirs, mode, other, me,
                                         self.spi_in_int, self.protocol, self.config.priority))
                if self.mode != IpsecMode.TRANSPORT:
                    out.append(InstallPolicy(self.reqid, Direction.FWD, mine, theirs, mode, other,
                                             me, self.spi_in_int, self.protocol, self.config.priority))
                out.append(InstallPolicy(self.reqid, Direction.OUT, mine, theirs, mode, me, other,
                                         self.spi_out_int, self.protocol, self.config.priority))
        return out

    def teardown_effects(self) -> list[Effect]:
        """``child_sa->destroy``: per TS pair out, in, fwd policies, then the inbound and the
        outbound SA."""
        effects: list[Effect] = []
        order = (Direction.OUT, Direction.IN, Direction.FWD)
        pairs = list(dict.fromkeys((p.local_ts, p.remote_ts) for p in self.policies))
        for local, remote in pairs:
            for d in order:
                if any(p.direction == d and (p.local_ts, p.remote_ts) == (local, remote)
                       for p in self.policies):
                    effects.append(DeletePolicy(self.reqid, d, local, remote))
        if self.installed_in and self.my_host is not None:
            effects.append(DeleteChildSa(self.spi_in_int, self.protocol, self.my_host, True, self.uniqueid))
        if self.installed_out and self.other_host is not None:
            effects.append(DeleteChildSa(self.spi_out_int, self.protocol, self.other_host, False,
                                         self.uniqueid))
        self.policies, self.installed_in, self.installed_out = [], False, False
        self.pending_out = None
        return effects

    # --- snapshot --------------------------------------------------------------------------
    def view(self, now: float) -> ChildSaView:
        """What vici's ``list_child()`` renders."""
        base = dict(name=self.name, uniqueid=self.uniqueid, reqid=self.reqid, state=self.state.value,
                    mode=self.mode.name + ("_PROXY" if self.config.proxy_mode else ""))
        if self.state not in _SHOW_SA or self.proposal is None:
            return ChildSaView(**base)
        return ChildSaView(
            **base, protocol=ProtocolId(self.protocol).name, encap=self.encap,
            spi_in=self.spi_in_int, spi_out=self.spi_out_int, **_algorithms(self.proposal),
            install_time=int(now - self.installed_at),
            rekey_time=None if self.rekey_at is None else int(self.rekey_at - now),
            life_time=None if self.expire_at is None else int(self.expire_at - now),
            local_ts=_rendered(tuple(self.my_ts)), remote_ts=_rendered(tuple(self.other_ts)))


@lru_cache(maxsize=1024)
def _rendered(ts: tuple) -> tuple[str, ...]:
    """``%R`` of traffic selectors, remembered (every snapshot of a CHILD_SA renders them)."""
    return tuple(t.render() for t in ts)


def ts_text(ts: Iterable[TrafficSelector]) -> str:
    """``%#R`` (``ts_list_str``) from the same cache: the established line renders what every
    later snapshot of the CHILD_SA renders again."""
    return " ".join(_rendered(tuple(ts)))


@lru_cache(maxsize=256)  # a handful of proposals serve every CHILD_SA; the result is only read
def _algorithms(p: Proposal) -> dict:
    encr, integ = p.get_algorithm(TransformType.ENCR), p.get_algorithm(TransformType.INTEG)
    esn = p.get_algorithm(TransformType.ESN)
    kes = tuple(KeMethod(t.id).name if t.id in KeMethod._value2member_map_ else str(t.id)
                for ttype, ids in p.ke_methods.items() for t in p.algorithms(ttype) if t.id)
    out: dict = {"ke_methods": kes, "esn": bool(esn and esn.id)}
    if encr is not None:
        out.update(encr_alg=encr_name(encr.id), encr_keysize=encr.key_length)
    if integ is not None:
        name = IntegAlg(integ.id).name if integ.id in IntegAlg._value2member_map_ else str(integ.id)
        out.update(integ_alg=name, integ_keysize=integ.key_length)
    return out
