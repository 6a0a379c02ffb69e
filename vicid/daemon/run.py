"""run_daemon(): the root nursery that owns settings, logging, the vici server and signals."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from dataclasses import dataclass

import trio

from vicid import log as vlog
from vicid import netdb
from vicid.config.pools import PoolStore
from vicid.config.store import ConnStore
from vicid.creds.store import CredStore
from vicid.daemon import gc_policy
from vicid.daemon.engine import EngineRunner
from vicid.ike.ke import KeRegistry
from vicid.settings import Settings, SettingsError
from vicid.state import DaemonState
from vicid.vici.commands import register_all
from vicid.vici.dispatcher import Dispatcher
from vicid.vici.server import ViciServer

log = logging.getLogger("vicid.daemon")

NS = "charon"  # vicid reads charon's settings so an existing strongswan.conf just works
DEFAULT_PIDDIR = "/var/run"


def default_socket(settings: Settings) -> str:
    piddir = settings.get(f"{NS}.piddir", DEFAULT_PIDDIR)
    return f"unix://{piddir}/charon.vici"


@dataclass
class DaemonOptions:
    conf: str
    foreground: bool = True
    pid_file: str | None = None
    tune_gc: bool = False  # the process is the daemon's own (not a test's): see gc_policy


class Daemon:
    """Holds what a running vicid owns; a test can start one with ``nursery.start(daemon.run)``."""

    def __init__(self, options: DaemonOptions) -> None:
        self.options = options
        self.settings = self._read_settings()
        self.state = DaemonState(settings=self.settings, started=time.time())
        self.state.reload_settings = self.reload_settings
        self.dispatcher = register_all(Dispatcher())
        self.server = ViciServer(self.dispatcher, self.state, on_client_error=self._count_client_error,
                                 on_registrations=self._registrations_changed)
        self._log_handlers: list[logging.Handler] = []
        self._trio_thread: int | None = None

    def _read_settings(self) -> Settings:
        if not os.path.exists(self.options.conf):
            return Settings(path=self.options.conf)  # like charon: a missing file means defaults
        return Settings.load(self.options.conf)

    def _count_client_error(self, reason: str) -> None:
        self.state.counters["vici-invalid"] += 1

    def setup_logging(self) -> None:
        handlers = vlog.configure(self.settings, NS, self.options.foreground)
        handlers.append(vlog.CallbackHandler(self._log_event, max_level=1,
                                             active=lambda: self.server.has_listeners("log")))
        vlog.install(handlers)
        self._log_handlers = handlers
        vlog.apply_levels(handlers)

    def _registrations_changed(self) -> None:
        """A vici client (un)registered for events: `log` listeners change what is logged."""
        vlog.apply_levels(self._log_handlers)

    def _log_event(self, group: str, level: int, msg: str, record: logging.LogRecord) -> None:
        # vici's `log` event: only from the trio thread, and only built when someone listens
        if threading.get_ident() != self._trio_thread or not self.server.has_listeners("log"):
            return
        body = {"group": group, "level": level, "thread": 0}
        ike = getattr(record, "ike", None)
        if ike:
            body.update({"ikesa-name": ike[0], "ikesa-uniqueid": ike[1]})
        body["msg"] = msg
        self.server.broadcast("log", body)

    def reload_settings(self) -> str | None:
        try:
            settings = Settings.load(self.options.conf)
        except SettingsError as exc:
            log.warning("reloading '%s' failed: %s", self.options.conf, exc)
            return f"reloading '{self.options.conf}' failed"
        self.settings = self.state.settings = settings
        self.setup_logging()
        log.info("reloaded settings from '%s'", self.options.conf)
        return None

    def load_plugins(self) -> None:
        self.state.ke = KeRegistry.from_entry_points(self.settings)
        self.state.conns = ConnStore()
        self.state.pools = PoolStore()
        self.state.creds = CredStore()
        self.state.netdb = netdb.system()
        self.state.plugins = ["vici", *self.state.ke.plugins]

    def vici_uris(self) -> list[str]:
        value = self.settings.get(f"{NS}.plugins.vici.socket") or default_socket(self.settings)
        return [uri.strip() for uri in value.split(",") if uri.strip()]

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        self._trio_thread = threading.get_ident()
        log.info("vicid starting (strongSwan-compatible vici, settings '%s')", self.options.conf)
        self.load_plugins()
        try:
            async with trio.open_nursery() as nursery:
                # signals first: a SIGHUP right after start-up must reload, not kill us
                await nursery.start(self._signals, nursery.cancel_scope)
                await nursery.start(self.server.serve, self.vici_uris(),
                                    self.settings.get(f"{NS}.user"), self.settings.get(f"{NS}.group"))
                await self._start_engine(nursery)
                if self.options.tune_gc:
                    gc_policy.apply()
                self._write_pid_file()  # the pid file appears once vicid answers
                task_status.started()
        finally:
            self.server.remove_socket_files()
            self._remove_pid_file()
            log.info("vicid stopped")

    async def _start_engine(self, nursery: trio.Nursery) -> None:
        """The IKE engine with its sockets; if it cannot start, vici keeps serving (logged)."""
        engine = EngineRunner(self.state, self.server.broadcast, self.server.has_listeners)
        try:
            await nursery.start(engine.run)
        except OSError as exc:
            log.error("IKE engine not started: %s (vici keeps running)", exc)
            return
        self.state.engine = engine

    async def _signals(self, scope: trio.CancelScope,
                       *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT, signal.SIGHUP) as signals:
            task_status.started()
            async for signum in signals:
                if signum == signal.SIGHUP:
                    log.info("SIGHUP received, reloading settings")
                    self.reload_settings()
                    continue
                log.info("%s received, shutting down", signal.Signals(signum).name)
                scope.cancel()
                return

    def _write_pid_file(self) -> None:
        if self.options.pid_file:
            with open(self.options.pid_file, "w") as handle:
                handle.write(f"{os.getpid()}\n")

    def _remove_pid_file(self) -> None:
        if self.options.pid_file:
            try:
                os.unlink(self.options.pid_file)
            except OSError:
                pass
