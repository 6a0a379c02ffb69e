"""What the sans-I/O engine asks the shell to do, in order.

The engine returns one ordered list of effects per input (design.md §1.1): a responder installs
the inbound CHILD_SA before the datagram that lets the peer send ESP, and a rekey installs the new
SA before the DELETE of the old one goes out. The shell executes kernel effects, sends datagrams
and turns events into vici events, in exactly the order given.

Event payloads are snapshots (``IkeSaView``/``ChildSaView``) taken when the event happened, so
the vici layer renders what charon would have rendered at that moment.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from ipaddress import IPv4Address, IPv6Address

from vicid.ike.wire.frozen import fast_init
from vicid.secrets import Secret

IpAddress = IPv4Address | IPv6Address
Endpoint = tuple[IpAddress, int]  # (address, UDP port)


class Effect:
    """Base class of everything the engine returns."""


# --- network ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SendDatagram(Effect):
    """An IKE datagram (or fragment). On port 4500 ``data`` already starts with the non-ESP marker."""

    data: bytes
    src: Endpoint
    dst: Endpoint


# --- kernel / datapath ------------------------------------------------------------------------


class Direction(Enum):
    IN = "in"
    OUT = "out"
    FWD = "fwd"


@dataclass(frozen=True)
class SaKeys:
    """Negotiated ESP/AH algorithms and keys of one direction (RFC 7296 §2.17 keymat split)."""

    encr_alg: int  # EncrAlg; 0 for AH
    encr_keysize: int  # bits, without salt
    encr_key: Secret  # includes the salt for AEAD/CTR modes, as RFC 4106 / 7634 lay it out
    integ_alg: int  # IntegAlg; 0 (NONE) for AEAD
    integ_key: Secret | None
    esn: bool = False


@dataclass(frozen=True)
class InstallChildSa(Effect):
    """Install one IPsec SA (one direction). ``src``/``dst`` are the outer endpoints of that
    direction; ``encap`` asks for ESP-in-UDP (RFC 3948) on those ports."""

    ike_uniqueid: int
    child_uniqueid: int
    reqid: int
    spi: int
    inbound: bool
    protocol: int  # ProtocolId.ESP / AH
    mode: str  # "TUNNEL" / "TRANSPORT"
    src: Endpoint
    dst: Endpoint
    encap: bool
    keys: SaKeys
    local_ts: tuple = ()  # vicid.ike.ts.TrafficSelector, negotiated
    remote_ts: tuple = ()
    replay_window: int = 32
    lifetime_soft: int = 0  # seconds, 0 = none
    lifetime_hard: int = 0
    bytes_soft: int = 0
    bytes_hard: int = 0
    packets_soft: int = 0
    packets_hard: int = 0
    mark_in: tuple[int, int] = (0, 0)
    mark_out: tuple[int, int] = (0, 0)
    if_id: int = 0


@dataclass(frozen=True)
class UpdateChildSa(Effect):
    """Outer addresses or encapsulation of an installed SA changed (NAT-T float, MOBIKE)."""

    spi: int
    protocol: int
    old_dst: Endpoint
    src: Endpoint
    dst: Endpoint
    encap: bool


@dataclass(frozen=True)
class DeleteChildSa(Effect):
    spi: int
    protocol: int
    dst: Endpoint
    inbound: bool
    child_uniqueid: int = 0


@dataclass(frozen=True)
class QueryInboundUse(Effect):
    """When did inbound traffic last use these SAs? (charon's ``get_use_time`` before a DPD: ESP
    from the peer proves it alive as well as IKE does.) The shell asks its IPsec backend and
    answers with ``IkeSaManager.inbound_use``; the engine decides about the DPD then."""

    ike_uniqueid: int
    spis: tuple[int, ...]  # inbound SPIs of the IKE_SA's CHILD_SAs
    dst: IpAddress  # our address (the SAs' destination)


@dataclass(frozen=True)
class Fetch(Effect):
    """Fetch revocation data (an OCSP response, a CRL) for IKE_SAs that wait for it
    (:mod:`vicid.ike.fetch`): POST ``data`` as ``content_type`` to ``uri`` (GET if empty) off
    the engine loop, at most ``timeout`` seconds, then answer with
    ``IkeSaManager.fetch_complete(fetch_id, body or None, now)``."""

    fetch_id: int
    uri: str
    data: bytes
    content_type: str
    timeout: float


@dataclass(frozen=True)
class InstallPolicy(Effect):
    """An IPsec policy for one direction of a CHILD_SA (or a trap/shunt)."""

    reqid: int
    direction: Direction
    local_ts: object  # vicid.ike.ts.TrafficSelector
    remote_ts: object
    mode: str
    src: IpAddress  # tunnel endpoints (for the template)
    dst: IpAddress
    spi: int = 0
    protocol: int = 3  # ESP
    priority: int = 0
    kind: str = "ipsec"  # "ipsec", "trap", "pass", "drop"


@dataclass(frozen=True)
class DeletePolicy(Effect):
    reqid: int
    direction: Direction
    local_ts: object
    remote_ts: object
    kind: str = "ipsec"


@dataclass(frozen=True)
class InstallVirtualIp(Effect):
    """Add a virtual IP we were assigned (charon ``kernel->add_ip``): on the backend's own
    device (kernel-libipsec's TUN) or on the interface holding ``near``, our IKE address.
    Backends count references: a reauthentication installs it again before the old IKE_SA
    removes it."""

    address: IpAddress
    near: IpAddress


@dataclass(frozen=True)
class DeleteVirtualIp(Effect):
    """Remove one reference to a virtual IP (charon ``kernel->del_ip``)."""

    address: IpAddress


# --- SA snapshots for events and list-sas ------------------------------------------------------


@fast_init  # one snapshot per event: the dataclass __init__ of a frozen class is ~2x slower
@dataclass(frozen=True, slots=True)
class ChildSaView:
    """A CHILD_SA as vici's list_child() renders it (vici-protocol.md §7.2)."""

    name: str
    uniqueid: int
    reqid: int
    state: str  # CREATED ROUTED INSTALLING INSTALLED UPDATING REKEYING REKEYED ... DESTROYING
    mode: str  # TUNNEL / TRANSPORT ...
    protocol: str = "ESP"
    encap: bool = False
    spi_in: int = 0
    spi_out: int = 0
    encr_alg: str | None = None  # charon's names (AES_GCM_16 ...)
    encr_keysize: int = 0
    integ_alg: str | None = None
    integ_keysize: int = 0
    ke_methods: tuple[str, ...] = ()  # dh-group, ake1 ... (names), only with PFS
    esn: bool = False
    bytes_in: int = 0
    packets_in: int = 0
    use_in: int | None = None
    bytes_out: int = 0
    packets_out: int = 0
    use_out: int | None = None
    rekey_time: int | None = None  # seconds from now
    life_time: int | None = None
    install_time: int = 0  # seconds since installed
    local_ts: tuple[str, ...] = ()  # rendered %R
    remote_ts: tuple[str, ...] = ()


@fast_init  # one snapshot per event: the dataclass __init__ of a frozen class is ~2x slower
@dataclass(frozen=True, slots=True)
class IkeSaView:
    """An IKE_SA as vici's list_ike() renders it (vici-protocol.md §7.1)."""

    name: str  # peer config name
    uniqueid: int
    state: str  # CREATED CONNECTING ESTABLISHED PASSIVE REKEYING REKEYED DELETING DESTROYING
    local_host: str
    local_port: int
    local_id: str
    remote_host: str
    remote_port: int
    remote_id: str
    initiator: bool
    initiator_spi: int
    responder_spi: int
    version: int = 2
    remote_eap_id: str | None = None
    nat_local: bool = False
    nat_remote: bool = False
    nat_fake: bool = False
    nat_any: bool = False
    encr_alg: str | None = None
    encr_keysize: int = 0
    integ_alg: str | None = None
    integ_keysize: int = 0
    prf_alg: str | None = None
    ke_methods: tuple[str, ...] = ()  # dh-group then ake1..ake7 names
    established: int | None = None  # seconds since established
    rekey_time: int | None = None
    reauth_time: int | None = None
    local_vips: tuple[str, ...] = ()
    remote_vips: tuple[str, ...] = ()
    tasks_queued: tuple[str, ...] = ()
    tasks_active: tuple[str, ...] = ()
    tasks_passive: tuple[str, ...] = ()
    children: tuple[ChildSaView, ...] = ()


# --- events -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Event(Effect):
    """Base of bus events the vici layer maps one-to-one onto vici events."""


@dataclass(frozen=True)
class IkeUpDown(Event):
    ike: IkeSaView
    up: bool


@dataclass(frozen=True)
class ChildUpDown(Event):
    ike: IkeSaView
    child: ChildSaView
    up: bool


@dataclass(frozen=True)
class IkeRekey(Event):
    old: IkeSaView
    new: IkeSaView


@dataclass(frozen=True)
class ChildRekey(Event):
    ike: IkeSaView
    old: ChildSaView
    new: ChildSaView


@dataclass(frozen=True)
class IkeStateChange(Event):
    ike: IkeSaView
    state: str


@dataclass(frozen=True)
class ChildStateChange(Event):
    ike: IkeSaView
    child: ChildSaView
    state: str


@dataclass(frozen=True)
class Alert(Event):
    type: str  # vici alert names: peer-auth-failed, proposal-mismatch-ike, ...
    ike: IkeSaView | None = None


@dataclass(frozen=True)
class Log(Event):
    """A log line tied to an IKE_SA, for `control-log` of the initiate/terminate that caused it."""

    group: str  # IKE, CHD, CFG, ENC, NET, MGR ...
    level: int
    msg: str
    ike_name: str = ""
    ike_uniqueid: int = 0


@dataclass(frozen=True)
class Completed(Event):
    """A vici request tied to a command (initiate/terminate) finished; ``ok`` tells how."""

    request_id: int
    ok: bool
    errmsg: str | None = None
    extra: dict = field(default_factory=dict)


@dataclass(frozen=True)
class IkeUpdate(Event):
    """The IKE_SA's endpoints changed (NAT mapping, MOBIKE); vici ``ike-update``."""

    ike: IkeSaView
    local: Endpoint
    remote: Endpoint
