"""Every kind of unusable peer value is rejected with InvalidKeData, by every plugin.

Wrong length for every method, ECP points off the curve, X25519/X448 small-order points
(all-zero secret), MODP values outside 1 < y < p-1 or outside the RFC 5114 subgroup.
ML-KEM bad keys and ciphertext lengths from published vectors: test_vectors_mlkem.py.
"""

from __future__ import annotations

import logging

import pytest
from vicid_plugins._modp import MODP_GROUPS

from vicid.ike.wire.enums import NotifyType
from vicid.ke import InvalidKeData, KeRegistry, KeStateError


def all_providers(registry: KeRegistry) -> list:
    return [
        pytest.param((plugin, method), id=f"{plugin}-{method}")
        for method in sorted(registry.supported())
        for plugin in registry.providers(method)
    ]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "plugin_method" in metafunc.fixturenames:
        from tests.plugins.conftest import FakeSettings

        metafunc.parametrize("plugin_method", all_providers(KeRegistry.from_entry_points(FakeSettings())))


@pytest.fixture(scope="module")
def short_exp_registry() -> KeRegistry:
    """Short MODP exponents: pure-Python MODP-8192 keygen takes seconds at full length."""
    from tests.plugins.conftest import FakeSettings

    return KeRegistry.from_entry_points(FakeSettings({"charon.dh_exponent_ansi_x9_42": "no"}))


def test_wrong_lengths_rejected_in_both_roles(short_exp_registry: KeRegistry, plugin_method) -> None:
    plugin, method = plugin_method
    registry = short_exp_registry
    initiator = registry.create_from(plugin, method)
    good = initiator.public_value()
    for bad in (b"", good[:-1], good + b"\x00", good * 2):
        responder = registry.create_from(plugin, method)  # first call: peer value
        with pytest.raises(InvalidKeData) as err:
            responder.set_peer_value(bad)
        assert err.value.method == method
        if initiator.is_kem and len(bad) == initiator.ciphertext_size:
            bad += b"\x00"  # the initiator expects a ciphertext, not a key
        with pytest.raises(InvalidKeData):
            initiator.set_peer_value(bad)


def test_invalid_ke_data_names_its_notify() -> None:
    err = InvalidKeData(31, "peer value is 3 bytes, expected 32")
    assert err.notify is NotifyType.NO_PROPOSAL_CHOSEN
    assert str(err) == "CURVE_25519: peer value is 3 bytes, expected 32"
    assert isinstance(err, ValueError)


@pytest.mark.parametrize("method", [19, 20, 21, 25, 26, 28, 29, 30])
def test_ecp_point_not_on_curve(registry: KeRegistry, method: int) -> None:
    if method not in registry.supported():
        pytest.skip("curve not available")
    good = registry.create(method).public_value()
    half = len(good) // 2
    y = int.from_bytes(good[half:], "big") ^ 1
    off_curve = good[:half] + y.to_bytes(half, "big")
    for bad in (off_curve, bytes(len(good)), b"\xff" * len(good)):
        with pytest.raises(InvalidKeData, match="not on the curve"):
            registry.create(method).set_peer_value(bad)


# u-coordinates of small order: 0 and 1 give an all-zero result (RFC 7748 §6.1, §6.2).
SMALL_ORDER = {
    31: [bytes(32), (1).to_bytes(32, "little"),
         bytes.fromhex("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800")],
    32: [bytes(56), (1).to_bytes(56, "little")],
}


@pytest.mark.parametrize("method", [31, 32])
def test_xdh_small_order_points_give_zero_secret(registry: KeRegistry, method: int) -> None:
    for bad in SMALL_ORDER[method]:
        with pytest.raises(InvalidKeData, match="all zero"):
            registry.create(method).set_peer_value(bad)


def modp_cases(registry: KeRegistry) -> list:
    return [(p, m) for m in sorted(MODP_GROUPS) if m in registry.supported() for p in registry.providers(m)]


def test_modp_out_of_range(registry: KeRegistry) -> None:
    for plugin, method in modp_cases(registry):
        g = MODP_GROUPS[method]
        for y in (0, 1, g.p - 1, g.p, g.p + 1, (1 << (8 * g.size)) - 1):
            with pytest.raises(InvalidKeData, match="out of range"):
                registry.create_from(plugin, method, seed=b"x").set_peer_value(y.to_bytes(g.size, "big"))


@pytest.mark.parametrize("method", [22, 23, 24])
def test_rfc5114_value_outside_subgroup(registry: KeRegistry, method: int) -> None:
    g = MODP_GROUPS[method]
    y = next(y for y in range(2, 100) if pow(y, g.q, g.p) != 1)
    with pytest.raises(InvalidKeData, match="subgroup"):
        registry.create_from("dh", method).set_peer_value(g.encode(y))


def test_call_order_misuse_is_a_state_error(registry: KeRegistry) -> None:
    for method in (31, 36, 14):
        ke = registry.create(method)
        with pytest.raises(KeStateError):
            ke.shared_secret()
        peer = registry.create(method)
        ke.set_peer_value(peer.public_value())
        with pytest.raises(KeStateError):
            ke.set_peer_value(peer.public_value())


def test_no_key_material_in_errors_or_logs(registry: KeRegistry, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    ke = registry.create(31, seed=b"s")
    peer = registry.create(31, seed=b"t")
    ke.set_peer_value(peer.public_value())
    secret = ke.shared_secret()
    assert repr(secret) == "<secret 32 bytes>" and f"{secret}" == "<secret 32 bytes>"
    with pytest.raises(InvalidKeData) as err:
        registry.create(31).set_peer_value(bytes(32))
    text = str(err.value) + caplog.text
    assert secret.reveal().hex() not in text and peer.public_value().hex() not in text
