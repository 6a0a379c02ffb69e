"""``dh`` plugin: classic MODP Diffie-Hellman in pure Python (``pow()``), every group
strongSwan knows: 1, 2, 5, 14-18 (RFC 2409/3526) and 22-24 (RFC 5114, ``modpXXXXsNNN``).

Slow but dependency-free; the ``openssl`` plugin wins for 14-18 by default priority.
Exponents follow ``charon.dh_exponent_ansi_x9_42`` (default yes: full prime length);
RFC 5114 groups use exponents the size of their subgroup.
"""

from __future__ import annotations

from vicid_plugins._modp import MODP_GROUPS, ModpGroup, ansi_x9_42

from vicid.ke import DhKeyExchange, KeFactory, KeMethodInfo, KePlugin, KeyExchange, Settings


class ModpKeyExchange(DhKeyExchange):
    """g^x mod p with Python integers; public values and secrets left-padded to the prime."""

    def __init__(self, group: ModpGroup, full_exponent: bool = True, seed: bytes | None = None) -> None:
        super().__init__(group.method)
        self._group = group
        self.value_size = group.size
        self._x = group.private_exponent(full_exponent, seed)

    def _public(self) -> bytes:
        return self._group.encode(pow(self._group.g, self._x, self._group.p))

    def _derive(self, peer: bytes) -> bytes:
        y = int.from_bytes(peer, "big")
        self._group.check_peer(y)
        return self._group.encode(pow(y, self._x, self._group.p))

    def close(self) -> None:
        super().close()
        self._x = 0


class DhPlugin(KePlugin):
    default_priority = 1

    def factories(self, settings: Settings) -> list[KeFactory]:
        full_exponent = ansi_x9_42(settings)

        def create(method: int, *, seed: bytes | None = None) -> KeyExchange | None:
            group = MODP_GROUPS.get(method)
            return ModpKeyExchange(group, full_exponent, seed) if group else None

        infos = tuple(KeMethodInfo(g.method, g.keyword) for g in MODP_GROUPS.values())
        return [KeFactory(create, infos, seedable=frozenset(MODP_GROUPS))]


PLUGIN = DhPlugin(description="MODP Diffie-Hellman in pure Python")
