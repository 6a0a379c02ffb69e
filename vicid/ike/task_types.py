"""What a task hook or an IKE_SA input returns (charon ``status_t``) and the kinds of task (``task_type_t``)."""

from __future__ import annotations

from enum import Enum, auto


class Status(Enum):
    SUCCESS = auto()
    NEED_MORE = auto()
    FAILED = auto()
    DESTROY_ME = auto()


class TaskKind(Enum):
    """charon's ``task_type_t`` names (listed in vici ``tasks-*``)."""

    IKE_INIT = auto()
    IKE_NATD = auto()
    IKE_MOBIKE = auto()
    IKE_AUTH = auto()
    IKE_AUTH_LIFETIME = auto()
    IKE_CERT_PRE = auto()
    IKE_CERT_POST = auto()
    IKE_CONFIG = auto()
    IKE_REKEY = auto()
    IKE_REAUTH = auto()
    IKE_REAUTH_COMPLETE = auto()
    IKE_REDIRECT = auto()
    IKE_VERIFY_PEER_CERT = auto()
    IKE_MID_SYNC = auto()
    IKE_DELETE = auto()
    IKE_DPD = auto()
    IKE_VENDOR = auto()
    IKE_ESTABLISH = auto()
    CHILD_CREATE = auto()
    CHILD_DELETE = auto()
    CHILD_REKEY = auto()
