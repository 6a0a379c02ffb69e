"""Acceptance (issue #9): road warriors with virtual IPs from pools, vicid and charon 6.1 both ways.

The gateway (moon, 192.0.2.2, protecting 198.51.100.0/24) authenticates with an ECDSA certificate
and assigns the client (carol) a virtual IP from a vici pool; carol authenticates with EAP-MD5 and
asks for ``vips = 0.0.0.0`` (or ``::``). Both sides must agree on the virtual IP and selectors, the
gateway's ``swanctl --list-pools --leases`` shows the lease, a ping from the virtual IP to the
gateway's inner address crosses the tunnel, and after terminate the lease goes offline and the
client's address is gone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from . import swanctl_raw
from .charon import Charon
from .test_certs_charon import ca, issue, keygen, write_node
from .test_eap_charon import SECRET, with_eap_plugins
from .test_ike_charon import established, vicid_sas
from .test_rekey_charon import wait_for
from .vicid import Vicid

pytestmark = pytest.mark.interop

CASES = {
    # family: (pool range, first address, vips, moon's inner net, moon's inner address)
    "ipv4": ("203.0.113.64/28", "203.0.113.65", "0.0.0.0", "198.51.100.0/24", "198.51.100.1"),
    "ipv6": ("2001:db8:1::/120", "2001:db8:1::1", "::", "2001:db8:2::/64", "2001:db8:2::1"),
}
DNS = {"ipv4": "198.51.100.53", "ipv6": "2001:db8:2::53"}


def gateway_conf(pool: str, dns: str, moon_net: str, remote: str = "192.0.2.3", secrets: str = SECRET) -> str:
    return f"""
connections {{
    rw {{
        version = 2
        local_addrs = 192.0.2.2
        remote_addrs = {remote}
        proposals = aes256gcm16-sha512-x25519
        pools = rw
        local {{ auth = pubkey
 certs = moon.pem
 id = moon.example.org }}
        remote {{ auth = eap-md5
 eap_id = %any }}
        children {{
            net {{
                local_ts = {moon_net}
                esp_proposals = aes256gcm16-x25519
            }}
        }}
    }}
}}
pools {{
    rw {{
        addrs = {pool}
        dns = {dns}
    }}
}}
secrets {{ {secrets} }}
"""


def client_conf(vips: str, moon_net: str, me: str = "192.0.2.3", user: str = "carol", secret: str = SECRET) -> str:
    return f"""
