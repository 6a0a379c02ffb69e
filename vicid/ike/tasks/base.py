"""The task contract (charon ``task.h``) and the activation tables of ``task_manager_v2.c``.

A task takes part in one or more exchanges. As initiator the task manager calls
``build()`` for the request and ``process()`` for the response; as responder ``process()``
for the request and ``build()`` for the response. ``pre_process``, ``post_build`` and
``post_process`` are optional hooks. Every hook returns a :class:`Status`:

* ``SUCCESS`` - the task is complete and is removed;
* ``NEED_MORE`` - the task takes part in a later exchange (or just passes);
* ``FAILED`` - the IKE_SA failed (an ike_updown down event is raised);
* ``DESTROY_ME`` - the IKE_SA is to be destroyed (responders send their response first).

Responder tasks may raise an ``IkeProtocolError`` from ``build()``; the task manager turns it
into the error notify (design §1.4).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from vicid.ike.task_types import Status, TaskKind
from vicid.ike.wire.enums import ExchangeType

if TYPE_CHECKING:
    from vicid.ike.messages import InMessage, OutMessage
    from vicid.ike.sa import IkeSa


_SKIPPABLE = ("pre_process", "process", "post_process", "post_build")


class Task:
    """Base class: override the hooks a task uses; the defaults pass."""

    kind: ClassVar[TaskKind]
    # the hooks of _SKIPPABLE this class overrides: the task manager calls no default (each
    # exchange offers every hook to a dozen tasks, most of which have nothing to do)
    overrides: ClassVar[frozenset[str]] = frozenset()

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        cls.overrides = frozenset(h for h in _SKIPPABLE if getattr(cls, h) is not getattr(Task, h))

    def __init__(self, sa: IkeSa, initiator: bool) -> None:
        self.sa = sa
        self.initiator = initiator

    def build(self, msg: OutMessage) -> Status:
        return Status.NEED_MORE

    def process(self, msg: InMessage) -> Status:
        return Status.NEED_MORE

    def pre_process(self, msg: InMessage) -> Status:
        return Status.SUCCESS

    def post_build(self, msg: OutMessage) -> Status:
        return Status.NEED_MORE

    def post_process(self, msg: InMessage) -> Status:
        return Status.NEED_MORE

    def migrate(self) -> None:
        """Forget exchange state before IKE_SA_INIT is retried (COOKIE / INVALID_KE_PAYLOAD)."""

    def adopt(self, sa: IkeSa) -> None:
        """A queued task moves to another IKE_SA (``adopt_tasks`` after a rekeying)."""
        self.sa = sa

    def dispose(self) -> None:
        """The task is dropped (``destroy``): give back what it holds (reqids, new IKE_SAs)."""

    def __repr__(self) -> str:
        return f"<{self.kind.name} {'i' if self.initiator else 'r'}>"


K = TaskKind
E = ExchangeType

INIT_BUNDLE: tuple[TaskKind, ...] = (
    K.IKE_VENDOR, K.IKE_INIT, K.IKE_NATD, K.IKE_CERT_PRE, K.IKE_AUTH, K.IKE_CERT_POST,
    K.IKE_CONFIG, K.IKE_AUTH_LIFETIME, K.IKE_MOBIKE, K.IKE_ESTABLISH, K.CHILD_CREATE)
"""State CREATED: tasks activated together for IKE_SA_INIT (task_manager_v2.c initiate())."""

ESTABLISHED_ORDER: tuple[tuple[TaskKind, ExchangeType], ...] = (
    (K.IKE_MOBIKE, E.INFORMATIONAL), (K.IKE_DELETE, E.INFORMATIONAL),
    (K.IKE_REDIRECT, E.INFORMATIONAL), (K.CHILD_DELETE, E.INFORMATIONAL),
    (K.IKE_REAUTH, E.INFORMATIONAL), (K.CHILD_CREATE, E.CREATE_CHILD_SA),
    (K.CHILD_REKEY, E.CREATE_CHILD_SA), (K.IKE_REKEY, E.CREATE_CHILD_SA),
    (K.IKE_DPD, E.INFORMATIONAL), (K.IKE_AUTH_LIFETIME, E.INFORMATIONAL),
    (K.IKE_REAUTH_COMPLETE, E.INFORMATIONAL), (K.IKE_VERIFY_PEER_CERT, E.INFORMATIONAL))
"""State ESTABLISHED: the first queued task of this list starts the next exchange."""

REKEYING_ORDER: tuple[tuple[TaskKind, ExchangeType], ...] = ((K.IKE_DELETE, E.INFORMATIONAL),)
"""States REKEYING/REKEYED (and the fall-through from ESTABLISHED)."""

REINITIATE_EXCHANGE: dict[TaskKind, ExchangeType] = {
    K.IKE_INIT: E.IKE_SA_INIT, K.IKE_AUTH: E.IKE_AUTH, K.CHILD_CREATE: E.CREATE_CHILD_SA,
    K.CHILD_REKEY: E.CREATE_CHILD_SA, K.IKE_REKEY: E.CREATE_CHILD_SA,
    K.IKE_MOBIKE: E.INFORMATIONAL}
"""Active tasks that continue over several exchanges pick the next one (first match wins)."""
