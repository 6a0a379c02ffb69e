"""Stateless cookies (RFC 7296 §2.6) with charon's secret rotation and thresholds."""

from __future__ import annotations

from vicid.ike.cookies import COOKIE_LENGTH, CookieJar, CookiePolicy
from vicid.ike.rng import DeterministicRng

ADDR, SPI = bytes([192, 0, 2, 3]), b"\x11" * 8


def test_cookie_verifies_for_the_same_initiator_only():
    jar = CookieJar(DeterministicRng("c"))
    cookie = jar.make(ADDR, SPI, 100.0)
    assert len(cookie) == COOKIE_LENGTH
    assert jar.verify(cookie, ADDR, SPI, 100.0)
    assert jar.verify(cookie, ADDR, SPI, 110.0)
    assert not jar.verify(cookie, ADDR, SPI, 111.0)  # 10 s lifetime
    assert not jar.verify(cookie, bytes([192, 0, 2, 4]), SPI, 100.0)
    assert not jar.verify(cookie, ADDR, b"\x12" * 8, 100.0)
    assert not jar.verify(cookie[:-1] + bytes([cookie[-1] ^ 1]), ADDR, SPI, 100.0)
    assert not jar.verify(b"short", ADDR, SPI, 100.0)


def test_secret_rotation_keeps_previous_cookies_valid():
    jar = CookieJar(DeterministicRng("r"))
    old = jar.make(ADDR, SPI, 1000.0)
    new = jar.make(ADDR, SPI, 1121.0)  # > 120 s after first use: new secret
    assert jar.verify(new, ADDR, SPI, 1121.0)
    assert jar.verify(old, ADDR, SPI, 1005.0)  # minted before the switch: old secret
    assert old[4:] != jar._build(ADDR, SPI, int.from_bytes(old[:4], "big"), jar.secret)[4:]


def test_policy_threshold_and_calm_down():
    policy = CookiePolicy(threshold=2, threshold_ip=0)
    assert not policy.required(1, 1, ADDR, 0.0)
    assert policy.required(2, 2, ADDR, 1.0)
    assert policy.required(0, 0, ADDR, 10.9)  # still required for 10 s
    assert not policy.required(0, 0, ADDR, 11.0)


def test_policy_per_ip_threshold():
    policy = CookiePolicy(threshold=0, threshold_ip=3)
    assert policy.required(0, 3, ADDR, 0.0)
    assert not policy.required(10, 2, bytes([198, 51, 100, 1]), 0.0)