connections {{
    rw {{
        version = 2
        local_addrs = {me}
        remote_addrs = 192.0.2.2
        proposals = aes256gcm16-sha512-x25519
        vips = {vips}
        local {{ auth = eap-md5
 id = {user}@example.org }}
        remote {{ auth = pubkey
 id = moon.example.org }}
        children {{
            net {{
                remote_ts = {moon_net}
                esp_proposals = aes256gcm16-x25519
            }}
        }}
    }}
}}
secrets {{ {secret} }}
"""


def make_dirs(tmp_path, family: str):
    pool, _, vips, moon_net, _ = CASES[family]
    authority = ca("vicid interop CA", "p256")
    moon = issue("moon.example.org", keygen("ecdsa"), authority, san=["moon.example.org"])
    carol = issue("carol.example.org", keygen("ecdsa"), authority)
    moon_dir = write_node(tmp_path / "moon", "moon", moon, authority, gateway_conf(pool, DNS[family], moon_net))
    carol_dir = write_node(tmp_path / "carol", "carol", carol, authority, client_conf(vips, moon_net))
    (carol_dir / "x509" / "carol.pem").unlink()
    (carol_dir / "private" / "carol.pem").unlink()
    with_eap_plugins(moon_dir)
    with_eap_plugins(carol_dir)
    return moon_dir, carol_dir


def ping(rootfs_exec, node, src: str, dst: str, count: int = 5):
    return rootfs_exec(node, "ping", "-c", str(count), "-i", "0.2", "-W", "2", "-I", src, dst, timeout=30)


@dataclass
class RoadWarrior:
    """moon (gateway) and carol (client), one of them vicid, the other charon 6.1."""

    gateway: str
    family: str
    vicid: Vicid
    charon: Charon
    swanctl: Callable

    @property
    def vip(self) -> str:
        return CASES[self.family][1]

    def uri(self, side: str) -> str:
        return self.vicid.vici_uri if (side == "gateway") == (self.gateway == "vicid") else self.charon.vici_uri

    def ctl(self, side: str, *args: str, timeout: float = 30.0):
        return self.swanctl(self.uri(side), *args, timeout=timeout)

    def sas(self, side: str) -> dict:
        res = self.ctl(side, "--list-sas", "--pretty")
        assert res.returncode == 0, res.stdout + res.stderr
        return swanctl_raw.sas(res.stdout)

    def leases(self) -> str:
        res = self.ctl("gateway", "--list-pools", "--leases")
        assert res.returncode == 0, res.stdout + res.stderr
        return res.stdout

    def log(self, side: str) -> str:
        return (self.vicid if (side == "gateway") == (self.gateway == "vicid") else self.charon).log_text()


def start(gateway: str, family: str, tmp_path, netns_pair, charon_factory, vicid_factory, swanctl) -> RoadWarrior:
    moon_ns, carol_ns = netns_pair.moon, netns_pair.carol
    if family == "ipv6":
        moon_ns.ip("addr", "add", f"{CASES[family][4]}/128", "dev", "lo")
    moon_dir, carol_dir = make_dirs(tmp_path, family)
    if gateway == "charon":
        charon = charon_factory(moon_ns, moon_dir)
        vicid = vicid_factory(carol_ns)
        swanctl(vicid.vici_uri, "--load-all", "--noprompt", confdir=carol_dir, check=True)
    else:
        vicid = vicid_factory(moon_ns)
        swanctl(vicid.vici_uri, "--load-all", "--noprompt", confdir=moon_dir, check=True)
        charon = charon_factory(carol_ns, carol_dir)
    return RoadWarrior(gateway, family, vicid, charon, swanctl)


@pytest.mark.parametrize("family", list(CASES))
@pytest.mark.parametrize("gateway", ["charon", "vicid"])
def test_road_warrior_gets_virtual_ip(
    gateway, family, tmp_path, netns_pair, charon_factory, vicid_factory, rootfs_swanctl, rootfs_exec
):
    _, vip, _, moon_net, moon_inner = CASES[family]
    carol_ns = netns_pair.carol
    rw = start(gateway, family, tmp_path, netns_pair, charon_factory, vicid_factory, rootfs_swanctl)
    res = rw.ctl("client", "--initiate", "--child", "net", "--ike", "rw", timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr
    client, gw = established(rw.sas("client"), "rw"), established(rw.sas("gateway"), "rw")
    # both sides agree on the virtual IP and the narrowed selectors
    assert client.get("local-vips") == [vip] and "remote-vips" not in client, client
    assert gw.get("remote-vips") == [vip] and "local-vips" not in gw, gw
    (c_child,), (g_child,) = client["child-sas"].values(), gw["child-sas"].values()
    bits = 32 if family == "ipv4" else 128
    assert c_child["local-ts"] == [f"{vip}/{bits}"] == g_child["remote-ts"], (c_child, g_child)
    assert c_child["remote-ts"] == [moon_net] == g_child["local-ts"], (c_child, g_child)
    # the gateway lists the lease as charon does
    assert rw.leases() == expected_leases(family, "online"), gateway
    # traffic from the virtual IP crosses the tunnel
    out = ping(rootfs_exec, carol_ns, vip, moon_inner)
    assert " 0% packet loss" in out.stdout, out.stdout + out.stderr
    assert vip in carol_ns.ip("addr", "show").stdout
    (counted,) = established(vicid_sas(rootfs_swanctl, rw.vicid), "rw")["child-sas"].values()
    assert int(counted["packets-in"]) >= 5 and int(counted["packets-out"]) >= 5, counted
    # terminate from the client: the lease goes offline, the address goes away
    done = rw.ctl("client", "--terminate", "--ike", "rw")
    assert done.returncode == 0, done.stdout + done.stderr
    assert rw.leases() == expected_leases(family, "offline")
    assert vip not in carol_ns.ip("addr", "show").stdout
    # the same identity comes back and gets its (offline) lease again
    again = rw.ctl("client", "--initiate", "--child", "net", "--ike", "rw", timeout=60)
    assert again.returncode == 0, again.stdout + again.stderr
    assert rw.leases() == expected_leases(family, "online")
    assert "lab-eap-not-secret-42" not in rw.vicid.log_text()


@pytest.mark.parametrize("gateway", ["charon", "vicid"])
def test_reauthentication_keeps_the_virtual_ip(
    gateway, tmp_path, netns_pair, charon_factory, vicid_factory, rootfs_swanctl, rootfs_exec
):
    """Make-before-break reauthentication by the client: the new IKE_SA asks for the address it
    has, the gateway shares the online lease until the old IKE_SA goes, the address stays."""
    rw = start(gateway, "ipv4", tmp_path, netns_pair, charon_factory, vicid_factory, rootfs_swanctl)
    res = rw.ctl("client", "--initiate", "--child", "net", "--ike", "rw", timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr
    before = established(rw.sas("client"), "rw")["initiator-spi"]
    res = rw.ctl("client", "--rekey", "--ike", "rw", "--reauth")
    assert res.returncode == 0, res.stdout + res.stderr

    def reauthenticated():
        sas = rw.sas("client")
        ike = sas.get("rw", {})
        done = ike.get("initiator-spi") != before and ike.get("state") == "ESTABLISHED"
        return done and rw.leases() == expected_leases("ipv4", "online") and ike

    ike = wait_for(reauthenticated, "the reauthenticated IKE_SA with one online lease")
    assert ike.get("local-vips") == [rw.vip]
    assert established(rw.sas("gateway"), "rw").get("remote-vips") == [rw.vip]
    assert "reassigning online lease to 'carol@example.org'" in rw.log("gateway")
    out = ping(rootfs_exec, netns_pair.carol, rw.vip, CASES["ipv4"][4])
    assert " 0% packet loss" in out.stdout, out.stdout + out.stderr


def expected_leases(family: str, status: str) -> str:
    """swanctl's list-pools layout (``%-20s %-30s %16s`` and ``  %-30s %-8s '%s'``)."""
    vip = CASES[family][1]
    size = 14 if family == "ipv4" else 254
    counts = "1 / 0" if status == "online" else "0 / 1"
    return f"{'rw':<20} {vip:<30} {counts + ' / ' + str(size):>16}\n  {vip:<30} {status:<8} 'carol@example.org'\n"


