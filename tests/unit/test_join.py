"""The delayed-label join: matching, TTL in event time, bounds, duplicates, latency."""

from __future__ import annotations

import pickle
from typing import Any

from lazarus.trainer.join import PendingJoin, pack_origin, unpack_origin

X = {"a": 1.0, "b": 2.5}


def join(ttl_ms: int = 60_000, max_pending: int = 100) -> PendingJoin:
    return PendingJoin(ttl_ms=ttl_ms, max_pending=max_pending, keep_joined=1000)


def test_outcome_finds_its_features_by_ref() -> None:
    j = join()
    j.add("e1", "site-1", 1_000, X, ("site-1",), pack_origin(0, 2, 42))
    got = j.match("e1", "site-1", 6_000)
    assert got is not None and got.x == X and got.segment == ("site-1",)
    assert unpack_origin(got.origin) == (0, 2, 42)
    assert got.latency_s == 5.0
    assert not j.entries and j.counters.joined == 1


def test_outcome_without_ref_takes_the_subjects_latest() -> None:
    j = join()
    j.add("e1", "s", 1_000, {"a": 1.0}, (), 0)
    j.add("e2", "s", 2_000, {"a": 2.0}, (), 0)
    got = j.match(None, "s", 3_000)
    assert got is not None and got.event_id == "e2"


def test_unmatched_and_duplicate_outcomes_are_counted() -> None:
    j = join(ttl_ms=10_000)
    assert j.match("nope", "s", 0, True) is None
    assert j.waiting_outcomes == 1 and j.counters.unmatched == 0  # held: its features may come
    j.add("e1", "s", 0, X, (), 0)
    assert j.match("e1", "s", 0) is not None
    assert j.match("e1", "s", 0) is None
    j.add("e2", "t", 10_001, X, (), 0)  # the clock passes the held outcome's TTL
    assert j.waiting_outcomes == 0
    assert (j.counters.unmatched, j.counters.duplicate_outcomes) == (1, 1)


def test_an_outcome_that_comes_first_is_joined_when_its_features_come() -> None:
    j = join()
    for i in range(10):
        assert j.match(f"e{i}", f"s{i}", 5_000 + i, i % 2 == 0) is None
    assert j.waiting_outcomes == 10 and not j.entries
    for i in range(10):
        got = j.add(f"e{i}", f"s{i}", 3_000 + i, X, ("site",), pack_origin(0, 1, i))
        assert got is not None
        joined, label = got
        assert joined.event_id == f"e{i}" and joined.x == X and label == (i % 2 == 0)
        assert unpack_origin(joined.origin) == (0, 1, i) and joined.latency_s == 2.0
    c = j.counters
    assert (c.joined, c.early_joined, c.unmatched, j.waiting_outcomes) == (10, 10, 0, 0)
    assert not j.entries


def test_an_outcome_without_ref_and_nothing_pending_is_unmatched_not_held() -> None:
    j = join()
    assert j.match(None, "s", 5_000, True) is None
    assert j.waiting_outcomes == 0 and j.counters.unmatched == 1
    assert j.add("e1", "s", 4_000, X, (), 0) is None  # not labelled by a guess


def test_a_duplicate_early_outcome_is_counted_and_the_first_kept() -> None:
    j = join()
    j.match("e1", "s", 5_000, True)
    j.match("e1", "s", 5_001, False)
    got = j.add("e1", "s", 1_000, X, (), 0)
    assert got is not None and got[1] is True and j.counters.duplicate_outcomes == 1


def test_an_outcome_after_its_features_expired_is_late_not_held() -> None:
    j = join(ttl_ms=1_000)
    j.add("e1", "s", 0, X, (), 0)
    j.add("e2", "t", 5_000, X, (), 0)  # e1 expires
    assert j.match("e1", "s", 5_001, True) is None
    c = j.counters
    assert (c.expired, c.unmatched, c.features_gone, j.waiting_outcomes) == (1, 1, 1, 0)


def test_held_outcomes_are_bounded() -> None:
    j = join(max_pending=3)
    for i in range(5):
        j.match(f"e{i}", "s", i, True)
    assert list(j.early) == ["e2", "e3", "e4"] and j.counters.unmatched == 2


def test_held_outcomes_survive_pickling_and_old_snapshots_load() -> None:
    j = join()
    j.match("e1", "s", 5_000, True)
    again = pickle.loads(pickle.dumps(j))
    got = again.add("e1", "s", 1_000, X, (), 0)
    assert got is not None and got[1] is True
    old_state = j.__getstate__()
    for name in ("early", "gone"):
        old_state.pop(name)
    old = PendingJoin.__new__(PendingJoin)
    old.__setstate__(old_state)
    assert old.waiting_outcomes == 0 and "x" not in old.gone


def test_duplicate_features_are_not_stored_twice() -> None:
    j = join()
    j.add("e1", "s", 0, X, (), 0)
    j.add("e1", "s", 0, X, (), 0)
    assert len(j.entries) == 1 and j.counters.duplicate_features == 1


def test_ttl_runs_on_event_time() -> None:
    j = join(ttl_ms=10_000)
    j.add("old", "s", 0, X, (), 0)
    j.add("new", "t", 5_000, X, (), 0)
    assert len(j.entries) == 2
    j.add("newer", "u", 10_001, X, (), 0)
    assert "old" not in j.entries and j.counters.expired == 1
    assert j.match("old", "s", 10_002) is None and j.counters.unmatched == 1


