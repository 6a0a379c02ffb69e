"""Acceptance (issue #9): no secret in vicid's logs or vici answers, with every log group at level 4.

charon 6.1 (carol) connects to vicid (moon) with a PSK, and as an EAP-MD5 road warrior to a
gateway authenticating with an ECDSA certificate and its private key. vicid logs to a second
filelog with ``default = 4`` (and every group at 4). charon logs at ``ike = 4``, which prints the
IKE_SA's derived keys (SKEYSEED, Sk_d, Sk_ai/ar, Sk_ei/er, Sk_pi/pr) -- the same keys vicid
derived. The test then searches vicid's logs, its stderr and swanctl's raw vici answers
(list-sas, list-conns, list-certs, get-keys, get-shared) for the PSK, the EAP secret, the
private key (PEM lines, DER, the private scalar) and each derived key, in raw, hex (either case)
and charon's spaced hex dump form, by any 8-octet window. None may appear.
"""

from __future__ import annotations

import re

import pytest
from cryptography.hazmat.primitives import serialization

from .test_certs_charon import ca, issue, keygen, write_node
from .test_eap_charon import with_eap_plugins
from .test_ike_charon import established, vicid_sas

pytestmark = pytest.mark.interop

PSK = "lab-psk-not-secret-7f3a9c"
EAP = "lab-eap-not-secret-5d2e81"
LEVEL4 = (
    "filelog { secrets { path = {path}\n default = 4\n "
    + "\n ".join(
        f"{g} = 4"
        for g in (
            "dmn",
            "mgr",
            "ike",
            "chd",
            "job",
            "cfg",
            "knl",
            "net",
            "asn",
            "enc",
            "lib",
            "esp",
            "tls",
            "app",
            "imc",
            "imv",
            "pts",
            "tnc",
        )
    )
    + "\n flush_line = yes } }\n"
)


def conf(local: str, remote: str, me: str, other: str, local_ts: str, remote_ts: str) -> str:
    return f"""
connections {{
    gw {{
        version = 2
        local_addrs = {me}
        remote_addrs = {other}
        proposals = aes256gcm16-sha512-x25519
        local {{ {local} }}
        remote {{ {remote} }}
        children {{ net {{ local_ts = {local_ts}
                          remote_ts = {remote_ts}
                          esp_proposals = aes256gcm16-x25519 }} }}
    }}
}}
secrets {{
    ike-lab {{ id-1 = moon.example.org
               id-2 = carol.example.org
               secret = "{PSK}" }}
    eap-carol {{ id = carol@example.org
                secret = "{EAP}" }}
}}
"""


SCENARIOS = {
    "psk": (
        "auth = psk\n id = moon.example.org",
        "auth = psk\n id = carol.example.org",
        "auth = psk\n id = carol.example.org",
        "auth = psk\n id = moon.example.org",
    ),
    "eap-md5": (
        "auth = pubkey\n certs = moon.pem\n id = moon.example.org",
        "auth = eap-md5\n eap_id = %any",
        "auth = eap-md5\n id = carol@example.org",
        "auth = pubkey\n id = moon.example.org",
    ),
}


def windows(secret: bytes, size: int = 8) -> list[bytes]:
    size = min(size, len(secret))
    return [secret[i : i + size] for i in range(len(secret) - size + 1)]


def forms(chunk: bytes) -> list[bytes]:
    """How a byte string could show up in text: raw, hex in both cases, hex dump with spaces."""
    hexed = chunk.hex()
    return [
        chunk,
        hexed.encode(),
        hexed.upper().encode(),
        " ".join(f"{b:02X}" for b in chunk).encode(),
        " ".join(f"{b:02x}" for b in chunk).encode(),
    ]


