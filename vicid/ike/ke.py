"""Key-exchange objects, plugin descriptions and the registry that loads them from entry points.

One object type covers classic (EC)DH and KEMs, modelled on strongSwan's ``key_exchange_t``.
The engine always makes the same calls, whatever the method::

    Initiator                          Responder
    public_value()     ── KEi ──►
                                       set_peer_value(KEi)
                                       public_value()   (DH: own value; KEM: ciphertext)
                       ◄── KEr ──
    set_peer_value(KEr)
    shared_secret()                    shared_secret()

A KEM infers its role from that order: ``public_value()`` on a fresh object generates a key pair
and returns the encapsulation key (initiator); ``set_peer_value()`` on a fresh object
encapsulates to the peer's key (responder), after which ``public_value()`` returns the
ciphertext. The responder may also call ``shared_secret()`` before ``public_value()``.

Only :meth:`KeyExchange.set_peer_value` looks at peer bytes, and the only exception it raises
for bad peer bytes is :class:`InvalidKeData`; the engine turns it into ``NO_PROPOSAL_CHOSEN``
(responder) or an aborted exchange (initiator), as charon does with ``ke_failed``.

Plugins are discovered through the ``vicid.ke`` entry-point group. An entry point names a
:class:`KePlugin`; the plugin lists :class:`KeFactory` objects, each declaring the methods it
provides (IANA Transform Type 4 IDs with strongSwan's keywords) and what it needs
(``requires``), like ``PLUGIN_REGISTER``/``PLUGIN_PROVIDE``/``PLUGIN_DEPENDS``.
:class:`KeRegistry` is built once at start-up from those entry points and strongSwan's
``charon.load`` / ``charon.plugins.<name>.load`` settings.
"""

from __future__ import annotations

import abc
import enum
import hashlib
import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from typing import ClassVar, Protocol

from vicid.ike.proposal_keywords import register_token
from vicid.ike.wire.enums import NotifyType, TransformType, ke_name
from vicid.secrets import Secret

log = logging.getLogger("vicid.ke")

ENTRY_POINT_GROUP = "vicid.ke"

__all__ = [
    "ENTRY_POINT_GROUP",
    "DhKeyExchange",
    "InvalidKeData",
    "KeFactory",
    "KeMethodInfo",
    "KePlugin",
    "KeRegistry",
    "KeSeedUnsupported",
    "KeStateError",
    "KemKeyExchange",
    "KeyExchange",
    "Settings",
    "UnsupportedKeMethod",
    "derive_seed",
]


# --------------------------------------------------------------------------------------------
# Errors


class InvalidKeData(ValueError):
    """The peer's KE payload data is unusable: wrong length, a point not on the curve, a MODP
    value outside 1 < y < p-1, an ML-KEM key failing the FIPS 203 modulus check, or an
    all-zero X25519/X448 result.

    Raised only by :meth:`KeyExchange.set_peer_value`. The message names the method and the
    reason, never key bytes. ``notify`` is what the responder answers with (charon answers a
    failed KE with ``NO_PROPOSAL_CHOSEN``); an initiator aborts the exchange instead.
    """

    notify: ClassVar[NotifyType] = NotifyType.NO_PROPOSAL_CHOSEN

    def __init__(self, method: int, reason: str) -> None:
        super().__init__(f"{ke_name(method)}: {reason}")
        self.method = method
        self.reason = reason


class KeStateError(RuntimeError):
    """A call out of order (secret before the peer value, a second peer value): a caller bug,
    never caused by peer bytes alone."""


class KeSeedUnsupported(NotImplementedError):
    """The backend cannot take a seed for this operation (e.g. ML-KEM encapsulation randomness
    through ``cryptography`` or ``pqcrypto``)."""


class UnsupportedKeMethod(LookupError):
    """No loaded plugin provides the requested method (or none that accepts a seed)."""


# --------------------------------------------------------------------------------------------
# Settings and seeds


class Settings(Protocol):
    """What the registry needs from strongswan.conf: dotted keys, string values."""

    def get(self, key: str, default: str | None = None) -> str | None: ...


