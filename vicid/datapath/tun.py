"""The TUN device that carries plaintext packets between the kernel and the userspace datapath.

Opened like charon's kernel-libipsec does (``ipsec%d``, IFF_TUN | IFF_NO_PI, MTU 1400, up, no
address): the kernel routes protected traffic into it through routes in table 220, and
decrypted packets written to it re-enter the stack as if they had arrived on it. The file
descriptor is non-blocking and waited on with trio, so reads never hold a worker thread.

Unlike charon's, the device is opened with IFF_VNET_HDR (see :mod:`vicid.datapath.offload`):
a burst of received TCP segments goes back in one write, merged like GRO would, which saves a
system call and a trip through the kernel's TCP stack per packet, the largest cost of the
userspace datapath. Reads stay one packet each (no offload is enabled, their header is empty).
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import struct

import trio

from vicid.datapath.offload import NEEDS_CSUM, PLAIN, VNET_HDR_LEN, coalesce

log = logging.getLogger("vicid.datapath")

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
IFF_VNET_HDR = 0x4000
DEFAULT_NAME = "ipsec%d"  # the kernel picks the first free number, as for charon's ipsec0
DEFAULT_MTU = 1400  # charon's TUN_DEFAULT_MTU
MAX_PACKET = 65535


class TunDevice:
    """An open TUN interface; ``receive``/``send`` move whole IP packets.

    With ``offload`` (IFF_VNET_HDR) every packet carries a virtio header on the device, and
    ``send_many_nowait`` merges the TCP segments of a burst."""

    def __init__(self, fd: int, name: str, offload: bool = False) -> None:
        self.fd = fd
        self.name = name
        self.offload = offload
        self.offload_errors = 0  # packets read with an offload request nobody asked for

    @classmethod
    def open(cls, name: str = DEFAULT_NAME, path: str = "/dev/net/tun", offload: bool = True) -> TunDevice:
        """Create the device in the caller's network namespace; raises OSError."""
        fd = os.open(path, os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
        try:
            flags = IFF_TUN | IFF_NO_PI | (IFF_VNET_HDR if offload else 0)
            ifr = fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH22x", name.encode(), flags))
        except OSError:
            os.close(fd)
            raise
        real = ifr[:16].rstrip(b"\0").decode()
        log.info("created TUN device: %s", real)
        return cls(fd, real, offload)

    async def receive(self) -> bytes:
        while True:
            packet = self.receive_nowait()
            if packet is not None:
                return packet
            await trio.lowlevel.wait_readable(self.fd)

    def receive_nowait(self) -> bytes | None:
        """A packet that is already queued, or None."""
        if not self.offload:
            try:
                return os.read(self.fd, MAX_PACKET)
            except BlockingIOError:
                return None
        while True:
            try:
                data = os.read(self.fd, MAX_PACKET + VNET_HDR_LEN)
            except BlockingIOError:
                return None
            # no offload is enabled, so the kernel hands over finished packets (flags may say
            # DATA_VALID); anything else would be incomplete: dropped
            if len(data) > VNET_HDR_LEN and not data[0] & NEEDS_CSUM and not data[1]:
                return data[VNET_HDR_LEN:]
            self.offload_errors += 1

    async def send(self, packet: bytes) -> None:
        while not self.send_nowait(packet):
            await trio.lowlevel.wait_writable(self.fd)

    def send_nowait(self, packet: bytes) -> bool:
        """Write one packet; False if the device would block. A packet the kernel refuses as
        malformed (EINVAL) is dropped."""
        return self._write(PLAIN + packet if self.offload else packet)

    def send_many_nowait(self, packets: list[bytes]) -> int:
        """Write a burst, merging TCP segments where the device takes offloads; returns how many
        writes would have blocked (their packets are dropped: a TUN write blocks only when the
        host is out of memory)."""
        writes = coalesce(packets) if self.offload else packets
        return sum(not self._write(w) for w in writes)

    def _write(self, data: bytes) -> bool:
        try:
            os.write(self.fd, data)
        except BlockingIOError:
            return False
        except OSError as exc:
            if exc.errno != errno.EINVAL:
                raise
        return True

    def close(self) -> None:
        if self.fd >= 0:
            try:
                trio.lowlevel.notify_closing(self.fd)  # wake a task blocked in receive()
            except RuntimeError:
                pass  # not inside trio: nobody can be waiting
            os.close(self.fd)
            self.fd = -1


async def setup_device(routes, tun: TunDevice, mtu: int = DEFAULT_MTU) -> int:
    """Bring TUN up with MTU and no address; returns its interface index."""
    return await routes.link_up(tun.name, mtu)
