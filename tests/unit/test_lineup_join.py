"""The lifecycle's pairing (`quality.lineup_join`): a pair counts once the main score, a shadow
score and the label have all arrived, both scores honest; duplicates once; buffers bounded."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest

from lazarus.quality.core import Judged, Served
from lazarus.quality.lineup_join import Key, LineupJoin

FRESH: Key = ("challenger", "habitat.fresh")
THROUGH = {"in:0": 10}
"""Versions that have read offsets 0..9 of partition 0: events at 10 and later are honest."""


def score(prediction: object, version: int = 1, through: dict[str, int] = THROUGH) -> Served:
    probabilities = None if prediction is None else {True: 0.8, False: 0.2}
    return Served(version, prediction, probabilities, through)


def label(value: object, offset: int | None = 20) -> Judged:
    return Judged(value, value, None, {}, None if offset is None else ("in", 0, offset))


def halves(join: LineupJoin, i: int = 0) -> list[Callable[[], None]]:
    """The three halves of event `e{i}`: the champion wrong, the challenger right."""
    eid = f"e{i}"
    return [
        lambda: join.add_main(eid, score(False)),
        lambda: join.add_shadow(eid, "challenger", "habitat.fresh", score(True, version=4)),
        lambda: join.add_label(eid, label(True)),
    ]


@pytest.mark.parametrize("order", list(itertools.permutations(range(3))))
def test_a_pair_counts_only_once_all_three_halves_arrived_in_any_order(
    order: tuple[int, ...],
) -> None:
    join = LineupJoin("Accuracy")
    arrive = halves(join)
    for step, which in enumerate(order):
        tally = join.tally(FRESH)
        assert tally is None or tally.losses.n == 0, f"paired after {step} halves"
        arrive[which]()
    tally = join.tally(FRESH)
    assert tally is not None and tally.losses.n == 1 and tally.version == 4
    champion, challenger = tally.losses.arrays()
    assert (champion[0], challenger[0]) == (1.0, 0.0)


def test_only_honest_pairs_count_and_the_others_are_told_apart() -> None:
    join = LineupJoin("Accuracy")
    learned = {"in:0": 50}  # has read the event at offset 20
    join.add_main("a", score(False, through=learned))
    join.add_shadow("a", "challenger", "habitat.fresh", score(True))
    join.add_label("a", label(True))
    join.add_main("b", score(False))
    join.add_shadow("b", "challenger", "habitat.fresh", score(True, through=learned))
    join.add_label("b", label(True))
    join.add_main("c", score(False))
    join.add_shadow("c", "challenger", "habitat.fresh", score(True))
    join.add_label("c", label(True, offset=None))
    join.add_main("d", score(False))
    join.add_shadow("d", "challenger", "habitat.fresh", score(True))
    join.add_label("d", label(True, offset=10))  # the first offset neither had read: honest
    tally = join.tally(FRESH)
    assert tally is not None
    assert (tally.losses.n, tally.learned_before_served, tally.position_unknown) == (1, 2, 1)
    assert tally.not_honest == 3


def test_duplicates_are_counted_once_the_first_of_each_half_wins() -> None:
    join = LineupJoin("Accuracy", served_error="Accuracy")
    join.add_main("e", score(False))
    join.add_main("e", score(True))  # a rescore after a crash: the first wins
    join.add_shadow("e", "challenger", "habitat.fresh", score(True))
    join.add_label("e", label(True))
    join.add_label("e", label(True))  # a trainer's replay
    join.add_shadow("e", "challenger", "habitat.fresh", score(True))  # after it was paired
    tally = join.tally(FRESH)
    assert tally is not None and tally.losses.n == 1
    assert tally.losses.arrays()[0][0] == 1.0  # the first main score (wrong) was judged
    assert join.duplicates == 3
    assert list(join.served_errors) == [1.0]  # the served error once, too


def test_the_buffer_is_bounded_and_the_oldest_goes_first() -> None:
    join = LineupJoin("Accuracy", max_waiting=3)
    for i in range(5):
        join.add_main(f"e{i}", score(False))
    assert join.waiting == 3 and join.dropped == 2  # e0 and e1 went, unpaired
    for i in (4, 3, 2, 0):
        join.add_shadow(f"e{i}", "challenger", "habitat.fresh", score(True))
        join.add_label(f"e{i}", label(True))
    tally = join.tally(FRESH)
    assert tally is not None and tally.losses.n == 3  # e0 lost its main score
    assert join.waiting == 3 and join.dropped == 2  # e0 pushed out e2, paired: no loss


def test_the_baseline_is_kept_apart_and_is_the_champion_side() -> None:
    join = LineupJoin("Accuracy")
    join.set_baseline("habitat", 7)
    join.add_main("e", score(False))  # what is served now: wrong
    join.add_shadow("e", "challenger", "habitat", score(False))
    join.add_shadow("e", "baseline", "habitat", score(True, version=7))
    join.add_shadow("e", "baseline", "habitat", score(True, version=6))  # an older baseline
    join.add_label("e", label(True))
    base, rival = join.tally(("baseline", "habitat")), join.tally(("challenger", "habitat"))
    assert base is not None and rival is not None
    assert [a[0] for a in base.losses.arrays()] == [0.0, 1.0]  # baseline right, served wrong
    assert [a[0] for a in rival.losses.arrays()] == [1.0, 1.0]
    assert join.stale == 1


def test_a_reset_forgets_a_roles_pairs_and_a_new_baseline_resets_its_own() -> None:
    join = LineupJoin("Accuracy")
    for i in range(3):
        for arrive in halves(join, i):
            arrive()
        join.add_shadow(f"e{i}", "baseline", "habitat", score(True, version=2))
    join.reset("challenger")
    fresh, base = join.tally(FRESH), join.tally(("baseline", "habitat"))
    assert fresh is not None and fresh.losses.n == 0
    assert base is not None and base.losses.n == 3
    join.set_baseline("habitat", 2)
    base = join.tally(("baseline", "habitat"))
    assert base is not None and base.losses.n == 0


def test_served_errors_come_from_honest_main_scores_only() -> None:
    join = LineupJoin("LogLoss", served_error="Accuracy")
    join.add_main("a", score(False))
    join.add_label("a", label(True))
    join.add_main("b", score(True, through={"in:0": 99}))
    join.add_label("b", label(True))
    join.add_label("c", label(False))
    join.add_main("c", score(False))
    assert list(join.served_errors) == [1.0, 0.0]
    assert join.served_through == THROUGH


def test_a_score_the_metric_cannot_judge_is_counted_not_paired() -> None:
    join = LineupJoin("LogLoss")
    join.add_main("e", Served(1, True, None, THROUGH))  # no probabilities: no log loss
    join.add_shadow("e", "challenger", "habitat.fresh", score(True))
    join.add_label("e", label(True))
    tally = join.tally(FRESH)
    assert tally is not None and (tally.losses.n, tally.unjudgeable) == (0, 1)


def test_without_a_pairable_metric_nothing_is_paired() -> None:
    join = LineupJoin(None, served_error="Accuracy")
    for arrive in halves(join):
        arrive()
    assert join.tally(FRESH) is None and list(join.served_errors) == [1.0]


def test_scores_of_another_line_than_the_one_served_are_never_paired() -> None:
    join = LineupJoin("Accuracy", served_error="Accuracy")
    join.serving = "habitat.bad"
    through = {"t:0": 0}
    label = Judged(True, True, None, {}, ("t", 0, 5))
    for i, line in enumerate(("habitat", "habitat.bad")):  # the older score comes first
        join.add_main(f"e{i}", Served(3, True, None, through), line)
        join.add_shadow(f"e{i}", "baseline", "habitat", Served(2, True, None, through))
        join.add_label(f"e{i}", label)
    tally = join.tally(("baseline", "habitat"))
    assert tally is not None and tally.losses.n == 1 and join.other_line == 1