def derive_seed(seed: bytes, size: int, label: str) -> bytes:
    """Turn a test seed into ``size`` bytes of key material.

    A seed of exactly ``size`` bytes is used as is (so published vectors can inject a private
    key, or ML-KEM's ``d || z``); any other length is expanded with SHAKE-256 under ``label``,
    so ``create(method, seed=b"1")`` is handy in tests. Two plugins using the same label derive
    the same key from the same seed, which cross-implementation tests rely on.
    """
    if len(seed) == size:
        return bytes(seed)
    return hashlib.shake_256(b"vicid-ke-seed\x00" + label.encode() + b"\x00" + seed).digest(size)


# --------------------------------------------------------------------------------------------
# Key-exchange objects


class KeyExchange(abc.ABC):
    """One key exchange for one round of one SA (strongSwan's ``key_exchange_t``).

    ``method`` is the IANA Transform Type 4 ID written into the KE payload. Objects are
    single-use: create a new one per IKE_SA_INIT, IKE_INTERMEDIATE or CREATE_CHILD_SA round.
    """

    is_kem: ClassVar[bool] = False

    def __init__(self, method: int) -> None:
        self.method = method

    @abc.abstractmethod
    def public_value(self) -> bytes:
        """Our KE payload data; repeated calls return the same bytes (COOKIE/INVALID_KE retries
        resend it). For a KEM responder: the ciphertext, available after set_peer_value()."""

    @abc.abstractmethod
    def set_peer_value(self, data: bytes) -> None:
        """Accept the peer's KE payload data; raise :class:`InvalidKeData` if it is unusable."""

    @abc.abstractmethod
    def shared_secret(self) -> Secret:
        """The shared secret (repeatable); :class:`KeStateError` before set_peer_value()."""

    def close(self) -> None:  # noqa: B027 - optional for subclasses
        """Forget private keys and the secret (best effort)."""

    def __enter__(self) -> KeyExchange:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {ke_name(self.method)}>"


class DhKeyExchange(KeyExchange):
    """Template for Diffie-Hellman-shaped methods: fixed-size public values on both sides.

    Subclasses set ``value_size`` (both directions) and implement ``_public()`` and
    ``_derive(peer) -> bytes`` (validation beyond the length check, raising InvalidKeData).
    The secret is computed in set_peer_value() so that peer errors surface there.
    """

    value_size: int

    def __init__(self, method: int) -> None:
        super().__init__(method)
        self._public_value: bytes | None = None
        self._secret: Secret | None = None

    def public_value(self) -> bytes:
        if self._public_value is None:
            self._public_value = self._public()
        return self._public_value

    def set_peer_value(self, data: bytes) -> None:
        if self._secret is not None:
            raise KeStateError(f"{ke_name(self.method)}: peer value already set")
        data = bytes(data)
        if len(data) != self.value_size:
            raise InvalidKeData(self.method, f"peer value is {len(data)} bytes, expected {self.value_size}")
        self._secret = Secret(self._derive(data))

    def shared_secret(self) -> Secret:
        if self._secret is None:
            raise KeStateError(f"{ke_name(self.method)}: no peer value yet")
        return self._secret

    def close(self) -> None:
        if self._secret is not None:
            self._secret.zeroize()

    @abc.abstractmethod
    def _public(self) -> bytes: ...

    @abc.abstractmethod
    def _derive(self, peer: bytes) -> bytes: ...


class _KemRole(enum.Enum):
    FRESH = "fresh"
    INITIATOR = "initiator"
    RESPONDER = "responder"


