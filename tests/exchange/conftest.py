"""Fixtures for the in-memory exchange tests: ``pair()`` builds carol (initiator) and moon
(responder) with deterministic RNGs and KE seeds; ``transfer`` (helpers.py) pumps datagrams."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.exchange.helpers import (
    CAROL,
    CAROL_ID,
    MOON,
    MOON_ID,
    Node,
    child_cfg,
    creds,
    ep,
    node,
    peer_cfg,
)
from vicid.ike.config import ChildConfig, PeerConfig
from vicid.ike.settings import EngineSettings

CLASSIC = "aes256gcm16-sha512-x25519"


@dataclass
class Pair:
    carol: Node
    moon: Node
    carol_peer: PeerConfig
    moon_peer: PeerConfig

    @property
    def child(self) -> ChildConfig:
        return self.carol_peer.children[0]

    def initiate(self, now: float = 0.0, request_id: int | None = 1, child: bool = True) -> None:
        self.carol.manager.initiate(self.carol_peer, self.child if child else None, ep(CAROL), ep(MOON),
                                    now, request_id=request_id)


def make_pair(ike: str = CLASSIC, moon_ike: str | None = None, *, carol_child: ChildConfig | None = None,
              moon_child: ChildConfig | None = None, carol_settings: EngineSettings | None = None,
              moon_settings: EngineSettings | None = None, carol_psk: bytes | None = None,
              **peer_kw) -> Pair:
    carol_child = carol_child or child_cfg("net", ["10.1.0.0/16"], ["10.2.0.0/16"])
    moon_child = moon_child or child_cfg("net", ["10.2.0.0/16"], ["10.1.0.0/16"])
    carol_peer = peer_cfg("pq", CAROL, MOON, CAROL_ID, MOON_ID, ike, [carol_child], **peer_kw)
    moon_peer = peer_cfg("pq", MOON, "%any", MOON_ID, CAROL_ID, moon_ike or ike, [moon_child], **peer_kw)
    carol_creds = creds(CAROL_ID, MOON_ID) if carol_psk is None else creds(CAROL_ID, MOON_ID, secret=carol_psk)
    carol = node("carol", CAROL, [carol_peer], carol_creds, "carol", carol_settings)
    moon = node("moon", MOON, [moon_peer], creds(CAROL_ID, MOON_ID), "moon", moon_settings)
    return Pair(carol, moon, carol_peer, moon_peer)


@pytest.fixture
def pair():
    """Factory: ``pair(ike=..., moon_ike=..., carol_child=..., ...)``."""
    return make_pair
