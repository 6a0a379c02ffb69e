"""Finding pre-shared keys for a pair of identities, with charon's owner-match scoring."""

from __future__ import annotations

from vicid.creds.psk import best_shared_key, candidates
from vicid.creds.store import CredStore, SharedKey
from vicid.identity import Identification
from vicid.secrets import Secret

MOON, CAROL = Identification.from_string("moon.example.org"), Identification.from_string("carol.example.org")


def store(*keys: tuple[str, bytes, list[str]], anonymous: tuple = ()) -> CredStore:
    s = CredStore()
    for name, secret, owners in keys:
        s.shared[name] = SharedKey("IKE", Secret(secret), owners)
    for secret, owners in anonymous:
        s.anonymous_shared.append(SharedKey("IKE", Secret(secret), owners))
    return s


def test_best_key_prefers_the_other_identity_then_mine():
    s = store(("any", b"any", ["%any"]), ("moon", b"moon", ["moon.example.org"]),
              ("both", b"both", ["moon.example.org", "carol.example.org"]),
              ("carol", b"carol", ["carol.example.org"]))
    assert best_shared_key(s, MOON, CAROL).reveal() == b"both"
    assert best_shared_key(s, CAROL, MOON).reveal() == b"both"
    only = store(("moon", b"moon", ["moon.example.org"]), ("carol", b"carol", ["carol.example.org"]))
    assert best_shared_key(only, MOON, CAROL).reveal() == b"carol"  # the peer's match wins


def test_wildcards_and_any():
    s = store(("wild", b"wild", ["*.example.org"]), ("any", b"any", ["%any"]))
    assert best_shared_key(s, Identification.any(), CAROL).reveal() == b"wild"
    assert best_shared_key(store(("any", b"any", ["%any"])), MOON, CAROL).reveal() == b"any"
    assert best_shared_key(store(("x", b"x", ["dave.example.org"])), MOON, CAROL) is None


def test_candidates_in_charon_order_and_type_filtered():
    s = store(("a", b"a", ["carol.example.org"]), ("b", b"b", ["moon.example.org"]),
              anonymous=((b"anon", ["%any"]),))
    s.shared["eap"] = SharedKey("EAP", Secret(b"eap"), ["carol.example.org"])
    assert [c.secret.reveal() for c in candidates(s, MOON, CAROL)] == [b"anon", b"b", b"a"]
