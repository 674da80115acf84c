"""The scorer's adaptive batch: small when caught up, growing under a backlog (issue #20)."""

from __future__ import annotations

import pytest

from lazarus.scorer.batching import AdaptiveBatch


def test_a_backlog_doubles_the_batch_up_to_the_largest() -> None:
    b = AdaptiveBatch(100, 1000)
    sizes = []
    for _ in range(6):
        sizes.append(b.size)
        b.took(b.size)  # every consume came back full
    assert sizes == [100, 200, 400, 800, 1000, 1000]


def test_a_short_consume_drops_to_the_smallest() -> None:
    b = AdaptiveBatch(100, 1000)
    for _ in range(4):
        b.took(b.size)
    assert b.size == 1000
    b.took(999)
    assert b.size == 100
    b.took(0)  # an empty poll: still caught up
    assert b.size == 100


@pytest.mark.parametrize(
    ("smallest", "largest", "first"), [(100, 50, 50), (100, 1, 1), (0, 10, 1), (5, 0, 1)]
)
def test_the_smallest_is_capped_at_the_largest_and_both_at_one(
    smallest: int, largest: int, first: int
) -> None:
    b = AdaptiveBatch(smallest, largest)
    assert b.size == first
    b.took(first)
    assert b.size == min(max(1, largest), first * 2)
