"""Vendor ID payloads in IKE_SA_INIT (``ike_vendor.c``).

We send strongSwan's vendor ID only when ``charon.send_vendor_id`` asks for it (and Cisco's
FlexVPN one with ``charon.cisco_flexvpn``); a peer's strongSwan vendor ID enables the
``EXT_STRONGSWAN`` extension, which unlocks private-use algorithms (IDs >= 1024) in proposal
selection. Other known vendor IDs are only logged, unknown ones at a higher level.
"""

from __future__ import annotations

from dataclasses import dataclass

from vicid.ike.messages import InMessage, OutMessage
from vicid.ike.sa_state import Ext
from vicid.ike.tasks.base import Status, Task, TaskKind
from vicid.ike.wire.enums import PayloadType
from vicid.ike.wire.payloads import VendorIdPayload


@dataclass(frozen=True)
class KnownVid:
    desc: str
    data: bytes
    extension: Ext | None = None
    setting: str | None = None  # EngineSettings attribute that makes us send it
    prefix: bool = False  # only the first len(data) bytes identify it (version bytes follow)


def _h(text: str) -> bytes:
    return bytes.fromhex(text)


KNOWN_VIDS: tuple[KnownVid, ...] = (
    KnownVid("strongSwan", _h("882fe56d6fd20dbc2251613b2ebe5beb"), Ext.STRONGSWAN, "send_vendor_id"),
    KnownVid("Cisco Delete Reason", b"CISCO-DELETE-REASON"),
    KnownVid("Cisco FlexVPN Supported", b"FLEXVPN-SUPPORTED", setting="cisco_flexvpn"),
    KnownVid("Cisco Copyright (c) 2009", b"CISCO(COPYRIGHT)&Copyright (c) 2009 Cisco Systems, Inc."),
    KnownVid("FRAGMENTATION", _h("4048b7d56ebce88525e7de7f00d6c2d3")),
    KnownVid("MS NT5 ISAKMPOAKLEY v7", _h("1e2b516905991c7d7c96fcbfb587e46100000007")),
    KnownVid("MS NT5 ISAKMPOAKLEY v8", _h("1e2b516905991c7d7c96fcbfb587e46100000008")),
    KnownVid("MS NT5 ISAKMPOAKLEY v9", _h("1e2b516905991c7d7c96fcbfb587e46100000009")),
    KnownVid("MS-Negotiation Discovery Capable", _h("fb1de3cdf341b7ea16b7e5be0855f120")),
    KnownVid("Vid-Initial-Contact", _h("26244d38eddb61b3172a36e3d0cfb819")),
    KnownVid("Cisco VPN Concentrator", _h("1f07f70eaa6514d3b0fa96542a50"), prefix=True),
    KnownVid("Cisco VPN 3000 client", _h("f6f7efc7f5aeb8cb158cb9d094ba69e7")),
    KnownVid("ZyXEL ZyWALL Router", _h("b858d1addd08c1e8adafea150608aa4497aa6cc8")),
    KnownVid("ZyXEL ZyWALL USG 100", _h("f758f22668750f03b08df6ebe1d0")),
    KnownVid("ZyXEL ZyWALL", _h("625027749d5ab97f5616c1602765cf480a3b7d0b")),
    KnownVid("Sonicwall 7", _h("5b362bc820f60007"), prefix=True),
    KnownVid("Sonicwall 8", _h("5b362bc820f60008"), prefix=True),
    KnownVid("Sonicwall a", _h("404bf439522ca3f6"), prefix=True),
    KnownVid("Sonicwall b", _h("da8e937880010000"), prefix=True),
    KnownVid("Sonicwall c", _h("5b362bc820f70001"), prefix=True),
    KnownVid("Fortigate", _h("1d6e178f6c2c0be284985465450fe9d4")),
    KnownVid("Checkpoint Firewall", _h("f4ed19e0c114eb516faaac0ee37daf2807b4381f"), prefix=True),
    KnownVid("NetScreen Technologies", _h("699369228741c6d4ca094c93e242c9de19e7b7c6"), prefix=True),
    KnownVid("Juniper SRX", _h("fd808804df73b15150709d878044cde0ac1efcde")),
)


def identify(data: bytes) -> KnownVid | None:
    for vid in KNOWN_VIDS:
        if data == vid.data or (vid.prefix and data[: len(vid.data)] == vid.data):
            return vid
    return None


class IkeVendor(Task):
    kind = TaskKind.IKE_VENDOR

    def build(self, msg: OutMessage) -> Status:
        settings = self.sa.ctx.settings
        for vid in KNOWN_VIDS:
            if vid.setting and getattr(settings, vid.setting, False):
                self.sa.log("IKE", 2, f"sending {vid.desc} vendor ID")
                msg.add(VendorIdPayload(vid.data))
        return Status.NEED_MORE if self.initiator else Status.SUCCESS

    def process(self, msg: InMessage) -> Status:
        for payload in msg.get_all(PayloadType.VENDOR_ID):
            vid = identify(payload.data)
            if vid is None:
                self.sa.log("ENC", 1, f"received unknown vendor ID: {payload.data.hex(':')}")
                continue
            self.sa.log("IKE", 1, f"received {vid.desc} vendor ID")
            if vid.extension is not None:
                self.sa.extensions.add(vid.extension)
        return Status.SUCCESS if self.initiator else Status.NEED_MORE
