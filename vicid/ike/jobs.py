"""Scheduled jobs, as charon's ``processing/jobs``: small records the manager runs at their time.

Jobs name their SA by unique ID or SPI and look it up when they run, so a job scheduled for an
SA that was rekeyed, moved or destroyed in the meantime finds the right one or nothing
(charon checks SAs out of its managers the same way). They live in the engine context's heap
(:meth:`~vicid.ike.context.EngineContext.schedule`) and the manager includes them in
``next_deadline()``.
"""

from __future__ import annotations

from dataclasses import dataclass

from vicid.ike.config import ChildConfig, PeerConfig


@dataclass(frozen=True)
class RekeyChildJob:
    """``rekey_child_sa_job``: rekey the CHILD_SA with this inbound SPI, wherever it is now."""

    protocol: int
    spi: bytes


@dataclass(frozen=True)
class RekeyIkeJob:
    """``rekey_ike_sa_job``: rekey (or reauthenticate) an IKE_SA."""

    ike_uniqueid: int
    reauth: bool = False


@dataclass(frozen=True)
class DeleteChildJob:
    """``delete_child_sa_job`` by unique ID: a rekeyed CHILD_SA whose inbound SA lingered."""

    child_uniqueid: int


@dataclass(frozen=True)
class DeleteIkeJob:
    """``delete_ike_sa_job``: delete (or, if it never got that far, destroy) an IKE_SA."""

    ike_uniqueid: int


@dataclass(frozen=True)
class InitiateJob:
    """``initiate_tasks_job``: start the queued tasks of an IKE_SA."""

    ike_uniqueid: int


@dataclass(frozen=True)
class RetryChildJob:
    """A CHILD_SA the peer refused with TEMPORARY_FAILURE, tried again later."""

    ike_uniqueid: int
    config: ChildConfig


@dataclass(frozen=True)
class TrapJob:
    """Install a trap (dpd_action/close_action ``trap``) once the CHILD_SA it replaces is gone.
    The userspace datapath counts route users, so there the order does not matter; the XFRM
    port keys its policies by kind too, while the kernel knows one policy per selector."""

    peer: PeerConfig
    child: ChildConfig


@dataclass(frozen=True)
class AcquireJob:
    """An acquire for a trap: set up its CHILD_SA (``trap_manager.c`` acquire)."""

    reqid: int


Job = (RekeyChildJob | RekeyIkeJob | DeleteChildJob | DeleteIkeJob | InitiateJob | RetryChildJob | TrapJob
       | AcquireJob)
