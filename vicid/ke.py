"""Public key-exchange plugin API: build your own method as a separate package.

Everything a third-party ``vicid.ke`` entry point needs is importable from here; the
implementation lives in :mod:`vicid.ike.ke`.
"""

from vicid.ike.ke import (
    ENTRY_POINT_GROUP,
    DhKeyExchange,
    InvalidKeData,
    KeFactory,
    KeMethodInfo,
    KemKeyExchange,
    KePlugin,
    KeRegistry,
    KeSeedUnsupported,
    KeStateError,
    KeyExchange,
    PluginSource,
    Settings,
    UnsupportedKeMethod,
    derive_seed,
    self_test,
)
from vicid.secrets import Secret

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
    "PluginSource",
    "Secret",
    "Settings",
    "UnsupportedKeMethod",
    "derive_seed",
    "self_test",
]