DAVE_SECRET = 'eap-dave { id = dave@example.org\n secret = "lab-eap-not-secret-43" }'


@pytest.mark.parametrize("gateway", ["charon", "vicid"])
def test_exhausted_pool(gateway, tmp_path, netns_factory, charon_factory, vicid_factory, rootfs_swanctl):
    """A one-address pool taken by dave: carol's IKE_SA comes up, her CHILD_SA does not
    (INTERNAL_ADDRESS_FAILURE), as charon handles it on either side."""
    lab = netns_factory(("moon", "carol", "dave"))
    authority = ca("vicid interop CA", "p256")
    moon = issue("moon.example.org", keygen("ecdsa"), authority, san=["moon.example.org"])
    moon_dir = write_node(
        tmp_path / "moon",
        "moon",
        moon,
        authority,
        gateway_conf("203.0.113.65-203.0.113.65", DNS["ipv4"], "198.51.100.0/24", "%any", f"{SECRET}\n{DAVE_SECRET}"),
    )
    dirs = {}
    for user, addr, secret in (("carol", "192.0.2.3", SECRET), ("dave", "192.0.2.4", DAVE_SECRET)):
        dirs[user] = write_node(
            tmp_path / user, "carol", moon, authority, client_conf("0.0.0.0", "198.51.100.0/24", addr, user, secret)
        )
        (dirs[user] / "x509" / "carol.pem").unlink()
        (dirs[user] / "private" / "carol.pem").unlink()
        with_eap_plugins(dirs[user])
    with_eap_plugins(moon_dir)
    if gateway == "charon":
        gw = charon_factory(lab.moon, moon_dir)
        carol = vicid_factory(lab.carol)
        rootfs_swanctl(carol.vici_uri, "--load-all", "--noprompt", confdir=dirs["carol"], check=True)
    else:
        gw = vicid_factory(lab.moon)
        rootfs_swanctl(gw.vici_uri, "--load-all", "--noprompt", confdir=moon_dir, check=True)
        carol = charon_factory(lab.carol, dirs["carol"])
    dave = charon_factory(lab.dave, dirs["dave"])
    res = dave.swanctl("--initiate", "--child", "net", "--ike", "rw", timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr
    res = rootfs_swanctl(carol.vici_uri, "--initiate", "--child", "net", "--ike", "rw", timeout=60)
    assert res.returncode != 0 and "establishing CHILD_SA 'net' failed" in res.stderr, res.stdout + res.stderr
    assert "received INTERNAL_ADDRESS_FAILURE notify, no CHILD_SA built" in res.stdout
    sas = swanctl_raw.sas(rootfs_swanctl(carol.vici_uri, "--list-sas", "--pretty", check=True).stdout)
    assert sas["rw"]["state"] == "ESTABLISHED" and "local-vips" not in sas["rw"], sas
    assert not swanctl_raw.child_sas(sas["rw"]), sas
    leases = rootfs_swanctl(gw.vici_uri, "--list-pools", "--leases", check=True).stdout
    assert leases == (
        f"{'rw':<20} {'203.0.113.65':<30} {'1 / 0 / 1':>16}\n  {'203.0.113.65':<30} {'online':<8} 'dave@example.org'\n"
    ), leases
    for line in (
        "pool 'rw' is full, unable to assign address",
        "no virtual IP found for %any requested by 'carol@example.org'",
        "no virtual IP found, sending INTERNAL_ADDRESS_FAILURE",
        "configuration payload negotiation failed, no CHILD_SA built",
    ):
        assert line in gw.log_text(), line
