"""Responder configuration lookup, as charon's ``backend_manager.c`` and ``ike_cfg.c`` rank it.

* IKE_SA_INIT: the IKE config is the best address match (``get_ike_cfg``); quality per side is
  129 for an equal address, prefix+1 for a containing subnet, 1 for ``%any`` or a range, +1 if
  the port matches too; ``match = q(me) * 8 + q(other) * 16`` (+4 for an explicit IKEv2).
* IKE_AUTH: peer configs are ranked by that IKE match and by how well the identities match the
  first local/remote auth round (``create_peer_cfg_enumerator``); configs whose IKE proposals
  do not contain the negotiated one are skipped. After authentication the candidate must
  comply with the remote auth rounds (auth class, identity), else the next one is tried.

Hostnames in ``local_addrs``/``remote_addrs`` need DNS and never match here.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network

from vicid.identity import Identification, IdKind
from vicid.ike.config import AUTH_CLASS_NAMES, AuthClass, AuthConfig, AuthRule, IkeVersion, PeerConfig
from vicid.ike.effects import Endpoint
from vicid.ike.proposal import Proposal

MATCH_ANY, MATCH_VERSION, MATCH_ME, MATCH_OTHER = 0x01, 0x04, 0x08, 0x10
_ANY = {"%any": (4, 6), "%any4": (4,), "%any6": (6,), "0.0.0.0": (4,), "::": (6,)}


@lru_cache(maxsize=4096)
def _parsed(addrs: str) -> tuple[tuple, ...]:
    """The tokens of a ``local_addrs``/``remote_addrs`` value, parsed once per distinct value
    (every config is matched for every IKE_SA_INIT and IKE_AUTH a responder receives)."""
    tokens = [t.strip() for t in addrs.split(",") if t.strip()] or ["%any"]
    return tuple(_parse_token(t) for t in tokens)


def _parse_token(token: str) -> tuple:
    if token in _ANY:
        return ("any", _ANY[token])
    try:
        if "/" in token:
            return ("net", ip_network(token, strict=False))
        if "-" in token:
            lo, hi = (ip_address(t.strip()) for t in token.split("-", 1))
            return ("range", lo, hi)
        return ("host", ip_address(token))
    except ValueError:
        return ("dns",)  # a DNS name: resolved by charon, not by the sans-I/O engine


def _token_quality(token: tuple, addr: IPv4Address | IPv6Address) -> int:
    kind = token[0]
    if kind == "host":
        host = token[1]
        return 129 if host == addr else 1 if not int(host) and host.version == addr.version else 0
    if kind == "any":
        return 1 if addr.version in token[1] else 0
    if kind == "net":
        net = token[1]
        return net.prefixlen + 1 if addr.version == net.version and addr in net else 0
    if kind == "range":
        lo, hi = token[1], token[2]
        return 1 if lo.version == addr.version and lo <= addr <= hi else 0
    return 0


def host_quality(addrs: str, port: int, host: Endpoint) -> int:
    """``ike_cfg.c`` match(): the best quality of any configured address, +1 for the port."""
    quality = max(_token_quality(t, host[0]) for t in _parsed(addrs))
    return quality + 1 if quality and port == host[1] else quality


def ike_match(cfg: PeerConfig, me: Endpoint | None, other: Endpoint | None) -> int:
    """``get_ike_match`` for IKEv2 (0 = no match)."""
    if cfg.version not in (IkeVersion.IKE_ANY, IkeVersion.IKEV2):
        return 0
    match = 0
    for host, addrs, port, weight in ((me, cfg.local_addrs, cfg.local_port, MATCH_ME),
                                      (other, cfg.remote_addrs, cfg.remote_port, MATCH_OTHER)):
        if host is None:
            match += MATCH_ANY
            continue
        quality = host_quality(addrs, port, host)
        if not quality:
            return 0
        match += quality * weight
    return match + MATCH_VERSION if cfg.version != IkeVersion.IKE_ANY else match


def ike_configs(peers: Iterable[PeerConfig], me: Endpoint, other: Endpoint) -> list[PeerConfig]:
    """All configs matching the addresses, best first (stable for equal matches)."""
    ranked = [(m, i, cfg) for i, cfg in enumerate(peers) if (m := ike_match(cfg, me, other))]
    ranked.sort(key=lambda x: (-x[0], x[1]))
    return [cfg for _, _, cfg in ranked]


def best_ike_config(peers: Iterable[PeerConfig], me: Endpoint, other: Endpoint) -> PeerConfig | None:
    found = ike_configs(peers, me, other)
    return found[0] if found else None


def _peer_match(ident: Identification | None, cfg: PeerConfig, local: bool) -> int:
    """``get_peer_match``: the identity against the first auth round's identity."""
    if ident is None:
        return 1
    rounds = cfg.local_auth if local else cfg.remote_auth
    if not rounds:
        return 0
    candidate = rounds[0].get(AuthRule.IDENTITY)
    if candidate is None:
        return 1
    return int(ident.matches(candidate)) or int(candidate.matches(ident))


