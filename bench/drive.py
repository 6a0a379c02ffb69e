"""The load driver: vici ``initiate`` in bulk with a window of initiations in flight.

Each ``initiate`` is sent with ``timeout = -1`` (the daemon answers at once and works in the
background, so neither daemon blocks a thread or task per request); completion is the
initiator's ``child-updown`` event (``up = yes``) for that connection, failure its
``ike-updown`` without ``up``. The window refills as SAs come up, so at most WINDOW initiations
are in flight. The same driver drives vicid and charon.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import trio

from bench.vici_client import ViciSession

Progress = Callable[[int, int], None]


@dataclass
class DriveResult:
    requested: int
    established: int = 0
    failed: int = 0
    seconds: float = 0.0  # first initiate sent .. last SA up
    latencies: list[float] = field(default_factory=list)  # seconds, initiate sent .. child-updown

    @property
    def rate(self) -> float:
        return self.established / self.seconds if self.seconds > 0 else 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return math.nan
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))]

    def summary(self) -> dict:
        return {"requested": self.requested, "established": self.established, "failed": self.failed,
                "seconds": round(self.seconds, 3), "rate": round(self.rate, 2),
                "latency_p50_ms": round(self.percentile(50) * 1000, 2) if self.latencies else None,
                "latency_p99_ms": round(self.percentile(99) * 1000, 2) if self.latencies else None,
                "latency_mean_ms": round(statistics.fmean(self.latencies) * 1000, 2) if self.latencies else None}


def _sa_name(body: dict) -> str | None:
    return next((k for k in body if k != "up"), None)


async def initiate_all(socket: str, names: Sequence[str], window: int, timeout: float,
                       progress: Progress | None = None) -> DriveResult:
    """Initiate child ``net`` of every connection in NAMES, WINDOW at a time; stop after TIMEOUT."""
    result = DriveResult(len(names))
    sent: dict[str, float] = {}
    finished: set[str] = set()
    slots = trio.Semaphore(window)
    first = last = 0.0
    events = await ViciSession.connect(socket)
    commands = await ViciSession.connect(socket)
    try:
        await events.register("child-updown")
        await events.register("ike-updown")
        all_done = trio.Event()

        def finish(name: str, ok: bool, when: float) -> None:
            nonlocal last
            finished.add(name)
            if ok:
                result.established += 1
                result.latencies.append(when - sent[name])
                last = when
            else:
                result.failed += 1
            slots.release()
            if progress is not None:
                progress(len(finished), len(names))
            if len(finished) == len(names):
                all_done.set()

        async def listen() -> None:
            async for event, body, when in events.events():
                name = _sa_name(body)
                if name is None or name not in sent or name in finished:
                    continue
                if event == "child-updown" and body.get("up") == b"yes":
                    finish(name, True, when)
                elif event == "ike-updown" and body.get("up") != b"yes":
                    finish(name, False, when)

        async def send() -> None:
            nonlocal first
            for name in names:
                await slots.acquire()
                now = time.perf_counter()
                first = first or now
                sent[name] = now
                answer = await commands.request("initiate", {"child": "net", "ike": name, "timeout": "-1"})
                if answer.get("success") != b"yes" and name not in finished:
                    finish(name, False, time.perf_counter())

        if not names:
            return result
        with trio.move_on_after(timeout):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(listen)
                nursery.start_soon(send)
                await all_done.wait()
                nursery.cancel_scope.cancel()
        result.seconds = (last - first) if result.established else 0.0
        return result
    finally:
        await events.aclose()
        await commands.aclose()


async def load_conns(socket: str, bodies: Sequence[dict], shared: dict | None = None,
                     progress: Progress | None = None) -> float:
    """load-conn each body (and load-shared SHARED); returns the seconds it took."""
    session = await ViciSession.connect(socket)
    try:
        start = time.perf_counter()
        if shared is not None:
            await session.checked("load-shared", shared)
        for i, body in enumerate(bodies):
            await session.checked("load-conn", body)
            if progress is not None and (i % 200 == 0 or i == len(bodies) - 1):
                progress(i + 1, len(bodies))
        return time.perf_counter() - start
    finally:
        await session.aclose()


async def ike_sa_count(socket: str) -> tuple[int, int]:
    """(total, half-open) IKE_SAs from vici ``stats``."""
    session = await ViciSession.connect(socket)
    try:
        stats = await session.request("stats")
        ikesas = stats.get("ikesas", {})
        return int(ikesas.get("total", b"0")), int(ikesas.get("half-open", b"0"))
    finally:
        await session.aclose()


async def list_sas(socket: str) -> tuple[int, float]:
    """vici ``list-sas`` over our own client: (list-sa events, seconds)."""
    session = await ViciSession.connect(socket)
    try:
        return await session.stream("list-sas", "list-sa", {"noblock": "yes"})
    finally:
        await session.aclose()
