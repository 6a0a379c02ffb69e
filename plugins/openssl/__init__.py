"""``openssl`` plugin: every key exchange ``cryptography`` (and its OpenSSL) offers.

ECP 19/20/21 (+ 25, 26, 28-30 where the backend has the curve), Curve25519/448 (31/32),
MODP 14-18 (RFC 3526) and ML-KEM 35-37 where the linked OpenSSL implements them; what is
there is probed when the registry loads the plugin, not at import.
"""

from __future__ import annotations

import logging

from vicid_plugins._mlkem import ML_KEM
from vicid_plugins._modp import MODP_GROUPS, ansi_x9_42

from vicid.ke import KeFactory, KeMethodInfo, KePlugin, KeyExchange, Settings

log = logging.getLogger("vicid.ke")


class OpensslPlugin(KePlugin):
    default_priority = 3  # preferred over ml and dh when several provide a method

    def factories(self, settings: Settings) -> list[KeFactory]:
        from vicid_plugins.openssl import ec, mlkem, modp

        full_exponent = ansi_x9_42(settings)
        factories = [self._ecp(ec), self._xdh(ec), self._modp(modp, full_exponent)]
        kem = self._mlkem(mlkem)
        if kem is not None:
            factories.append(kem)
        return [f for f in factories if f.provides]

    @staticmethod
    def _ecp(ec) -> KeFactory:
        curves = {m: c for m, c in ec.CURVES.items() if _curve_works(ec, c)}

        def create(method: int, *, seed: bytes | None = None) -> KeyExchange | None:
            return ec.EcpKeyExchange(curves[method], seed) if method in curves else None

        return KeFactory(
            create, tuple(c.info for c in curves.values()), ("cryptography>=46",), frozenset(curves)
        )

    @staticmethod
    def _xdh(ec) -> KeFactory:
        def create(method: int, *, seed: bytes | None = None) -> KeyExchange | None:
            return ec.XdhKeyExchange(ec.XCURVES[method], seed) if method in ec.XCURVES else None

        return KeFactory(
            create, tuple(c.info for c in ec.XCURVES.values()), ("cryptography>=46",), frozenset(ec.XCURVES)
        )

    @staticmethod
    def _modp(modp, full_exponent: bool) -> KeFactory:
        groups = {m: MODP_GROUPS[m] for m in modp.OPENSSL_MODP}

        def create(method: int, *, seed: bytes | None = None) -> KeyExchange | None:
            return modp.OpensslModp(groups[method], full_exponent, seed) if method in groups else None

        infos = tuple(KeMethodInfo(g.method, g.keyword) for g in groups.values())
        return KeFactory(create, infos, ("cryptography>=46",), frozenset(groups))

    @staticmethod
    def _mlkem(mlkem) -> KeFactory | None:
        status = mlkem.available_sets()
        for method, reason in status.items():
            if reason:
                log.info("plugin 'openssl': %s unavailable: %s", ML_KEM[method].info.name, reason)
        usable = {m: ML_KEM[m] for m, reason in status.items() if not reason}
        if not usable:
            return None

        def create(method: int, *, seed: bytes | None = None) -> KeyExchange | None:
            return mlkem.OpensslMlKem(usable[method], seed) if method in usable else None

        # Not seedable: keygen takes a seed but encapsulation randomness cannot be injected.
        return KeFactory(create, tuple(p.info for p in usable.values()), ("cryptography>=46",))


def _curve_works(ec, curve) -> bool:
    try:
        ec.ec.generate_private_key(curve.curve())
    except Exception:  # UnsupportedAlgorithm on builds without the curve
        return False
    return True


PLUGIN = OpensslPlugin(description="ECP, X25519/X448, MODP and ML-KEM via cryptography/OpenSSL")