def charon_dumps(log: str, title: str) -> list[bytes]:
    out, lines = [], log.splitlines()
    for i, line in enumerate(lines):
        if title in line:
            data = bytearray()
            for follow in lines[i + 1 :]:
                m = re.search(r"\]\s(?:<[^>]*>\s)?\s*\d+: ((?:[0-9A-F]{2} ?){1,16})", follow)
                if not m:
                    break
                data += bytes.fromhex(m.group(1).replace(" ", ""))
            out.append(bytes(data))
    return out


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_no_secret_in_logs_or_vici_answers(
    scenario, tmp_path, netns_pair, charon_factory, vicid_factory, rootfs_swanctl
):
    moon_local, moon_remote, carol_local, carol_remote = SCENARIOS[scenario]
    authority = ca("vicid interop CA", "p256")
    moon = issue("moon.example.org", keygen("ecdsa"), authority, san=["moon.example.org"])
    carol = issue("carol.example.org", keygen("ecdsa"), authority)
    moon_dir = write_node(
        tmp_path / "moon",
        "moon",
        moon,
        authority,
        conf(moon_local, moon_remote, "192.0.2.2", "192.0.2.3", "198.51.100.0/24", "203.0.113.0/24"),
    )
    carol_dir = write_node(
        tmp_path / "carol",
        "carol",
        carol,
        authority,
        conf(carol_local, carol_remote, "192.0.2.3", "192.0.2.2", "203.0.113.0/24", "198.51.100.0/24"),
    )
    with_eap_plugins(carol_dir)
    text = (carol_dir / "strongswan.conf").read_text()
    (carol_dir / "strongswan.conf").write_text(re.sub(r"ike = \d", "ike = 4", text))
    secrets_log = tmp_path / "vicid-secrets.log"
    vicid = vicid_factory(netns_pair.moon, extra_conf=LEVEL4.replace("{path}", str(secrets_log)))
    rootfs_swanctl(vicid.vici_uri, "--load-all", "--noprompt", confdir=moon_dir, check=True)
    charon = charon_factory(netns_pair.carol, carol_dir)
    res = charon.swanctl("--initiate", "--child", "net", "--ike", "gw", timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr
    established(vicid_sas(rootfs_swanctl, vicid), "gw")

    answers = b""
    for cmd in (
        ["--list-sas", "--raw"],
        ["--list-conns", "--raw"],
        ["--list-certs", "--raw"],
        ["--list-pools", "--raw"],
        ["--stats", "--raw"],
    ):
        answers += rootfs_swanctl(vicid.vici_uri, *cmd, check=True).stdout.encode()
    # get-keys / get-shared have no swanctl command: ask with the vici package
    import vici

    session = vici.Session(_connect(vicid))
    answers += repr(session.get_keys()).encode() + repr(session.get_shared()).encode()

    log = secrets_log.read_bytes()
    assert b"[IKE]" in log and b"[ENC]" in log and b"[KNL]" in log  # the level-4 filelog was written
    haystacks = {
        "vicid level-4 log": log,
        "vicid lab log": vicid.log.read_bytes(),
        "vicid stderr": (vicid.run_dir / "stderr.log").read_bytes(),
        "vici answers": answers,
    }

    charon_log = charon.log_text()
    derived = {
        name: charon_dumps(charon_log, f"{name} =>")[0]
        for name in ("SKEYSEED", "Sk_d secret", "Sk_ei secret", "Sk_er secret", "Sk_pi secret", "Sk_pr secret")
    }
    assert all(len(v) >= 32 for v in derived.values()), derived.keys()
    # positive control: the search finds charon's own dump of Sk_d in charon's log
    assert any(n in charon_log.encode() for n in forms(derived["Sk_d secret"][8:16]))
    key = moon.key
    der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    pem_body = b"".join(moon.key_pem().splitlines()[1:-1])
    scalar = key.private_numbers().private_value.to_bytes(32, "big")
    # the PKCS#8 DER also holds the curve and the public point, which the certificate shows: the
    # whole DER, its PEM lines and the private scalar (by windows) are what must never appear
    secrets = {"PSK": PSK.encode(), "EAP secret": EAP.encode(), "private scalar": scalar, **derived}
    found = []
    for what, secret in secrets.items():
        needles = {form for chunk in windows(secret) for form in forms(chunk)}
        found += [f"{what} in {where}" for where, hay in haystacks.items() if any(n in hay for n in needles)]
    key_needles = {*forms(der), *(pem_body[i : i + 16] for i in range(0, len(pem_body) - 16, 16))}
    found += [f"private key in {where}" for where, hay in haystacks.items() if any(n in hay for n in key_needles)]
    assert found == []


def _connect(vicid):
    import socket

    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(str(vicid.vici_socket))
    return sock
