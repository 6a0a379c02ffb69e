"""Anti-replay window, with and without extended sequence numbers."""

from __future__ import annotations

import random

import pytest

from vicid.datapath.replay import ReplayWindow

LOW = 1 << 32


def take(w: ReplayWindow, seq: int) -> bool:
    if not w.check(seq):
        return False
    w.accept(seq)
    return True


def test_in_order_and_duplicates():
    w = ReplayWindow(32)
    assert not w.check(0)  # sequence numbers start at 1
    assert all(take(w, s) for s in range(1, 100))
    assert not any(take(w, s) for s in range(1, 100))


def test_window_edges():
    w = ReplayWindow(32)
    assert take(w, 100)
    assert take(w, 69)  # 100 - 31: last slot inside the window
    assert not take(w, 68)  # just outside
    assert take(w, 90) and not take(w, 90)
    assert take(w, 200)  # a jump clears everything behind
    assert not take(w, 168) and take(w, 169)


def test_check_does_not_mark():
    """A forged packet is checked but never accepted: it must not move the window."""
    w = ReplayWindow(32)
    take(w, 10)
    assert w.check(1000)
    assert w.top == 10 and take(w, 11)


def test_reordering_matches_a_reference_model():
    rng = random.Random(0)
    w, seen, top = ReplayWindow(64), set(), 0
    for _ in range(5000):
        seq = max(1, top + rng.randint(-80, 5))
        expect = seq not in seen and seq > top - 64
        assert take(w, seq) == expect, seq
        if expect:
            seen.add(seq)
            top = max(top, seq)


def test_no_window_accepts_all_but_zero():
    w = ReplayWindow(0)
    assert take(w, 5) and take(w, 5) and take(w, 1) and not w.check(0)


def test_32bit_counter_never_exceeds_2_32():
    w = ReplayWindow(32)
    assert not w.check(LOW)
    assert w.infer(123) == 123


@pytest.mark.parametrize("size", [32, 128, 1024])
def test_esn_inference_across_the_wrap(size):
    w = ReplayWindow(size, esn=True)
    w.accept(LOW - 6)  # as if the SA had carried 2^32 - 6 packets already
    for seq in range(LOW - 5, LOW + 5):
        full = w.infer(seq % LOW)
        assert full == seq and take(w, full)
    # a late packet from just before the wrap is placed in the previous block
    assert w.infer((LOW - 3) % LOW) == LOW - 3
    assert not take(w, LOW - 3)  # and it is a replay
    assert w.infer(1) == LOW + 1


def test_esn_window_inside_one_block():
    w = ReplayWindow(32, esn=True)
    take(w, 5 * LOW + 1000)
    assert w.infer(990) == 5 * LOW + 990
    assert w.infer(10) == 6 * LOW + 10  # far below the window: the next block


def test_esn_cannot_go_below_zero():
    w = ReplayWindow(32, esn=True)
    take(w, 3)
    assert w.infer(LOW - 2) is None
