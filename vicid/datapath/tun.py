"""The TUN device that carries plaintext packets between the kernel and the userspace datapath.

Opened like charon's kernel-libipsec does (``ipsec%d``, IFF_TUN | IFF_NO_PI, MTU 1400, up, no
address): the kernel routes protected traffic into it through routes in table 220, and
decrypted packets written to it re-enter the stack as if they had arrived on it. The file
descriptor is non-blocking and waited on with trio, so reads never hold a worker thread.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import struct

import trio

log = logging.getLogger("vicid.datapath")

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
DEFAULT_NAME = "ipsec%d"  # the kernel picks the first free number, as for charon's ipsec0
DEFAULT_MTU = 1400  # charon's TUN_DEFAULT_MTU
MAX_PACKET = 65535


class TunDevice:
    """An open TUN interface; ``receive``/``send`` move whole IP packets."""

    def __init__(self, fd: int, name: str) -> None:
        self.fd = fd
        self.name = name

    @classmethod
    def open(cls, name: str = DEFAULT_NAME, path: str = "/dev/net/tun") -> TunDevice:
        """Create the device in the caller's network namespace; raises OSError."""
        fd = os.open(path, os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
        try:
            ifr = struct.pack("16sH22x", name.encode(), IFF_TUN | IFF_NO_PI)
            ifr = fcntl.ioctl(fd, TUNSETIFF, ifr)
        except OSError:
            os.close(fd)
            raise
        real = ifr[:16].rstrip(b"\0").decode()
        log.info("created TUN device: %s", real)
        return cls(fd, real)

    async def receive(self) -> bytes:
        while True:
            try:
                return os.read(self.fd, MAX_PACKET)
            except BlockingIOError:
                await trio.lowlevel.wait_readable(self.fd)

    def receive_nowait(self) -> bytes | None:
        """A packet that is already queued, or None."""
        try:
            return os.read(self.fd, MAX_PACKET)
        except BlockingIOError:
            return None

    async def send(self, packet: bytes) -> None:
        while not self.send_nowait(packet):
            await trio.lowlevel.wait_writable(self.fd)

    def send_nowait(self, packet: bytes) -> bool:
        """Write one packet; False if the device would block. A packet the kernel refuses as
        malformed (EINVAL) is dropped."""
        try:
            os.write(self.fd, packet)
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
