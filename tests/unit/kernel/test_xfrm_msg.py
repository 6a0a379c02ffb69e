"""XFRM message layouts against linux/xfrm.h sizes, and decoding of kernel events."""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import replace

from vicid.ike.effects import Direction
from vicid.ike.wire.enums import EncrAlg as E
from vicid.ike.wire.enums import IntegAlg as I
from vicid.kernel import xfrm_msg as m
from vicid.kernel.port import KernelAcquire, KernelExpire
from vicid.kernel.selector import policy_selector
from vicid.kernel.xfrm import XfrmPort, policy_message, sa_message

from ..datapath.helpers import MOON, keys, policy, sa


def test_struct_sizes_match_the_kernel():
    sel = policy_selector(*(policy(Direction.OUT).local_ts, policy(Direction.OUT).remote_ts))
    assert len(m.encode_selector(sel)) == 56
    assert len(m.encode_userpolicy_info(sel, 1, m.POLICY_OUT, m.POLICY_ALLOW)) == 168
    assert len(m.encode_userpolicy_id(sel, m.POLICY_OUT)) == 64
    assert len(m.encode_replay_esn(128)) == 24 + 16
    assert m.decode_selector(m.encode_selector(sel)) == sel


def test_sa_message_layout():
    eff = sa(0xC0FFEE01, True, keys(E.AES_GCM_16, bits=256), replay_window=32, lifetime_soft=3000,
             lifetime_hard=3600)
    body = sa_message(eff)
    info = m.decode_usersa_info(body)
    assert (info.spi, info.proto, info.reqid, info.daddr, info.saddr) == (
        0xC0FFEE01, 50, 1, ipaddress.ip_address("192.0.2.3").packed, MOON.packed)
    lft = struct.unpack_from("=8Q", body, 96)
    assert lft[:4] == (m.XFRM_INF,) * 4 and lft[4:6] == (3000, 3600)
    mode, window, flags = body[214], body[215], body[216]
    assert (mode, window, flags) == (m.MODE_TUNNEL, 32, m.XFRM_STATE_AF_UNSPEC)
    attrs = m.attributes(body[m.USERSA_INFO_SIZE:])
    aead = attrs[m.XFRMA_ALG_AEAD]
    assert aead[:17] == b"rfc4106(gcm(aes))" and struct.unpack_from("=II", aead, 64) == (288, 128)
    assert struct.unpack_from("=HHH", attrs[m.XFRMA_ENCAP]) == (2, 0x9411, 0x9411)  # 4500 big-endian


def test_sa_message_cbc_esn_and_large_window():
    eff = sa(0x1, True, keys(E.AES_CBC, I.HMAC_SHA2_256_128, 128, esn=True), replay_window=1024, encap=False)
    attrs = m.attributes(sa_message(eff)[m.USERSA_INFO_SIZE:])
    assert attrs[m.XFRMA_ALG_CRYPT][:8] == b"cbc(aes)"
    assert attrs[m.XFRMA_ALG_AUTH_TRUNC][:12] == b"hmac(sha256)"
    assert struct.unpack_from("=II", attrs[m.XFRMA_ALG_AUTH_TRUNC], 64) == (256, 128)
    assert struct.unpack_from("=6I", attrs[m.XFRMA_REPLAY_ESN_VAL])[0::5] == (32, 1024)
    assert m.XFRMA_ENCAP not in attrs
    body = sa_message(eff)
    assert body[216] & m.XFRM_STATE_ESN and body[215] == 0


def test_policy_message_with_template():
    p = policy(Direction.OUT, reqid=42)
    body = policy_message(p, 375423)
    assert struct.unpack_from("=IIB", body, 152) == (375423, 0, m.POLICY_OUT)
    tmpl = m.attributes(body[168:])[m.XFRMA_TMPL]
    assert tmpl[:4] == MOON.packed and struct.unpack_from("=I", tmpl, 44)[0] == 42
    drop = policy_message(policy(Direction.OUT, kind="drop"), 1)
    assert drop[161] == m.POLICY_BLOCK and not m.attributes(drop[168:])


def test_events_are_decoded():
    eff = sa(0xABCD, True, keys(E.AES_GCM_16, bits=128))
    expire = m.nlmsg(m.EXPIRE, 0, 0, sa_message(eff)[:m.USERSA_INFO_SIZE] + b"\x01" + bytes(7))
    sel = policy_selector(policy(Direction.OUT).local_ts, policy(Direction.OUT).remote_ts)
    tmpl = m.rtattr(m.XFRMA_TMPL, m.encode_user_tmpl(MOON.packed, bytes(4), 50, 9, 1, m.AF_INET))
    acquire = m.nlmsg(m.ACQUIRE, 0, 0, bytes(40) + m.encode_selector(sel) + bytes(168 + 16) + tmpl)
    events = XfrmPort._decode_events(expire + acquire + m.nlmsg(m.MAPPING, 0, 0, b""))
    assert events[0] == KernelExpire(0xABCD, True, 3, ipaddress.ip_address("192.0.2.3"), 1)
    assert isinstance(events[1], KernelAcquire) and events[1].reqid == 9
    assert str(events[1].src_ts) == "203.0.113.0/32" and str(events[1].dst_ts) == "198.51.100.0/32"
    assert XfrmPort._decode_events(m.nlmsg(m.EXPIRE, 0, 0, b"short")) == []


def test_outbound_templates_name_the_spi_as_charon_does():
    out = policy_message(replace(policy(Direction.OUT, reqid=3), spi=0xC0FFEE01), 375423)
    tmpl = m.attributes(out[168:])[m.XFRMA_TMPL]
    assert struct.unpack_from("!I", tmpl, 16)[0] == 0xC0FFEE01  # xfrm_id: daddr[16], spi, proto
    inbound = policy_message(replace(policy(Direction.IN, reqid=3), spi=0xC0FFEE02), 375423)
    assert struct.unpack_from("!I", m.attributes(inbound[168:])[m.XFRMA_TMPL], 16)[0] == 0
    trap = policy_message(replace(policy(Direction.OUT, reqid=3, kind="trap"), spi=7), 375424)
    assert struct.unpack_from("!I", m.attributes(trap[168:])[m.XFRMA_TMPL], 16)[0] == 0


def test_socket_bypass_policy_is_a_zeroed_allow_policy():
    for family, direction in ((m.AF_INET, m.POLICY_OUT), (m.AF_INET6, m.POLICY_IN)):
        body = m.encode_socket_policy(family, direction)
        assert len(body) == m.USERPOLICY_INFO_SIZE
        assert struct.unpack_from("=H", body, 40)[0] == family  # selector family, all else zero
        assert body[:40] == bytes(40) and body[42:152] == bytes(110)
        assert struct.unpack_from("=IIBBBB", body, 152) == (0, 0, direction, m.POLICY_ALLOW, 0, 0)
