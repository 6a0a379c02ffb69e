"""Configuration payloads in IKE_AUTH: virtual IPs and attributes (RFC 7296 §2.19, §3.15).

    (first IKE_AUTH)  SK {IDi, ..., CP(CFG_REQUEST: INTERNAL_IP4_ADDRESS, INTERNAL_IP4_DNS), SAi2, TSi, TSr} -->
    (last IKE_AUTH)                        <-- SK {IDr, AUTH, CP(CFG_REPLY: INTERNAL_IP4_ADDRESS(a), ...), ...}

As charon's ``ike_config.c``: the initiator asks for the virtual IPs of its config (``vips``,
0.0.0.0/:: for any address, or a specific one; the ones it already holds when reauthenticating)
in the first IKE_AUTH request and takes what the last response assigns. The responder reads the
request in the first IKE_AUTH and answers once the peer is authenticated, acquiring one address
per requested virtual IP from the connection's ``pools`` through the engine's attribute
provider (:mod:`vicid.ike.attributes`), plus the attributes those pools define. Nothing assigned
for a request: INTERNAL_ADDRESS_FAILURE; pools configured but nothing requested:
FAILED_CP_REQUIRED. Either notify makes child_create build no CHILD_SA, as charon.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address, ip_address

from vicid.ike.effects import IpAddress
from vicid.ike.messages import InMessage, OutMessage
from vicid.ike.sa_state import Cond
from vicid.ike.tasks.base import Status, Task, TaskKind
from vicid.ike.wire.enums import CfgType, ConfigAttr, ExchangeType, NotifyType, PayloadType, config_attr_name
from vicid.ike.wire.payloads import CpAttribute, CpPayload

A = ConfigAttr
IPV6_PREFIX = 64  # the prefix length charon puts after an assigned IPv6 address


def host_text(addr: IpAddress) -> str:
    """charon's ``%H`` for an address (``%any``/``%any6`` for the unspecified ones)."""
    if addr.is_unspecified:
        return "%any" if addr.version == 4 else "%any6"
    return str(addr)


def build_vip(vip: IpAddress) -> CpAttribute:
    """INTERNAL_IP4/6_ADDRESS: empty to ask for any address, else the address (IPv6: + prefix)."""
    if vip.version == 4:
        return CpAttribute(A.INTERNAL_IP4_ADDRESS, b"" if vip.is_unspecified else vip.packed)
    return CpAttribute(A.INTERNAL_IP6_ADDRESS, b"" if vip.is_unspecified else vip.packed + bytes([IPV6_PREFIX]))


def any_address(version: int) -> IpAddress:
    return IPv4Address(0) if version == 4 else IPv6Address(0)


class IkeConfig(Task):
    kind = TaskKind.IKE_CONFIG

    def __init__(self, sa, initiator: bool) -> None:
        super().__init__(sa, initiator)
        self.vip_requested = False
        self.vips: list[IpAddress] = []  # requested (responder) or assigned (initiator)
        self.requested: list[int] = []  # attribute types we asked for
        self.built = self.processed = False

    def migrate(self) -> None:
        self.vips, self.requested, self.built, self.processed = [], [], False, False

    # --- reading CP payloads (both roles) -------------------------------------------------------
    def _process_payloads(self, msg: InMessage) -> None:
        for cp in msg.get_all(PayloadType.CP):
            if cp.cfg_type not in (CfgType.CFG_REQUEST, CfgType.CFG_REPLY):
                name = CfgType(cp.cfg_type).name if cp.cfg_type in CfgType._value2member_map_ else str(cp.cfg_type)
                self.sa.log("IKE", 1, f"ignoring {name} config payload")
                continue
            for attr in cp.attributes:
                self.sa.log("IKE", 2, f"processing {config_attr_name(attr.attr_type)} attribute")
                self._process_attribute(attr)

    def _process_attribute(self, attr: CpAttribute) -> None:
        if attr.attr_type in (A.INTERNAL_IP4_ADDRESS, A.INTERNAL_IP6_ADDRESS):
            if self.initiator and not self.vip_requested:
                self._handle(attr)
                return
            v4 = attr.attr_type == A.INTERNAL_IP4_ADDRESS
            if not attr.value:
                self.vips.append(any_address(4 if v4 else 6))
            else:  # the decoder checked the lengths; IPv6 carries a prefix byte
                self.vips.append(ip_address(attr.value if v4 else attr.value[:16]))
        elif self.initiator:
            self._handle(attr)

    def _handle(self, attr: CpAttribute) -> None:
        """``handle_attribute``: kept on the IKE_SA; vicid has no handler that applies them
        (charon's resolve plugin would write DNS servers to resolv.conf)."""
        if attr.attr_type in self.requested:
            self.requested.remove(attr.attr_type)
        self.sa.config_attributes.append((attr.attr_type, attr.value))
        self.sa.log("CFG", 1, f"handling {config_attr_name(attr.attr_type)} attribute failed")