class KemKeyExchange(KeyExchange):
    """Template for KEMs on the DH-shaped API; the role follows from the first call.

    Subclasses set ``encaps_key_size`` and ``ciphertext_size`` and implement ``_keygen()``
    (returns the encapsulation key), ``_check_encaps_key(ek)`` (raise InvalidKeData),
    ``_encapsulate(ek) -> (ciphertext, secret)`` and ``_decapsulate(ct) -> secret``.
    """

    is_kem = True
    encaps_key_size: int
    ciphertext_size: int

    def __init__(self, method: int) -> None:
        super().__init__(method)
        self._role = _KemRole.FRESH
        self._ours: bytes | None = None  # ek (initiator) or ciphertext (responder)
        self._secret: Secret | None = None

    @property
    def role(self) -> str:
        """``fresh``, ``initiator`` or ``responder``."""
        return self._role.value

    def public_value(self) -> bytes:
        if self._role is _KemRole.FRESH:
            self._ours = self._keygen()
            self._role = _KemRole.INITIATOR
        assert self._ours is not None
        return self._ours

    def set_peer_value(self, data: bytes) -> None:
        if self._secret is not None:
            raise KeStateError(f"{ke_name(self.method)}: peer value already set")
        data = bytes(data)
        if self._role is _KemRole.FRESH:
            if len(data) != self.encaps_key_size:
                raise InvalidKeData(
                    self.method, f"encapsulation key is {len(data)} bytes, expected {self.encaps_key_size}"
                )
            self._check_encaps_key(data)
            ct, secret = self._encapsulate(data)
            self._ours, self._secret = ct, Secret(secret)
            self._role = _KemRole.RESPONDER
        else:
            if len(data) != self.ciphertext_size:
                raise InvalidKeData(
                    self.method, f"ciphertext is {len(data)} bytes, expected {self.ciphertext_size}"
                )
            # A wrong ciphertext of the right length is not detectable: implicit rejection
            # yields a pseudo-random secret and the peers' keys simply differ (FIPS 203 §6.3).
            self._secret = Secret(self._decapsulate(data))

    def shared_secret(self) -> Secret:
        if self._secret is None:
            raise KeStateError(f"{ke_name(self.method)}: no peer value yet")
        return self._secret

    def close(self) -> None:
        if self._secret is not None:
            self._secret.zeroize()

    def _adopt_key_pair(self, ek: bytes) -> None:
        """For subclasses loading an existing key pair (test seams): act as the initiator that
        already sent ``ek``."""
        if self._role is not _KemRole.FRESH:
            raise KeStateError(f"{ke_name(self.method)}: key pair already in use")
        self._ours, self._role = bytes(ek), _KemRole.INITIATOR

    @abc.abstractmethod
    def _keygen(self) -> bytes: ...

    def _check_encaps_key(self, ek: bytes) -> None:
        """Validate the peer's encapsulation key beyond its length."""

    @abc.abstractmethod
    def _encapsulate(self, ek: bytes) -> tuple[bytes, bytes]: ...

    @abc.abstractmethod
    def _decapsulate(self, ct: bytes) -> bytes: ...


# --------------------------------------------------------------------------------------------
# Plugin descriptions


@dataclass(frozen=True)
class KeMethodInfo:
    """One provided method: IANA ID, strongSwan's proposal keyword(s) and whether it is a KEM.

    ``keyword`` is the main proposal token (``curve25519``, ``ecp256``, ``mlkem768``);
    ``aliases`` are extra tokens for the same ID (``x25519``).
    """

    method: int
    keyword: str
    aliases: tuple[str, ...] = ()
    is_kem: bool = False

    @property
    def name(self) -> str:
        """charon's name (``CURVE_25519``), or the number for private-use IDs."""
        return ke_name(self.method)


KeConstructor = Callable[..., "KeyExchange | None"]


@dataclass(frozen=True)
class KeFactory:
    """A constructor and what it provides, like ``PLUGIN_REGISTER(KE, ctor)`` + ``PROVIDE``s.

    ``constructor(method, seed=None)`` returns a fresh :class:`KeyExchange`, or None for a
    method it cannot do after all (the registry then tries the next provider).
    ``requires`` are distribution requirements (``"cryptography>=46"``), checked at load time.
    ``seedable`` lists the methods whose objects are fully deterministic given a seed (both
    roles); only those are picked by ``KeRegistry.create(method, seed=...)``.
    """

    constructor: KeConstructor
    provides: tuple[KeMethodInfo, ...]
    requires: tuple[str, ...] = ()
    seedable: frozenset[int] = frozenset()

    def create(self, method: int, *, seed: bytes | None = None) -> KeyExchange | None:
        return self.constructor(method, seed=seed)


