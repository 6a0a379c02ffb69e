"""Connection configuration as charon holds it after ``load-conn`` (``peer_cfg_t``/``ike_cfg_t``,
``auth_cfg_t``, ``child_cfg_t``), frozen and with charon's defaults and names.

Equality follows charon, because reload semantics depend on it: ``PeerConfig ==`` is
``peer_cfg->equals && ike_cfg->equals`` (children, name, dpd_timeout and dscp are not compared),
``AuthConfig ==`` is ``auth_cfg->equals`` and ``ChildConfig ==`` is ``child_cfg->equals`` (the
child's name is not compared).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum, IntEnum, IntFlag
from typing import Any

from vicid.ike.proposal import Proposal

U32 = 0xFFFFFFFF


class IkeVersion(IntEnum):
    IKE_ANY = 0
    IKEV1 = 1
    IKEV2 = 2


IKE_VERSION_NAMES = {0: "IKEv1/2", 1: "IKEv1", 2: "IKEv2"}


def enum_text(names: dict[int, str], value: int) -> str:
    """charon's ``%N``: the name, or ``(<value>)`` for values without one."""
    return names.get(value, f"({value})")


class Action(IntFlag):
    """``action_t``, a flag set; rendered by ``action_text``."""

    NONE = 0
    TRAP = 1
    START = 2


def action_text(action: int) -> str:
    """``%N`` of the ``action_names`` flag enum: ``none``, ``trap``, ``start``, ``trap | start``."""
    names = [n for flag, n in ((Action.TRAP, "trap"), (Action.START, "start")) if action & flag]
    return " | ".join(names) or "none"


class IpsecMode(IntEnum):
    TRANSPORT = 1
    TUNNEL = 2
    BEET = 3
    PASS = 4
    DROP = 5
    IPTFS = 6


class UniquePolicy(IntEnum):
    UNIQUE_NEVER = 0
    UNIQUE_NO = 1
    UNIQUE_REPLACE = 2
    UNIQUE_KEEP = 3


class Fragmentation(IntEnum):
    NO = 0
    ACCEPT = 1
    YES = 2
    FORCE = 3


class Childless(IntEnum):
    ALLOW = 0
    PREFER = 1
    NEVER = 2
    FORCE = 3


class CertPolicy(IntEnum):
    ALWAYS_SEND = 0
    SEND_IF_ASKED = 1
    NEVER_SEND = 2


class OcspPolicy(IntEnum):
    SEND_REPLY = 0
    SEND_REQUEST = 1
    SEND_BOTH = 2
    SEND_NEVER = 3


class HwOffload(IntEnum):
    NO = 0
    CRYPTO = 1
    PACKET = 2
    AUTO = 3


class DscpCopy(IntEnum):
    OUT_ONLY = 0
    IN_ONLY = 1
    YES = 2
    NO = 3


class SecLabelMode(IntEnum):
    SYSTEM = 0
    SIMPLE = 1
    SELINUX = 2


class AuthClass(IntEnum):
    ANY = 0
    PUBKEY = 1
    PSK = 2
    EAP = 3
    XAUTH = 4


AUTH_CLASS_NAMES = {0: "any", 1: "public key", 2: "pre-shared key", 3: "EAP", 4: "XAuth"}


class CertValidation(IntEnum):
    GOOD = 0
    SKIPPED = 1
    STALE = 2
    FAILED = 3


class AuthRule(Enum):
    """The ``auth_rule_t`` values vici sets; ``multi`` marks rules that may repeat."""

    __hash__ = object.__hash__  # members are singletons: Enum's name hash costs a Python call per set lookup

    IDENTITY = ("id", False)
    AUTH_CLASS = ("class", False)
    AAA_IDENTITY = ("aaa_id", False)
    EAP_IDENTITY = ("eap_id", False)
    EAP_TYPE = ("eap-type", False)
    EAP_VENDOR = ("eap-vendor", False)
    XAUTH_BACKEND = ("xauth", False)
    XAUTH_IDENTITY = ("xauth_id", False)
    CA_IDENTITY = ("ca_id", True)
    CA_CERT = ("cacert", True)
    SUBJECT_CERT = ("cert", True)
    CRL_VALIDATION = ("revocation", True)
    GROUP = ("group", True)
    SIGNATURE_SCHEME = ("signature_scheme", True)
    IKE_SIGNATURE_SCHEME = ("ike_signature_scheme", True)
    CERT_POLICY = ("cert_policy", True)

    def __init__(self, key: str, multi: bool) -> None:
        self.multi = multi  # a plain attribute: read for every rule of every lookup


Rule = tuple[AuthRule, Any]


