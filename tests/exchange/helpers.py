"""In-memory harness for exchange tests: two managers, a datagram pump, config builders."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from ipaddress import ip_address

from vicid_plugins import openssl, testing

from vicid.creds.store import CredStore, SharedKey
from vicid.identity import Identification
from vicid.ike.config import AuthClass, AuthConfig, AuthRule, ChildConfig, PeerConfig
from vicid.ike.effects import Effect, Endpoint, SendDatagram
from vicid.ike.ke import KeRegistry
from vicid.ike.manager import IkeSaManager
from vicid.ike.proposal import parse_proposal
from vicid.ike.rng import DeterministicRng
from vicid.ike.settings import EngineSettings
from vicid.ike.ts import parse_ts
from vicid.ike.wire.enums import ProtocolId
from vicid.secrets import Secret

CAROL, MOON = "192.0.2.3", "192.0.2.2"
CAROL_ID, MOON_ID = "carol.example.org", "moon.example.org"
PSK = b"This is a strong secret for the exchange tests"


class FakeSettings(dict):
    def get(self, key: str, default: str | None = None) -> str | None:  # type: ignore[override]
        return super().get(key, default)


_REGISTRY: KeRegistry | None = None


def registry() -> KeRegistry:
    """openssl (X25519, ECP, MODP; seedable) and the deterministic ML-KEM double."""
    global _REGISTRY
    if _REGISTRY is None:
        _REGISTRY = KeRegistry.from_plugins(FakeSettings(), {"openssl": openssl.PLUGIN,
                                                             "testing": testing.PLUGIN})
    return _REGISTRY


def ep(addr: str, port: int = 500) -> Endpoint:
    return (ip_address(addr), port)


def auth(ident: str | None, cls: AuthClass = AuthClass.PSK) -> AuthConfig:
    cfg = AuthConfig().add(AuthRule.AUTH_CLASS, cls)
    return cfg.add(AuthRule.IDENTITY, Identification.from_string(ident)) if ident else cfg


def child_cfg(name: str = "net", local: Iterable[str] = ("dynamic",), remote: Iterable[str] = ("dynamic",),
              esp: str = "aes256gcm16", **kw) -> ChildConfig:
    return ChildConfig(name=name, proposals=(parse_proposal(ProtocolId.ESP, esp),),
                       local_ts=tuple(parse_ts(t) for t in local),
                       remote_ts=tuple(parse_ts(t) for t in remote), **kw)


def peer_cfg(name: str, local: str, remote: str, my_id: str | None, other_id: str | None,
             ike: str | Iterable[str], children: Iterable[ChildConfig] = (), **kw) -> PeerConfig:
    proposals = (ike,) if isinstance(ike, str) else tuple(ike)
    return PeerConfig(name=name, local_addrs=local, remote_addrs=remote,
                      proposals=tuple(parse_proposal(ProtocolId.IKE, p) for p in proposals),
                      local_auth=(auth(my_id),), remote_auth=(auth(other_id),),
                      children=tuple(children), **kw)


def creds(*owners: str, secret: bytes = PSK) -> CredStore:
    store = CredStore()
    store.shared["psk"] = SharedKey("IKE", Secret(secret), list(owners) or ["%any"])
    return store


@dataclass
class Node:
    """One side: its manager, configs and everything it emitted so far."""

    name: str
    manager: IkeSaManager
    peers: list[PeerConfig]
    host: str
    log: list[Effect] = field(default_factory=list)

    def drain(self) -> list[Effect]:
        effects = self.manager.drain()
        self.log += effects
        return effects

    @property
    def sa(self):
        sas = self.manager.ike_sas()
        assert len(sas) == 1, sas
        return sas[0]


def node(name: str, host: str, peers: list[PeerConfig], store: CredStore, seed: str,
         settings: EngineSettings | None = None) -> Node:
    mgr = IkeSaManager(settings or EngineSettings(), registry(), DeterministicRng(seed), lambda: peers, store)
    return Node(name, mgr, peers, host)


def datagrams(effects: Iterable[Effect]) -> list[SendDatagram]:
    return [e for e in effects if isinstance(e, SendDatagram)]


def transfer(a: Node, b: Node, now: float, *, drop: Iterable[int] = ()) -> list[Effect]:
    """Deliver every datagram ``a`` emitted to ``b`` (except the indices in ``drop``);
    returns all of ``a``'s effects since the last call."""
    effects = a.drain()
    skip = set(drop)
    for i, d in enumerate(datagrams(effects)):
        if i not in skip:
            b.manager.receive_datagram(d.data, d.src, d.dst, now)
    return effects


def of(effects: Iterable[Effect], cls: type) -> list:
    return [e for e in effects if isinstance(e, cls)]


def with_settings(**kw) -> EngineSettings:
    return replace(EngineSettings(), **kw)
