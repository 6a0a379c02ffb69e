"""Stateless COOKIEs for IKE_SA_INIT under load (RFC 7296 §2.6), as charon's receiver does it.

    COOKIE = t | SHA-1(IPi | SPIi | t | secret)          t = 4-byte time stamp (big-endian)

The secret rotates after 120 s of use and the previous one still verifies cookies minted
before the switch; a cookie is valid for 10 s. Cookies are demanded once the half-open
IKE_SA count reaches ``cookie_threshold`` (or ``cookie_threshold_ip`` for one source address)
and stay demanded for 10 s after it drops again, so retransmissions are answered alike.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field

from vicid.ike.rng import Rng

COOKIE_LIFETIME = 10
COOKIE_CALMDOWN_DELAY = 10
COOKIE_CALMDOWN_BUCKETS = 32
COOKIE_SECRET_SWITCH = 120
SECRET_LENGTH = 16
COOKIE_LENGTH = 4 + 20


@dataclass
class CookieJar:
    """Mints and verifies cookies with a rotating secret (``receiver.c`` cookie_build/verify)."""

    rng: Rng
    secret: bytes = b""
    secret_old: bytes = b""
    first_use: int | None = None  # time the current secret was first used
    offset: int = 0  # random offset so cookies do not reveal our clock

    def __post_init__(self) -> None:
        self.secret = self.secret or self.rng.bytes(SECRET_LENGTH)
        self.secret_old = self.secret_old or self.rng.bytes(SECRET_LENGTH)
        self.offset = int.from_bytes(self.rng.bytes(2), "big")

    @staticmethod
    def _build(address: bytes, spi_i: bytes, t: int, secret: bytes) -> bytes:
        stamp = (t & 0xFFFFFFFF).to_bytes(4, "big")
        digest = hashlib.sha1(address + spi_i + stamp + secret, usedforsecurity=False).digest()
        return stamp + digest

    def make(self, address: bytes, spi_i: bytes, now: float) -> bytes:
        """A cookie for this initiator (``address`` packed, ``spi_i`` 8 bytes)."""
        sec = int(now)
        if self.first_use is None:
            self.first_use = sec
        elif sec - self.first_use > COOKIE_SECRET_SWITCH:
            self.secret_old, self.secret = self.secret, self.rng.bytes(SECRET_LENGTH)
            self.first_use = sec
        return self._build(address, spi_i, sec + self.offset, self.secret)

    def verify(self, cookie: bytes, address: bytes, spi_i: bytes, now: float) -> bool:
        """True if ``cookie`` was minted by us for this initiator within the lifetime."""
        if len(cookie) != COOKIE_LENGTH:
            return False
        t = int.from_bytes(cookie[:4], "big")
        minted = (t - self.offset) & 0xFFFFFFFF
        if not 0 <= int(now) - minted <= COOKIE_LIFETIME:
            return False
        secret = self.secret if minted >= (self.first_use or 0) else self.secret_old
        return hmac.compare_digest(self._build(address, spi_i, t, secret), cookie)


@dataclass
class CookiePolicy:
    """When cookies are required: thresholds with charon's calm-down delay per IP bucket."""

    threshold: int = 30
    threshold_ip: int = 3
    last_threshold: dict[int, float] = field(default_factory=dict)

    def required(self, half_open: int, half_open_ip: int, address: bytes, now: float) -> bool:
        return (self._check(self.threshold, half_open, 0, now)
                or self._check(self.threshold_ip, half_open_ip, self._bucket(address), now))

    @staticmethod
    def _bucket(address: bytes) -> int:
        digest = hashlib.sha1(address, usedforsecurity=False).digest()
        return 1 + (digest[0] % COOKIE_CALMDOWN_BUCKETS)

    def _check(self, threshold: int, count: int, idx: int, now: float) -> bool:
        if not threshold:
            return False
        if count >= threshold:
            self.last_threshold[idx] = now
            return True
        last = self.last_threshold.get(idx)
        return last is not None and now < last + COOKIE_CALMDOWN_DELAY