class KePlugin:
    """What a ``vicid.ke`` entry point names.

    Override :meth:`factories` when availability must be probed at load time (e.g. which
    ML-KEM sets the linked OpenSSL has), or pass a fixed list. ``settings`` is the daemon's
    strongswan.conf view (``charon.plugins.<name>.*`` etc.).
    """

    #: priority when strongswan.conf says nothing (or ``load = yes``); higher wins.
    default_priority: int = 1

    def __init__(
        self,
        factories: Sequence[KeFactory] = (),
        *,
        description: str = "",
        default_priority: int | None = None,
    ) -> None:
        self._factories = tuple(factories)
        self.description = description
        if default_priority is not None:
            self.default_priority = default_priority

    def factories(self, settings: Settings) -> Sequence[KeFactory]:
        return self._factories


# --------------------------------------------------------------------------------------------
# Registry


@dataclass
class _Provider:
    plugin: str
    factory: KeFactory
    info: KeMethodInfo


@dataclass(frozen=True)
class PluginSource:
    """A plugin not yet imported: its name and how to load it (an entry point, or a test's)."""

    name: str
    load: Callable[[], object]
    origin: str = ""


@dataclass
class _Candidate:
    source: PluginSource
    priority: int | None  # None: the plugin's default_priority
    order: int
    critical: bool = False