def test_buffer_is_bounded_and_evicts_the_oldest() -> None:
    j = join(max_pending=3)
    for i in range(5):
        j.add(f"e{i}", f"s{i}", i, X, (), 0)
    assert list(j.entries) == ["e2", "e3", "e4"] and j.counters.evicted == 2
    assert "s0" not in j.latest_by_subject


def test_state_survives_pickling() -> None:
    j = join()
    j.add("e1", "s", 1_000, X, ("s",), 7)
    again = pickle.loads(pickle.dumps(j))
    got = again.match("e1", "s", 2_000)
    assert got is not None and got.x == X and got.origin == 7


def test_many_subjects_do_not_grow_shared_state() -> None:
    j = join(max_pending=10)
    for i in range(2000):
        j.add(f"e{i}", f"individual-{i}", i, X, ("dire_wolf",), 0)
        j.match(f"e{i}", f"individual-{i}", i)
    assert len(j.layouts) == 1 and len(j.entries) == 0 and not j.latest_by_subject


def test_status_shows_what_never_joined_from_a_trainers_heartbeat() -> None:
    from lazarus.cli.status_cmd import _joins
    from lazarus.trainer.join import unjoined

    j = join(ttl_ms=1_000)
    j.add("e1", "s", 0, X, (), 0)
    j.add("e2", "t", 5_000, X, (), 0)  # e1 expires
    j.match("e1", "s", 5_001, True)  # its outcome comes too late
    j.match("e9", "u", 5_002, True)  # an outcome whose features have not come
    beat = {f"unjoined_{k}": str(v) for k, v in unjoined(j.counters).items()}
    beat["waiting_outcomes"] = str(j.waiting_outcomes)
    assert _joins(beat) == "expired 1 · unmatched 1 · waiting 1"
    assert _joins({"unjoined_expired": "0", "waiting_outcomes": "0"}) == "all joined"
    assert _joins({"scored": "5"}) == "-"


def test_categorical_features_wait_and_come_back_as_they_were() -> None:
    """Strings (categories) among the numbers, in any position, survive the packed buffer and
    a snapshot, and a subject's latest still finds them."""
    j = PendingJoin(ttl_ms=10**9, max_pending=10, keep_joined=10)
    mixed: dict[str, Any] = {"depth_m": 1.5, "habitat": "reed bed", "ph": 7.0, "island": "Biscoe"}
    j.add("a", "site 1", 1_000, mixed, ("reed bed",), 1)
    j.add("b", "site 2", 1_001, {"habitat": "bog"}, (), 2)  # type: ignore[dict-item]
    j.add("c", "site 3", 1_002, {"depth_m": 2.0}, (), 3)
    j = pickle.loads(pickle.dumps(j))
    a = j.match("a", "site 1", 2_000)
    assert a is not None and a.x == mixed and list(a.x) == list(mixed)
    b = j.match(None, "site 2", 2_000)
    assert b is not None and b.x == {"habitat": "bog"}
    assert j.latest_by_subject == {"site 3": "c"}
    c = j.match(None, "site 3", 2_000)
    assert c is not None and c.x == {"depth_m": 2.0}


def test_entries_with_categories_expire_and_are_evicted_like_any_other() -> None:
    """The subject sits after the strings: dropping such an entry still finds it."""
    j = PendingJoin(ttl_ms=1_000, max_pending=2, keep_joined=10)
    x: dict[str, Any] = {"habitat": "prairie à réséda", "depth_m": 1.0}
    j.add("a", "sé", 0, x, (), 1)
    j.add("b", "t", 10, x, (), 2)
    j.add("c", "u", 20, x, (), 3)  # the buffer holds two: "a" is evicted
    assert j.counters.evicted == 1 and set(j.latest_by_subject) == {"t", "u"}
    j.add("d", "v", 5_000, {"depth_m": 2.0}, (), 4)  # the clock moves: "b" and "c" expire
    assert j.counters.expired == 2 and set(j.latest_by_subject) == {"v"}


def test_recent_ids_keep_the_digests_snapshots_hold() -> None:
    """A snapshot's rings hold each id as `int.from_bytes(blake2b-64, "little", signed=True)`:
    ids recorded before the digest was computed another way are still found after a restore."""
    import hashlib

    from lazarus.trainer.recent_ids import RecentIds

    ids = ["sensor-5-5", "é-ü", "x" * 200, "habitat:site-001.0"]
    old = RecentIds(3)
    old._ring.extend(
        int.from_bytes(hashlib.blake2b(i.encode(), digest_size=8).digest(), "little", signed=True)
        for i in ids[:3]
    )
    old._set = set(old._ring)
    restored = pickle.loads(pickle.dumps(old))
    assert all(i in restored for i in ids[:3]) and ids[3] not in restored
    restored.add(ids[3])  # the ring is full: the oldest goes
    assert ids[3] in restored and ids[0] not in restored and len(restored) == 3
    assert [RecentIds._digest(i) for i in ids[1:]] == [*restored._ring[1:], restored._ring[0]]
