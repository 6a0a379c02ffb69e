"""Query commands, as charon's vici_query.c answers them.

version, stats, list-sas, list-policies, get-algorithms, get-counters, reset-counters, and the
broadcast event names the IKE engine will raise (ike-updown, child-updown, ...).
"""

from __future__ import annotations

import os
import time
from typing import Any

from vicid import STRONGSWAN_VERSION
from vicid.vici.dispatcher import Body, Deferred, Dispatcher, Request

BROADCAST_EVENTS = ("ike-updown", "ike-rekey", "ike-update", "child-updown", "child-rekey", "alert")
STREAM_EVENTS = ("list-sa", "list-policy")
PRIORITIES = ("critical", "high", "medium", "low")

# Algorithms vicid's IKE/ESP code implements on `cryptography` (OpenSSL), by get-algorithms section.
CRYPTO_ALGORITHMS = {
    "encryption": ("AES_CBC", "AES_CTR", "3DES_CBC"),
    "integrity": ("HMAC_SHA1_96", "HMAC_SHA2_256_128", "HMAC_SHA2_384_192", "HMAC_SHA2_512_256",
                  "AES_XCBC_96", "AES_CMAC_96"),
    "aead": ("AES_GCM_8", "AES_GCM_12", "AES_GCM_16", "AES_CCM_8", "AES_CCM_12", "AES_CCM_16",
             "CHACHA20_POLY1305"),
    "hasher": ("HASH_SHA1", "HASH_SHA2_224", "HASH_SHA2_256", "HASH_SHA2_384", "HASH_SHA2_512"),
    "prf": ("PRF_HMAC_SHA1", "PRF_HMAC_SHA2_256", "PRF_HMAC_SHA2_384", "PRF_HMAC_SHA2_512",
            "PRF_AES128_XCBC", "PRF_AES128_CMAC"),
    "xof": (),
    "kdf": ("KDF_PRF", "KDF_PRF_PLUS"),
    "drbg": (),
}
COUNTER_NAMES = (
    "ike-rekey-init", "ike-rekey-resp", "child-rekey", "invalid", "invalid-spi", "ike-init-in-req",
    "ike-init-in-resp", "ike-init-out-req", "ike-init-out-resp", "ike-auth-in-req",
    "ike-auth-in-resp", "ike-auth-out-req", "ike-auth-out-resp", "create-child-in-req",
    "create-child-in-resp", "create-child-out-req", "create-child-out-resp", "info-in-req",
    "info-in-resp", "info-out-req", "info-out-resp",
)


def version(state: Any, req: Request) -> Body:
    body: Body = {"daemon": "vicid", "version": STRONGSWAN_VERSION}
    try:
        uts = os.uname()
        body.update(sysname=uts.sysname, release=uts.release, machine=uts.machine)
    except OSError:
        pass
    return body


def time_delta(seconds: float) -> str:
    """charon's time-delta rendering: seconds up to 2 min, then minutes, hours, days."""
    seconds = int(seconds)
    for unit, size, limit in (("day", 86400, 2 * 3600 * 24), ("hour", 3600, 2 * 3600),
                              ("minute", 60, 2 * 60)):
        if seconds > limit:
            value = seconds // size
            return f"{value} {unit}{'' if value == 1 else 's'}"
    return f"{seconds} second{'' if seconds == 1 else 's'}"


def stats(state: Any, req: Request) -> Body:
    now = time.time()
    ikesas = state.engine.counts() if getattr(state, "engine", None) is not None else (0, 0)
    return {
        "uptime": {
            "running": time_delta(now - state.started),
            "since": time.strftime("%b %d %H:%M:%S %Y", time.localtime(state.started)),
        },
        # vicid runs one engine task instead of a worker pool: one worker, never queued jobs
        "workers": {"total": 1, "idle": 1, "active": dict.fromkeys(PRIORITIES, 0)},
        "queues": dict.fromkeys(PRIORITIES, 0),
        "scheduled": 0,
        "ikesas": {"total": ikesas[0], "half-open": ikesas[1]},
        "plugins": list(getattr(state, "plugins", [])),
        "mallinfo": _mallinfo(),
    }


def _mallinfo() -> Body:
    """Process memory in charon's mallinfo keys (from /proc, since Python has its own allocator)."""
    try:
        with open("/proc/self/statm") as handle:
            size, resident = (int(v) for v in handle.read().split()[:2])
    except OSError:
        return {}
    page = os.sysconf("SC_PAGE_SIZE")
    return {"sbrk": size * page, "mmap": 0, "used": resident * page, "free": 0}


def list_sas(state: Any, req: Request) -> Body | Deferred:
    engine = getattr(state, "engine", None)
    if engine is not None:
        return engine.list_sas(req)  # waits for the kernel's SA counters
    return {}


def list_policies(state: Any, req: Request) -> Body:
    """A ``list-policy`` event per trap (``trap`` given), filtered by ``ike``/``child``, then an
    empty reply (vici_query.c ``list_policies``). vicid has no shunt (pass/drop) policies."""
    manager = getattr(getattr(state, "engine", None), "manager", None)
    if manager is None or req.str("trap") is None:
        return {}
    ike, child = req.str("ike"), req.str("child")
    for trap in manager.traps:
        if (ike and ike != trap.peer.name) or (child and child != trap.child.name):
            continue
        req.emit("list-policy", {f"{trap.peer.name}/{trap.child.name}": trap_policy(trap)})
    return {}


def trap_policy(trap: Any) -> Body:
    """One trap as charon's ``raise_policy`` renders it (the trap's CHILD_SA: name, reqid, mode
    with ``_PROXY`` for proxy transport mode, selectors)."""
    mode = trap.child.mode.name
    if mode == "TRANSPORT" and trap.child.proxy_mode:
        mode += "_PROXY"
    return {"child": trap.child.name, "reqid": str(trap.reqid), "ike": trap.peer.name, "mode": mode,
            "local-ts": [ts.render() for ts in trap.local_ts],
            "remote-ts": [ts.render() for ts in trap.remote_ts]}


def get_algorithms(state: Any, req: Request) -> Body:
    body: Body = {name: dict.fromkeys(algs, "openssl") for name, algs in CRYPTO_ALGORITHMS.items()}
    body["ke"] = state.ke.algorithms() if state.ke is not None else {}
    body["rng"] = {"RNG_WEAK": "random", "RNG_STRONG": "random", "RNG_TRUE": "random"}
    body["nonce-gen"] = {"NONCE_GEN": "nonce"}
    return body


def get_counters(state: Any, req: Request) -> Body:
    name = req.str("name")
    if name:
        return {"counters": {}, "success": "no", "errmsg": "no counters found for this connection"}
    values = {key: state.counters.get(key, 0) for key in COUNTER_NAMES}
    return {"counters": {"": values}, "success": "yes"}


def reset_counters(state: Any, req: Request) -> Body:
    for key in COUNTER_NAMES:
        state.counters.pop(key, None)
    return {"success": "yes"}


def register(dispatcher: Dispatcher) -> None:
    for name, handler in [
        ("version", version), ("stats", stats), ("list-sas", list_sas),
        ("list-policies", list_policies), ("get-algorithms", get_algorithms),
        ("get-counters", get_counters), ("reset-counters", reset_counters),
    ]:
        dispatcher.add_command(name, handler)
    for event in (*BROADCAST_EVENTS, *STREAM_EVENTS):
        dispatcher.add_event(event)
