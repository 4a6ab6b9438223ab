"""The relay's pacing rules: back-off after failures, and the arrival rate it yields to."""

from __future__ import annotations

import pytest

from api.relay import ArrivalRate, backoff_s

pytestmark = pytest.mark.unit


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_arrival_rate_is_the_count_of_the_last_whole_second() -> None:
    clock = Clock()
    rate = ArrivalRate(clock)
    for _ in range(300):
        rate.tick()
    assert rate.per_s() == 0  # this second is not over yet
    clock.now += 1
    assert rate.per_s() == 300
    rate.tick()
    clock.now += 1
    assert rate.per_s() == 1
    clock.now += 5  # a quiet gap: nothing came in the last second
    assert rate.per_s() == 0


def test_a_failed_entry_waits_longer_each_time_up_to_the_cap() -> None:
    assert [backoff_s(n, 30) for n in range(1, 9)] == [0.5, 1, 2, 4, 8, 16, 30, 30]
