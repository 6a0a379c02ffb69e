"""Engine settings read once from strongswan.conf through a ``get(key, default)`` callable.

Names and defaults are charon's (``conf/options/charon.opt``); only the keys the engine uses
are read. Values are parsed like libstrongswan's settings getters (``yes``/``no``, integers,
floats, times with an s/m/h/d suffix); an unparsable value falls back to the default.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from vicid.ike.retransmit import JITTER_MAX, Retransmission

Getter = Callable[[str, str | None], str | None]
NS = "charon"
_TRUE = {"yes", "true", "enabled", "1"}
_FALSE = {"no", "false", "disabled", "0"}
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def _bool(raw: str | None, default: bool) -> bool:
    value = (raw or "").strip().lower()
    return True if value in _TRUE else False if value in _FALSE else default


def _int(raw: str | None, default: int) -> int:
    try:
        return int((raw or "").strip(), 0)
    except ValueError:
        return default


def _float(raw: str | None, default: float) -> float:
    try:
        return float((raw or "").strip())
    except ValueError:
        return default


def _time(raw: str | None, default: float) -> float:
    value = (raw or "").strip().lower()
    unit = value[-1:] if value[-1:] in "smhd" else ""
    try:
        return float(value[:len(value) - len(unit)]) * _UNITS[unit]
    except ValueError:
        return default


def _retransmission(opt: Callable[[str], str | None]) -> Retransmission:
    """charon.retransmit_timeout/base/tries/jitter/limit."""
    return Retransmission(
        timeout=_float(opt("retransmit_timeout"), 4.0),
        base=_float(opt("retransmit_base"), 1.8),
        tries=_int(opt("retransmit_tries"), 5),
        jitter=min(_int(opt("retransmit_jitter"), 0), JITTER_MAX),
        limit=float(_int(opt("retransmit_limit"), 0)),
    )


_TLS_VERSIONS = {"1.0": 0x0301, "1.1": 0x0302, "1.2": 0x0303, "1.3": 0x0304}


@dataclass(frozen=True)
class EapTlsSettings:
    """``charon.plugins.eap-tls.*`` and libtls' ``charon.tls.version_min/max`` (falling back
    to ``libtls.*`` as charon's settings do); TLS versions as wire numbers (0x0303 = 1.2)."""

    fragment_size: int = 1024
    max_message_count: int = 32
    include_length: bool = True
    version_min: int = 0x0303
    version_max: int = 0x0303  # charon 6.1 still defaults to TLS 1.2 for EAP

    @classmethod
    def from_getter(cls, get: Getter) -> EapTlsSettings:
        d = cls()

        def tls(name: str, default: int) -> int:
            raw = get(f"{NS}.tls.{name}", None) or get(f"libtls.{name}", None)
            return _TLS_VERSIONS.get((raw or "").strip(), default)

        vmin, vmax = tls("version_min", d.version_min), tls("version_max", d.version_max)
        return cls(
            fragment_size=_int(get(f"{NS}.plugins.eap-tls.fragment_size", None), d.fragment_size),
            max_message_count=_int(get(f"{NS}.plugins.eap-tls.max_message_count", None), d.max_message_count),
            include_length=_bool(get(f"{NS}.plugins.eap-tls.include_length", None), True),
            version_min=min(vmin, vmax),
            version_max=vmax,
        )