class IkeConfigInitiator(IkeConfig):
    def __init__(self, sa) -> None:
        super().__init__(sa, True)

    def build(self, msg: OutMessage) -> Status:
        if msg.exchange != ExchangeType.IKE_AUTH or self.built:
            return Status.NEED_MORE
        self.built = True  # first IKE_AUTH only; the reply comes with the last one
        sa = self.sa
        vips = list(sa.my_vips) or list(sa.peer_cfg.vips if sa.peer_cfg else ())
        attrs = [build_vip(vip) for vip in vips]
        self.vip_requested = bool(vips)
        if sa.ctx.settings.request_dns:  # charon's resolve handler: DNS per virtual IP family
            for version, dns in ((4, A.INTERNAL_IP4_DNS), (6, A.INTERNAL_IP6_DNS)):
                if any(vip.version == version for vip in vips):
                    sa.log("IKE", 2, f"building {dns.name} attribute")
                    attrs.append(CpAttribute(dns))
                    self.requested.append(dns)
        if not attrs:
            return Status.SUCCESS  # no CFG_REPLY expected
        msg.add(CpPayload(CfgType.CFG_REQUEST, tuple(attrs)))
        return Status.NEED_MORE

    def process(self, msg: InMessage) -> Status:
        sa = self.sa
        if msg.exchange != ExchangeType.IKE_AUTH or not sa.has(Cond.AUTHENTICATED):
            return Status.NEED_MORE
        self._process_payloads(msg)
        sa.clear_virtual_ips(True)
        for vip in self.vips:
            if not vip.is_unspecified:
                sa.add_virtual_ip(True, vip)
        return Status.SUCCESS


class IkeConfigResponder(IkeConfig):
    def __init__(self, sa) -> None:
        super().__init__(sa, False)

    def process(self, msg: InMessage) -> Status:
        if msg.exchange == ExchangeType.IKE_AUTH and not self.processed:
            self.processed = True  # attributes of the first IKE_AUTH only
            self._process_payloads(msg)
        return Status.NEED_MORE

    def build(self, msg: OutMessage) -> Status:
        sa = self.sa
        if msg.exchange != ExchangeType.IKE_AUTH or not sa.has(Cond.AUTHENTICATED):
            return Status.NEED_MORE
        if sa.has(Cond.REDIRECTED):
            return Status.SUCCESS
        identity = sa.other_eap_id()
        pools = list(sa.peer_cfg.pools) if sa.peer_cfg else []
        provider = sa.ctx.attributes
        sa.clear_virtual_ips(False)

        def log(line: str) -> None:
            sa.log("CFG", 1, line)

        attrs: list[CpAttribute] = []
        assigned: list[IpAddress] = []
        for requested in self.vips:
            sa.log("IKE", 1, f"peer requested virtual IP {host_text(requested)}")
            found = None
            if provider is not None:
                found = provider.acquire_address(pools, identity, requested, sa.other_host, log)
            if found is None:
                sa.log("IKE", 1, f"no virtual IP found for {host_text(requested)} requested by '{identity}'")
                continue
            sa.log("IKE", 1, f"assigning virtual IP {found} to peer '{identity}'")
            sa.add_virtual_ip(False, found)
            attrs.append(build_vip(found))
            assigned.append(found)
        if self.vips and not assigned:
            sa.log("IKE", 1, "no virtual IP found, sending INTERNAL_ADDRESS_FAILURE")
            sa.alert("vip-failure")
            msg.add_notify(NotifyType.INTERNAL_ADDRESS_FAILURE)
            return Status.SUCCESS
        if pools and not self.vips:
            sa.log("IKE", 1, "expected a virtual IP request, sending FAILED_CP_REQUIRED")
            sa.alert("vip-failure")
            msg.add_notify(NotifyType.FAILED_CP_REQUIRED)
            return Status.SUCCESS
        if provider is not None:
            for attr_type, value in provider.responder_attributes(pools, assigned):
                sa.log("IKE", 2, f"building {config_attr_name(attr_type)} attribute")
                attrs.append(CpAttribute(attr_type, value))
        if attrs:
            msg.add(CpPayload(CfgType.CFG_REPLY, tuple(attrs)))
        return Status.SUCCESS
