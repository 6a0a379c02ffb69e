"""KeRegistry: entry points, charon.load / charon.plugins.<name>.load, broken plugins, queries."""

from __future__ import annotations

import logging
import secrets

import pytest
from vicid_plugins import dh, ml, openssl, testing

from tests.plugins.conftest import FakeSettings
from vicid.ke import (
    KeFactory,
    KeMethodInfo,
    KePlugin,
    KeRegistry,
    PluginSource,
    UnsupportedKeMethod,
)

BUILTINS = {"dh": dh.PLUGIN, "ml": ml.PLUGIN, "openssl": openssl.PLUGIN}


def build(settings: dict[str, str] | None = None, **extra: object) -> KeRegistry:
    return KeRegistry.from_plugins(FakeSettings(settings or {}), {**BUILTINS, **extra})


def test_entry_points_load_the_builtins(registry: KeRegistry) -> None:
    assert {"openssl", "ml", "dh"} <= set(registry.plugins)
    assert {1, 2, 5, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 31, 32, 35, 36, 37} <= registry.supported()


def test_algorithms_for_get_algorithms(registry: KeRegistry) -> None:
    algs = registry.algorithms()
    assert algs["CURVE_25519"] == "openssl"
    assert algs["MODP_2048"] == "openssl"  # openssl outranks dh by default
    assert algs["MODP_1024_160"] == "dh"
    assert algs["ML_KEM_512"] in ("ml", "openssl")
    assert algs["ML_KEM_768"] in ("ml", "openssl")


def test_keywords(registry: KeRegistry) -> None:
    assert registry.keyword(31) == "curve25519"
    assert registry.lookup("x25519") == registry.lookup("Curve25519") == 31
    assert registry.lookup("ecp256") == 19 and registry.keyword(20) == "ecp384"
    assert registry.lookup("modp3072") == 15 and registry.lookup("modp2048s256") == 24
    assert registry.lookup("mlkem768") == 36 and registry.is_kem(36) and not registry.is_kem(31)
    with pytest.raises(UnsupportedKeMethod):
        registry.lookup("gost256")
    with pytest.raises(UnsupportedKeMethod):
        registry.create(33)


def test_charon_load_limits_and_orders() -> None:
    reg = build({"charon.load": "random nonce dh openssl kernel-netlink"})
    assert reg.plugins == ["dh", "openssl"]  # ml absent, dh first = preferred
    assert reg.providers(14) == ["dh", "openssl"]
    assert 35 not in reg.supported()


def test_per_plugin_load_no_and_priority() -> None:
    reg = build({"charon.plugins.openssl.load": "no"})
    assert "openssl" not in reg.plugins and reg.algorithms()["MODP_2048"] == "dh"
    reg = build({"charon.plugins.dh.load": "10"})
    assert reg.providers(14) == ["dh", "openssl"]
    reg = build({"charon.plugins.ml.load": "5"})
    assert reg.providers(36)[0] == "ml"
    reg = build({"charon.plugins.dh.load": "yes"})
    assert reg.providers(14) == ["openssl", "dh"]


def test_seeded_create_picks_a_seedable_provider() -> None:
    reg = build(testing=testing.PLUGIN)
    assert reg.providers(36)[-1] == "testing"  # lowest priority...
    ke = reg.create(36, seed=b"golden")  # ...but the only fully seedable one
    assert type(ke).__name__ == "ReferenceMlKem"
    assert ke.public_value() == reg.create(36, seed=b"golden").public_value()
    with pytest.raises(UnsupportedKeMethod):
        build().create(35, seed=b"x")  # pqcrypto takes no seed


class _Boom(KePlugin):
    def factories(self, settings):
        raise RuntimeError("probe failed")


def _dummy_factory(requires: tuple[str, ...]) -> KeFactory:
    return KeFactory(lambda m, seed=None: None, (KeMethodInfo(1030, "dummy"),), requires)


def test_broken_plugins_never_stop_loading(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="vicid.ke")

    def import_error() -> object:
        raise ImportError("No module named 'vicid_ke_missing'")

    sources = [
        PluginSource("broken-import", import_error),
        PluginSource("not-a-plugin", lambda: object()),
        PluginSource("boom", _Boom),
        PluginSource("needs", lambda: KePlugin([_dummy_factory(("no-such-dist>=1",))])),
        PluginSource("too-old", lambda: KePlugin([_dummy_factory(("cryptography>=999",))])),
        PluginSource("bad-factory", lambda: KePlugin(["not a factory"])),  # type: ignore[list-item]
        PluginSource("dh", lambda: dh.PLUGIN),
    ]
    reg = KeRegistry.from_sources(FakeSettings(), sources)
    assert 14 in reg.supported() and 1030 not in reg.supported()
    text = caplog.text
    assert "plugin 'broken-import' failed to load: ImportError" in text
    assert "plugin 'not-a-plugin' not loaded: object is not a KePlugin" in text
    assert "plugin 'boom' failed to list its factories: RuntimeError: probe failed" in text
    assert "missing dependency no-such-dist>=1" in text
    assert "cryptography>=999 (have" in text
    assert "ignoring str, not a KeFactory" in text
    assert "plugin 'dh' (priority 1) provides KE MODP_768" in text


def test_private_ids_show_as_numbers() -> None:
    toy = KePlugin([KeFactory(lambda m, seed=None: None, (KeMethodInfo(1030, "toy1030"),))])
    reg = build(toy=toy)
    assert reg.algorithms()["1030"] == "toy"
    assert reg.lookup("toy1030") == 1030
    with pytest.raises(UnsupportedKeMethod):
        reg.create(1030)  # its constructor declined


def test_crypto_test_on_add_drops_failing_methods(caplog: pytest.LogCaptureFixture) -> None:
    class Liar(dh.ModpKeyExchange):
        def _derive(self, peer: bytes) -> bytes:
            return secrets.token_bytes(len(peer))  # agrees with nobody, not even itself

    from vicid_plugins._modp import MODP_GROUPS

    liar = KePlugin([KeFactory(
        lambda m, seed=None: Liar(MODP_GROUPS[1]) if m == 1 else None, (KeMethodInfo(1, "modp768"),)
    )])
    settings = FakeSettings({"charon.crypto_test.on_add": "yes", "charon.dh_exponent_ansi_x9_42": "no"})
    caplog.set_level(logging.WARNING, logger="vicid.ke")
    reg = KeRegistry.from_plugins(settings, {"liar": liar, "dh": dh.PLUGIN})
    assert reg.providers(1) == ["dh"]
    assert "plugin 'liar': MODP_768 failed its self-test, disabled" in caplog.text
    assert reg.providers(2) == ["dh"]  # the honest plugin's self-tests passed