@dataclass
class KeRegistry:
    """Key-exchange methods by IANA ID, built once at start-up (never at import time).

    Use :meth:`from_entry_points` in the daemon and :meth:`from_plugins` in tests.
    ``plugins`` lists the loaded plugin names in priority order.
    """

    settings: Settings
    plugins: list[str] = field(default_factory=list)
    _providers: dict[int, list[_Provider]] = field(default_factory=dict)
    _keywords: dict[str, int] = field(default_factory=dict)

    # -- construction ------------------------------------------------------------------------

    @classmethod
    def from_entry_points(cls, settings: Settings, group: str = ENTRY_POINT_GROUP) -> KeRegistry:
        """Load every ``vicid.ke`` entry point that the settings allow."""
        unique: dict[str, metadata.EntryPoint] = {}
        for ep in metadata.entry_points(group=group):
            unique.setdefault(ep.name, ep)  # the same distribution can be on sys.path twice
        sources = [PluginSource(ep.name, ep.load, ep.value) for _, ep in sorted(unique.items())]
        return cls.from_sources(settings, sources)

    @classmethod
    def from_plugins(cls, settings: Settings, plugins: Mapping[str, object]) -> KeRegistry:
        """Build from objects in hand (tests); values are KePlugin objects."""
        sources = [PluginSource(name, (lambda p=p: p), "in-process") for name, p in plugins.items()]
        return cls.from_sources(settings, sources)

    @classmethod
    def from_sources(cls, settings: Settings, sources: Iterable[PluginSource]) -> KeRegistry:
        registry = cls(settings)
        loaded = [(cand, plugin) for cand in _select_plugins(settings, list(sources))
                  if (plugin := registry._import(cand)) is not None]
        for cand in loaded:
            if cand[0].priority is None:
                cand[0].priority = int(getattr(cand[1], "default_priority", _DEFAULT_PRIORITY))
        # Higher priority first; discovery order breaks ties, as in charon's plugin loader.
        loaded.sort(key=lambda cp: (-(cp[0].priority or 0), cp[0].order))
        for cand, plugin in loaded:
            registry._register(cand, plugin)
        return registry

    def _import(self, cand: _Candidate) -> KePlugin | None:
        name = cand.source.name
        level = logging.ERROR if cand.critical else logging.WARNING
        try:
            plugin = cand.source.load()
            if isinstance(plugin, type) and issubclass(plugin, KePlugin):
                plugin = plugin()
        except Exception as exc:  # a broken plugin never stops the daemon
            log.log(level, "plugin '%s' failed to load: %s: %s", name, type(exc).__name__, exc)
            return None
        if not isinstance(plugin, KePlugin):
            log.log(level, "plugin '%s' not loaded: %s is not a KePlugin", name, type(plugin).__name__)
            return None
        return plugin

    def _register(self, cand: _Candidate, plugin: KePlugin) -> None:
        name = cand.source.name
        try:
            factories = list(plugin.factories(self.settings))
        except Exception as exc:
            log.warning("plugin '%s' failed to list its factories: %s: %s", name, type(exc).__name__, exc)
            return
        provided: list[str] = []
        for factory in factories:
            if not isinstance(factory, KeFactory):
                log.warning("plugin '%s': ignoring %s, not a KeFactory", name, type(factory).__name__)
                continue
            missing = _missing_requirements(factory.requires)
            if missing:
                log.warning(
                    "plugin '%s': %s unavailable, missing dependency %s",
                    name, ", ".join(i.name for i in factory.provides), ", ".join(missing),
                )
                continue
            for info in factory.provides:
                if self._self_test_failed(name, factory, info):
                    continue
                self._add(_Provider(name, factory, info))
                provided.append(info.name)
        self.plugins.append(name)
        log.info(
            "plugin '%s' (priority %s) provides KE %s", name, cand.priority, " ".join(provided) or "nothing"
        )

    def _add(self, provider: _Provider) -> None:
        self._providers.setdefault(provider.info.method, []).append(provider)
        for word in (provider.info.keyword, *provider.info.aliases):
            self._keywords.setdefault(word.lower(), provider.info.method)
            # as a charon plugin registers its tokens: `ke1_<word>` works in proposals from now on
            register_token(word, TransformType.KE, provider.info.method)

    def _self_test_failed(self, plugin: str, factory: KeFactory, info: KeMethodInfo) -> bool:
        """charon.crypto_test.on_add: run one exchange before accepting a provider."""
        if not _is_yes(self.settings.get("charon.crypto_test.on_add"), False):
            return False
        try:
            ok = self_test(factory, info.method)
        except Exception as exc:
            log.warning("plugin '%s': %s self-test raised %s", plugin, info.name, type(exc).__name__)
            return True
        if not ok:
            log.warning("plugin '%s': %s failed its self-test, disabled", plugin, info.name)
        return not ok

    # -- queries -----------------------------------------------------------------------------

    def supported(self) -> set[int]:
        """Every method some loaded plugin provides."""
        return set(self._providers)

    def providers(self, method: int) -> list[str]:
        """Plugin names providing ``method``, preferred first."""
        return [p.plugin for p in self._providers.get(method, [])]

    def algorithms(self) -> dict[str, str]:
        """charon's method name → providing plugin, for vici ``get-algorithms`` section ``ke``."""
        return {ke_name(m): provs[0].plugin for m, provs in self._providers.items()}

    def info(self, method: int) -> KeMethodInfo:
        try:
            return self._providers[method][0].info
        except KeyError:
            raise UnsupportedKeMethod(f"no plugin provides KE method {ke_name(method)}") from None

    def keyword(self, method: int) -> str:
        """strongSwan's proposal keyword for a supported method (``curve25519``)."""
        return self.info(method).keyword

    def lookup(self, keyword: str) -> int:
        """The method for a proposal keyword (``x25519`` → 31); UnsupportedKeMethod if unknown."""
        try:
            return self._keywords[keyword.lower()]
        except KeyError:
            raise UnsupportedKeMethod(f"no plugin provides KE keyword '{keyword}'") from None

    def is_kem(self, method: int) -> bool:
        return self.info(method).is_kem

    def create(self, method: int, *, seed: bytes | None = None) -> KeyExchange:
        """A new key-exchange object from the preferred provider that can make one.

        With ``seed``, only providers declaring the method ``seedable`` are used, so the
        result is deterministic in both roles (exchange tests, golden bytes).
        """
        for prov in self._providers.get(method, []):
            if seed is not None and method not in prov.factory.seedable:
                continue
            ke = prov.factory.create(method, seed=seed)
            if ke is not None:
                return ke
        what = "seedable " if seed is not None else ""
        raise UnsupportedKeMethod(f"no {what}plugin provides KE method {ke_name(method)}")

    def create_from(self, plugin: str, method: int, *, seed: bytes | None = None) -> KeyExchange:
        """Like :meth:`create` but from one named plugin (tests, benchmarks)."""
        for prov in self._providers.get(method, []):
            if prov.plugin == plugin:
                ke = prov.factory.create(method, seed=seed)
                if ke is not None:
                    return ke
        raise UnsupportedKeMethod(f"plugin '{plugin}' does not provide KE method {ke_name(method)}")


