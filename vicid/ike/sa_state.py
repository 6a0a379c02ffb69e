"""What an IKE_SA is in and what it has found (charon ``ike_sa.h``: state, extensions, conditions)."""

from __future__ import annotations

from enum import Enum, auto


class IkeState(Enum):
    CREATED = "CREATED"
    CONNECTING = "CONNECTING"
    ESTABLISHED = "ESTABLISHED"
    PASSIVE = "PASSIVE"
    REKEYING = "REKEYING"
    REKEYED = "REKEYED"
    DELETING = "DELETING"
    DESTROYING = "DESTROYING"


class Ext(Enum):
    """Extensions the peer supports (charon ``ike_extension_t``)."""

    __hash__ = object.__hash__  # members are singletons: Enum's name hash costs a Python call per set lookup

    NATT = auto()
    MOBIKE = auto()
    FRAGMENTATION = auto()
    SIGNATURE_AUTH = auto()
    MULTIPLE_AUTH = auto()
    EAP_ONLY_AUTHENTICATION = auto()
    INTERMEDIATE = auto()
    CHILDLESS = auto()
    REDIRECTION = auto()
    PPK = auto()
    MESSAGE_ID_SYNC = auto()
    STRONGSWAN = auto()


class Cond(Enum):
    """IKE_SA conditions (charon ``ike_condition_t``)."""

    __hash__ = object.__hash__  # members are singletons: Enum's name hash costs a Python call per set lookup

    NAT_HERE = auto()
    NAT_THERE = auto()
    NAT_FAKE = auto()
    AUTHENTICATED = auto()
    ORIGINAL_INITIATOR = auto()
    REDIRECTED = auto()
    REAUTHENTICATING = auto()