@dataclass(frozen=True, eq=False)
class AuthConfig:
    """One authentication round (``auth_cfg_t``).

    ``rules`` keeps charon's entry order: single-valued rules are inserted at the front (so the
    latest wins and they list in reverse order of configuration), multi-valued ones appended.
    """

    rules: tuple[Rule, ...] = ()
    round: int = 0
    pubkeys: tuple[bytes, ...] = field(default=(), repr=False)

    def add(self, rule: AuthRule, value: Any) -> AuthConfig:
        rules = (*self.rules, (rule, value)) if rule.multi else ((rule, value), *self.rules)
        return AuthConfig(rules, self.round, self.pubkeys)

    def get(self, rule: AuthRule) -> Any:
        """``get``: the first value of a rule, or None."""
        for r, v in self.rules:
            if r == rule:
                return v
        return None

    def enumerate(self) -> list[Rule]:
        """``create_enumerator``: entries in order, later duplicates of single rules skipped."""
        seen: set[AuthRule] = set()
        out = []
        for rule, value in self.rules:
            if not rule.multi and rule in seen:
                continue
            seen.add(rule)
            out.append((rule, value))
        return out

    def values(self, rule: AuthRule) -> list[Any]:
        return [v for r, v in self.enumerate() if r == rule]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AuthConfig):
            return NotImplemented
        return _contained(self.rules, other.rules) and _contained(other.rules, self.rules)

    __hash__ = None  # type: ignore[assignment]


def _contained(mine: tuple[Rule, ...], theirs: tuple[Rule, ...]) -> bool:
    """``auth_cfg_equals`` one way: each entry has an equal one (single rules: the first)."""
    for rule, value in mine:
        for orule, ovalue in theirs:
            if orule == rule and ovalue == value:
                break
            if orule == rule and not rule.multi:
                return False
        else:
            return False
    return True


@dataclass(frozen=True)
class Lifetime:
    """One ``lifetime_cfg_t`` dimension: soft limit, hard limit, jitter (0 = disabled)."""

    rekey: int
    life: int
    jitter: int


@dataclass(frozen=True)
class ChildConfig:
    name: str = field(compare=False)
    mode: IpsecMode = IpsecMode.TUNNEL
    proxy_mode: bool = False
    proposals: tuple[Proposal, ...] = ()
    local_ts: tuple[Any, ...] = ()  # vicid.ike.ts traffic selectors, as configured
    remote_ts: tuple[Any, ...] = ()
    lifetime_time: Lifetime = Lifetime(3600, 3960, 360)
    lifetime_bytes: Lifetime = Lifetime(0, 0, 0)
    lifetime_packets: Lifetime = Lifetime(0, 0, 0)
    updown: str | None = None
    hostaccess: bool = False
    policies: bool = True
    policies_fwd_out: bool = False
    replay_window: int | None = None  # None: charon.replay_window
    dpd_action: Action = Action.NONE
    start_action: Action = Action.NONE
    close_action: Action = Action.NONE
    ipcomp: bool = False
    inactivity: int = 0
    reqid: int = 0
    priority: int = 0
    interface: str | None = None
    mark_in: tuple[int, int] = (0, 0)
    mark_in_sa: bool = False
    mark_out: tuple[int, int] = (0, 0)
    set_mark_in: tuple[int, int] = (0, 0)
    set_mark_out: tuple[int, int] = (0, 0)
    tfc: int = 0  # 0xffffffff = "mtu"
    hw_offload: HwOffload = HwOffload.NO
    sha256_96: bool = False
    copy_df: bool = True
    copy_ecn: bool = True
    copy_dscp: DscpCopy = DscpCopy.OUT_ONLY
    icmp: bool = False
    if_id_in: int = 0
    if_id_out: int = 0
    label: bytes | None = None  # encoding incl. the NUL terminator
    label_mode: SecLabelMode = SecLabelMode.SIMPLE
    per_cpu_sas: bool = False
    per_cpu_sas_encap: bool = False


@dataclass(frozen=True)
class PeerConfig:
    name: str = field(compare=False)
    # ike_cfg_t
    version: int = IkeVersion.IKEV2
    local_addrs: str = "%any"  # list items joined with ", " as charon keeps them
    remote_addrs: str = "%any"
    local_port: int = 500  # uint16 in charon
    remote_port: int = 500
    proposals: tuple[Proposal, ...] = ()
    send_certreq: bool = True
    encap: bool = False
    fragmentation: Fragmentation = Fragmentation.YES
    childless: Childless = Childless.ALLOW
    dscp: int = field(default=0, compare=False)  # not part of ike_cfg->equals
    # peer_cfg_t
    aggressive: bool = False
    pull: bool = True
    mobike: bool = True
    ppk_required: bool = False
    send_cert: CertPolicy = CertPolicy.SEND_IF_ASKED
    ocsp: OcspPolicy = OcspPolicy.SEND_REPLY
    unique: UniquePolicy = UniquePolicy.UNIQUE_NO
    keyingtries: int = 1
    rekey_time: int = 14400
    reauth_time: int = 0
    over_time: int = 1440
    rand_time: int = 1440  # jitter_time
    dpd_delay: int = 0
    dpd_timeout: int = field(default=0, compare=False)
    if_id_in: int = 0
    if_id_out: int = 0
    ppk_id: Any = None  # vicid.identity.Identification
    vips: tuple[Any, ...] = ()  # ipaddress objects, 0.0.0.0/:: = any
    pools: tuple[str, ...] = ()
    local_auth: tuple[AuthConfig, ...] = ()
    remote_auth: tuple[AuthConfig, ...] = ()
    children: tuple[ChildConfig, ...] = field(default=(), compare=False)

    def child(self, name: str) -> ChildConfig | None:
        return next((c for c in self.children if c.name == name), None)