def self_test(factory: KeFactory, method: int) -> bool:
    """One random exchange between two objects of ``factory``, both responder call orders."""
    for secret_first in (False, True):
        i, r = factory.create(method), factory.create(method)
        if i is None or r is None:
            return False
        pub_i = i.public_value()
        r.set_peer_value(pub_i)
        if secret_first:
            s_r = r.shared_secret()
            pub_r = r.public_value()
        else:
            pub_r = r.public_value()
            s_r = r.shared_secret()
        i.set_peer_value(pub_r)
        if pub_i == pub_r or i.shared_secret() != s_r:
            return False
    return True


# --------------------------------------------------------------------------------------------
# strongswan.conf handling


_DEFAULT_PRIORITY = 1


def _is_yes(value: str | None, default: bool) -> bool:
    if value is None:
        return default
    return value.strip().lower() in ("yes", "true", "1", "enabled", "on")


def _select_plugins(settings: Settings, sources: list[PluginSource]) -> list[_Candidate]:
    """Apply ``charon.load`` (explicit list, order = priority) or per-plugin ``load`` settings."""
    by_name = {s.name: s for s in sources}
    explicit = (settings.get("charon.load") or "").split()
    if explicit:
        chosen: list[_Candidate] = []
        for pos, word in enumerate(explicit):
            name, critical = word.rstrip("!"), word.endswith("!")
            src = by_name.get(name)
            if src is None:
                # charon.load also names non-KE plugins (kernel-netlink, socket-default, ...).
                log.debug("charon.load names '%s', which is not a KE plugin", name)
                continue
            chosen.append(_Candidate(src, len(explicit) - pos, pos, critical))
        return chosen
    chosen = []
    for order, src in enumerate(sources):
        value = settings.get(f"charon.plugins.{src.name}.load")
        enabled, priority = _load_setting(src.name, value)
        if not enabled:
            log.info("plugin '%s' disabled by charon.plugins.%s.load", src.name, src.name)
            continue
        chosen.append(_Candidate(src, priority, order))
    return chosen


def _load_setting(name: str, value: str | None) -> tuple[bool, int | None]:
    """(enabled, explicit priority) from ``charon.plugins.<name>.load``."""
    if value is None:
        return True, None
    value = value.strip()
    if value.lower() in ("no", "false", "disabled", "off", "0"):  # strongSwan's false words
        return False, None
    if re.fullmatch(r"[+-]?\d+", value):
        return True, int(value)
    if not _is_yes(value, False):
        log.warning("charon.plugins.%s.load = %r is neither yes/no nor a number, loading", name, value)
    return True, None


_REQ = re.compile(r"^\s*([A-Za-z0-9_.\-]+)\s*(?:(>=|==|>|<=|<|!=)\s*([0-9][0-9A-Za-z.]*))?\s*$")


def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", text)[:4])


def _missing_requirements(requires: Iterable[str]) -> list[str]:
    """Requirements not met by installed distributions (``name`` or ``name OP version``)."""
    missing = []
    for req in requires:
        m = _REQ.match(req)
        if m is None:
            missing.append(f"{req} (unparsable)")
            continue
        dist, op, want = m.groups()
        try:
            have = metadata.version(dist)
        except metadata.PackageNotFoundError:
            missing.append(req)
            continue
        if op and not _compare(_version_tuple(have), op, _version_tuple(want)):
            missing.append(f"{req} (have {have})")
    return missing


def _compare(have: tuple[int, ...], op: str, want: tuple[int, ...]) -> bool:
    return {
        ">=": have >= want, ">": have > want, "==": have == want,
        "<=": have <= want, "<": have < want, "!=": have != want,
    }[op]
