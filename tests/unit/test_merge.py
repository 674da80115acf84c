"""The deterministic merge: any arrival interleaving, the same order out."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from lazarus.trainer.merge import OrderedMerge

PARTS = [("f", 0), ("f", 1), ("o", 0)]
RANK = {"f": 0, "o": 1}


def streams(seed: int) -> dict[tuple[str, int], list[tuple[int, int]]]:
    r = random.Random(seed)
    out: dict[tuple[str, int], list[tuple[int, int]]] = {}
    for key in PARTS:
        ts = 0
        out[key] = []
        for offset in range(r.randint(0, 30)):
            ts += r.randint(0, 3)
            out[key].append((offset, ts))
    return out


def drain(
    data: dict[tuple[str, int], list[tuple[int, int]]], order: random.Random
) -> list[tuple[str, int, int]]:
    merge = OrderedMerge(PARTS, RANK)
    cursors = dict.fromkeys(PARTS, 0)
    out: list[tuple[str, int, int]] = []
    while any(cursors[k] <= len(data[k]) for k in PARTS):
        key = order.choice([k for k in PARTS if cursors[k] <= len(data[k])])
        i = cursors[key]
        if i < len(data[key]):
            offset, ts = data[key][i]
            merge.add(key[0], key[1], offset, ts, None)
        else:
            merge.at_end(*key)  # the consumer saw the end of this partition
        cursors[key] += 1
        out += [(it.topic, it.partition, it.offset) for it in merge.ready()]
    return out


@given(seed=st.integers(0, 10_000), a=st.integers(0, 10_000), b=st.integers(0, 10_000))
@settings(max_examples=200)
def test_order_does_not_depend_on_arrival(seed: int, a: int, b: int) -> None:
    data = streams(seed)
    first = drain(data, random.Random(a))
    assert first == drain(data, random.Random(b))
    assert len(first) == sum(len(v) for v in data.values())


def test_waits_for_every_partition_then_orders_by_time_topic_partition_offset() -> None:
    merge = OrderedMerge(PARTS, RANK)
    merge.add("o", 0, 0, 5, "outcome")
    assert list(merge.ready()) == []  # f/0 and f/1 might still hold something earlier
    merge.add("f", 0, 0, 5, "feature")
    merge.at_end("f", 1)
    assert [i.payload for i in merge.ready()] == ["feature"]
    assert merge.blocked_on == [("f", 0)]  # it may still hold something at time 5
    merge.at_end("f", 0)
    assert [i.payload for i in merge.ready()] == ["outcome"]