def has_proposal(cfg: PeerConfig, proposal: Proposal | None, private: bool) -> bool:
    return proposal is None or any(p.matches(proposal, skip_private=not private) for p in cfg.proposals)


def peer_candidates(peers: Iterable[PeerConfig], me: Endpoint, other: Endpoint,
                    my_id: Identification, other_id: Identification, proposal: Proposal | None,
                    private: bool = False) -> list[PeerConfig]:
    """``create_peer_cfg_enumerator`` + the proposal filter of ``load_cfg_candidates``."""
    entries: list[tuple[int, int, PeerConfig]] = []
    for cfg in peers:
        m_ike = ike_match(cfg, me, other)
        m_me = _peer_match(my_id, cfg, True) if m_ike else 0
        m_other = _peer_match(other_id, cfg, False) if m_me else 0
        if m_other and has_proposal(cfg, proposal, private):
            _insert_sorted(entries, (m_me + m_other, m_ike, cfg))
    return [cfg for _, _, cfg in entries]


def _insert_sorted(entries: list[tuple[int, int, PeerConfig]], entry: tuple[int, int, PeerConfig]) -> None:
    peer, ike, _ = entry
    for i, (c_peer, c_ike, _) in enumerate(entries):
        if (ike > c_ike and peer >= c_peer) or (ike >= c_ike and peer > c_peer):
            entries.insert(i, entry)
            return
    entries.append(entry)


def complies(done_class: AuthClass, done_id: Identification, constraints: AuthConfig) -> str | None:
    """``auth_cfg->complies`` for the rules a PSK round sets: the failure message, or None."""
    required = constraints.get(AuthRule.AUTH_CLASS)
    if required is not None and required != AuthClass.ANY and required != done_class:
        return (f"constraint requires {AUTH_CLASS_NAMES.get(int(required), required)} authentication, "
                f"but {AUTH_CLASS_NAMES.get(int(done_class), done_class)} was used")
    ident = constraints.get(AuthRule.IDENTITY)
    if ident is not None and not done_id.matches(ident):
        return (f"constraint check failed: identity '{ident}' ({_kind(ident)}) required, "
                f"not matched by '{done_id}' ({_kind(done_id)})")
    return None


def _kind(ident: Identification) -> str:
    try:
        return IdKind(ident.type).name
    except ValueError:
        return str(ident.type)


def remote_compliance(cfg: PeerConfig, done_class: AuthClass, done_id: Identification) -> str | None:
    """``update_cfg_candidates(strict)`` for one completed round: every configured remote round
    must be satisfied by a completed one."""
    rounds = cfg.remote_auth
    if len(rounds) > 1:
        return "insufficient authentication rounds"
    return complies(done_class, done_id, rounds[0]) if rounds else None
