"""Pre-shared keys for a pair of identities, as charon's credential manager finds them.

Each shared key has owners (identities, ``%any`` when loaded without). A key is a candidate
for ``(me, other)`` if either identity matches one of its owners (``mem_cred.c``
shared_filter); the match quality is the best ``id_match_t`` over the owners. ``get_shared``
picks the best key, preferring the quality for ``other`` and then for ``me`` (the first key
wins ties, newest first as charon's list keeps them); a verifier tries every candidate in turn.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

from vicid.creds.store import CredStore, SharedKey
from vicid.identity import Identification, IdMatch
from vicid.secrets import Secret


@dataclass(frozen=True)
class Candidate:
    key: SharedKey
    match_me: int
    match_other: int

    @property
    def secret(self) -> Secret:
        return self.key.secret


@lru_cache(maxsize=1024)
def _owner_id(owner: str) -> Identification | None:
    """An owner string parsed once (every IKE_AUTH looks the keys up; identities are frozen)."""
    try:
        return Identification.from_string(owner)
    except ValueError:
        return None


def _owner_match(key: SharedKey, ident: Identification) -> int:
    best = IdMatch.NONE
    for owner in key.owners:
        owner_id = _owner_id(owner)
        if owner_id is None:
            continue
        best = max(best, int(ident.matches(owner_id)))
    return best


def _keys(store: CredStore) -> list[SharedKey]:
    """Newest first, as charon's mem_cred inserts at the head of its list."""
    return [*reversed(store.anonymous_shared), *reversed(list(store.shared.values()))]


def candidates(store: CredStore, me: Identification, other: Identification,
               key_type: str = "IKE") -> Iterator[Candidate]:
    """``create_shared_enumerator(type, me, other)``: keys owned by ``me`` or ``other``."""
    for key in _keys(store):
        if key.type.upper() != key_type:
            continue
        match_me, match_other = _owner_match(key, me), _owner_match(key, other)
        if match_me or match_other:
            yield Candidate(key, match_me, match_other)


def best_shared_key(store: CredStore, me: Identification, other: Identification,
                    key_type: str = "IKE") -> Secret | None:
    """``get_shared``: the best match for ``other``, then ``me``."""
    found: Candidate | None = None
    for cand in candidates(store, me, other, key_type):
        if found is None or cand.match_other > found.match_other or (
                cand.match_other == found.match_other and cand.match_me > found.match_me):
            found = cand
        if found.match_me == IdMatch.PERFECT and found.match_other == IdMatch.PERFECT:
            break
    return found.secret if found else None
