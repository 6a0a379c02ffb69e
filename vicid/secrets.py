"""A bytes wrapper for key material that never shows its value.

PSKs, private keys, shared secrets and SK_* keys travel as ``Secret`` so that a log line, an
exception message or a vici response built with ``str()``/``repr()``/f-strings cannot leak them.
"""

from __future__ import annotations

import hmac


class Secret:
    """Opaque secret bytes. ``repr``/``str`` print only the length; ``reveal()`` gives the bytes."""

    __slots__ = ("_value",)

    def __init__(self, value: bytes | bytearray | memoryview) -> None:
        self._value = bytearray(value)

    def reveal(self) -> bytes:
        """The secret bytes, for crypto primitives only: never log or return them."""
        return bytes(self._value)

    def __len__(self) -> int:
        return len(self._value)

    def __repr__(self) -> str:
        return f"<secret {len(self._value)} bytes>"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value, other._value)

    __hash__ = None  # type: ignore[assignment]  # mutable (zeroize) and secret: not a dict key

    def __bytes__(self) -> bytes:
        raise TypeError("Secret refuses bytes(); call reveal() where the key is really needed")

    def __reduce__(self):  # pickling would copy the secret somewhere unknown
        raise TypeError("Secret cannot be pickled")

    def zeroize(self) -> None:
        """Overwrite the bytes in place (best effort: Python may hold other copies)."""
        for i in range(len(self._value)):
            self._value[i] = 0
