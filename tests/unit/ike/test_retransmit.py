"""retransmit_timeout() against charon's retransmission_timeout() (task_manager.c)."""

from __future__ import annotations

import pytest

from vicid.ike.retransmit import GIVE_UP, Retransmission, retransmit_timeout, timeout_ms
from vicid.ike.settings import EngineSettings


class FixedRandom:
    def __init__(self, value: float) -> None:
        self.value = value

    def random(self) -> float:
        return self.value


def test_default_schedule_matches_charon():
    s = Retransmission()
    assert [retransmit_timeout(n, s, None) for n in range(7)] == [
        4.0, 7.2, 12.96, 23.328, 41.99, 75.582, GIVE_UP]
    # charon truncates to whole milliseconds: 4000 * 1.8^4 = 41990.4 ms
    assert timeout_ms(4, s, None) == 41990


def test_limit_caps_the_timeout():
    s = Retransmission(limit=10)
    assert [retransmit_timeout(n, s, None) for n in range(4)] == [4.0, 7.2, 10.0, 10.0]


def test_jitter_subtracts_up_to_the_percentage():
    s = Retransmission(jitter=20)
    assert retransmit_timeout(0, s, FixedRandom(0.0)) == 4.0
    assert retransmit_timeout(0, s, FixedRandom(0.5)) == 3.6
    assert retransmit_timeout(1, s, FixedRandom(0.999999)) == pytest.approx(5.76, abs=0.001)


def test_tries_and_overflow_bound():
    s = Retransmission(tries=0)
    assert retransmit_timeout(0, s, None) == 4.0 and retransmit_timeout(1, s, None) is GIVE_UP
    huge = Retransmission(tries=100)
    assert huge.max_tries == 23  # int(log(UINT32_MAX / 4000) / log(1.8))
    assert timeout_ms(24, huge, None) == 0xFFFFFFFF  # beyond max_tries: UINT32_MAX


def test_settings_from_strongswan_conf():
    conf = {"charon.retransmit_timeout": "2.5", "charon.retransmit_base": "1.4",
            "charon.retransmit_tries": "3", "charon.retransmit_jitter": "50",
            "charon.retransmit_limit": "30", "charon.fragment_size": "1400",
            "charon.half_open_timeout": "1m", "charon.prefer_configured_proposals": "no",
            "charon.cookie_threshold_ip": "7", "charon.block_threshold": "5"}
    s = EngineSettings.from_getter(lambda k, d=None: conf.get(k, d))
    assert s.retransmit == Retransmission(2.5, 1.4, 3, 20, 30.0)  # jitter capped at 20
    assert s.fragment_size == 1400 and s.half_open_timeout == 60.0
    assert s.prefer_configured_proposals is False
    assert s.block_threshold == 8  # raised above the per-IP cookie threshold, as charon does
    assert s.fragment_size_for(True) == 1400
    assert EngineSettings(fragment_size=0).fragment_size_for(False) == 576