@dataclass(frozen=True)
class EngineSettings:
    """Everything the sans-I/O engine reads from ``charon.*`` (defaults as charon 6.1)."""

    retransmit: Retransmission = field(default_factory=Retransmission)
    fragment_size: int = 1280
    fragment_size_v4: int = 0
    fragment_size_v6: int = 0
    max_packet: int = 10000
    port: int = 500
    port_nat_t: int = 4500
    dos_protection: bool = True
    cookie_threshold: int = 30
    cookie_threshold_ip: int = 3
    block_threshold: int = 5
    init_limit_half_open: int = 0
    ikesa_limit: int = 0
    half_open_timeout: float = 30.0
    prefer_configured_proposals: bool = True
    prefer_previous_dh_group: bool = True
    accept_private_algs: bool = False
    send_vendor_id: bool = False
    cisco_flexvpn: bool = False
    signature_authentication: bool = True
    follow_redirects: bool = True
    multiple_authentication: bool = True
    close_ike_on_child_failure: bool = False
    delete_rekeyed_delay: int = 5  # seconds a rekeyed inbound SA lingers for late packets
    make_before_break: bool = True
    replay_window: int = 32
    spi_min: int = 0xC0000000
    spi_max: int = 0xCFFFFFFF
    nonce_size: int = 32
    eap_tls: EapTlsSettings = field(default_factory=EapTlsSettings)
    request_dns: bool = True  # charon's resolve plugin is loaded: ask for DNS servers with a vip
    # vicid extensions (not charon options)
    esp_v3_tfc: bool = True  # the datapath supports ESPv3 TFC padding (kernel-netlink does)
    invalid_ike_spi_rate: int = 1  # INVALID_IKE_SPI replies per second (RFC 7296 §2.21.4), 0 = off

    def fragment_size_for(self, ipv6: bool) -> int:
        """charon's ``determine_fragment_size``: per-family value, the generic one, or 576/1280."""
        size = self.fragment_size_v6 if ipv6 else self.fragment_size_v4
        return size or self.fragment_size or (1280 if ipv6 else 576)

    @classmethod
    def from_get(cls, get: Getter) -> EngineSettings:
        """Alias of :meth:`from_getter` (the daemon shell's spelling)."""
        return cls.from_getter(get)

    @classmethod
    def from_getter(cls, get: Getter) -> EngineSettings:
        """Read every engine option from a strongswan.conf lookup (``Settings.get``)."""
        d = cls()

        def opt(name: str) -> str | None:
            return get(f"{NS}.{name}", None)

        block = _int(opt("block_threshold"), d.block_threshold)
        cookie_ip = _int(opt("cookie_threshold_ip"), d.cookie_threshold_ip)
        return cls(
            retransmit=_retransmission(opt),
            fragment_size=_int(opt("fragment_size"), d.fragment_size),
            fragment_size_v4=_int(opt("fragment_size_v4"), 0),
            fragment_size_v6=_int(opt("fragment_size_v6"), 0),
            max_packet=_int(opt("max_packet"), d.max_packet),
            port=_int(opt("port"), d.port),
            port_nat_t=_int(opt("port_nat_t"), d.port_nat_t),
            dos_protection=_bool(opt("dos_protection"), True),
            cookie_threshold=_int(opt("cookie_threshold"), d.cookie_threshold),
            cookie_threshold_ip=cookie_ip,
            block_threshold=max(block, cookie_ip + 1),  # as charon's receiver enforces
            init_limit_half_open=_int(opt("init_limit_half_open"), 0),
            ikesa_limit=_int(opt("ikesa_limit"), 0),
            half_open_timeout=_time(opt("half_open_timeout"), d.half_open_timeout),
            prefer_configured_proposals=_bool(opt("prefer_configured_proposals"), True),
            prefer_previous_dh_group=_bool(opt("prefer_previous_dh_group"), True),
            accept_private_algs=_bool(opt("accept_private_algs"), False),
            send_vendor_id=_bool(opt("send_vendor_id"), False),
            cisco_flexvpn=_bool(opt("cisco_flexvpn"), False),
            signature_authentication=_bool(opt("signature_authentication"), True),
            follow_redirects=_bool(opt("follow_redirects"), True),
            multiple_authentication=_bool(opt("multiple_authentication"), True),
            close_ike_on_child_failure=_bool(opt("close_ike_on_child_failure"), False),
            delete_rekeyed_delay=_int(opt("delete_rekeyed_delay"), d.delete_rekeyed_delay),
            make_before_break=_bool(opt("make_before_break"), True),
            replay_window=_int(opt("replay_window"), d.replay_window),
            spi_min=_int(opt("spi_min"), d.spi_min),
            spi_max=_int(opt("spi_max"), d.spi_max),
            eap_tls=EapTlsSettings.from_getter(get),
            invalid_ike_spi_rate=_int(opt("invalid_ike_spi_rate"), d.invalid_ike_spi_rate),
            request_dns=_resolve_loaded(opt("load"), opt("plugins.resolve.load")),
        )


__all__ = ["EapTlsSettings", "EngineSettings", "Getter", "_bool", "_float", "_int", "_time"]


def _resolve_loaded(load: str | None, plugin_load: str | None) -> bool:
    """Whether charon would load its resolve plugin: named in ``charon.load`` if that is set,
    else unless ``charon.plugins.resolve.load`` says no."""
    if load:
        return "resolve" in load.replace(",", " ").replace("!", " ").split()
    return _bool(plugin_load, True)
