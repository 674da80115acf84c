"""The lifecycle's pairing, pure: per input event, the score model M served (its main score),
each shadow score (a challenger line's, the rollback guard's baseline) and the label (M's
trainer's prequential record), turned into paired per-event losses per (role, line).

The main score is "what M served", whichever line served it: the controller knows the champion
line, and resets the challengers' pairs when it changes. A pair counts when the label, the main
score and the shadow score have all arrived and both scores are honest (`core.verdict`: neither
version had learned the event); the champion's loss is the main score's, the challenger's the
shadow's. For the baseline (key `("baseline", line)`) the sides turn: the baseline's shadow loss
is the "champion" side, the main score's the "challenger" side, as `gate.guard` reads them.

The halves are the monitor's own (`core.Served` for a main or a shadow score, `core.Judged` for
a prequential record, targets as river's metrics take them). Any half may come first; each event waits in one bounded buffer (oldest out). Duplicates (a
repeated score or record, at-least-once) are counted once: the first main score, the first
shadow score of a (role, line) and the first label of an input win. The label also makes the
served error of an honest main score (`served_errors`: the 0/1 or absolute error the served
drift detector reads).

>>> join = LineupJoin("Accuracy", served_error="Accuracy")
>>> through = {"t:0": 0}
>>> join.add_main("e1", Served(3, True, None, through))
>>> join.add_shadow("e1", "challenger", "habitat.fresh", Served(1, False, None, through))
>>> join.add_label("e1", Judged(False, False, None, {}, ("t", 0, 5)))
>>> join.tally(("challenger", "habitat.fresh")).losses.arrays()
(array([1.]), array([0.]))
>>> list(join.served_errors)
[1.0]
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from lazarus.quality.core import Judged, Served, Verdict, verdict
from lazarus.quality.paired import PairedLosses, per_event_loss

Role = Literal["challenger", "baseline"]
Key = tuple[Role, str]
"""(role, line): the baseline's pairs are kept apart from a challenger line of the same name."""

MAX_WAITING = 50_000
"""Input events held at once, waiting for a half or for a late shadow score."""
MAX_SERVED_ERRORS = 100_000
"""Served errors not yet read by the drift detector (it reads them every cycle)."""


@dataclass
class LineTally:
    """One (role, line)'s honest pairs, and the pairs it could not judge, since its last reset.
    `stamp` changes with every pair and reset (the controller re-compares only then)."""

    losses: PairedLosses
    version: int | None = None
    """The version of the newest shadow score paired."""
    learned_before_served: int = 0
    position_unknown: int = 0
    unjudgeable: int = 0
    """Pairs where either score could not be judged by the metric (no prediction, no
    probabilities for a log loss)."""
    stamp: int = 0

    @property
    def not_honest(self) -> int:
        return self.learned_before_served + self.position_unknown

    def count(self, said: Verdict) -> None:
        if said == "learned_before_served":
            self.learned_before_served += 1
        elif said == "position_unknown":
            self.position_unknown += 1


@dataclass
class _Event:
    main: Served | None = None
    label: Judged | None = None
    shadows: dict[Key, Served] = field(default_factory=dict)
    paired: set[Key] = field(default_factory=set)
    judged: tuple[float | None, Verdict] | None = None
    """The main score's (loss, verdict), once it met the label (its payload is then dropped)."""
    line: str | None = None
    """The line that served the main score (None: the model's own, or not said)."""


class LineupJoin:
    """Paired losses per (role, line) under `metric` (a `paired.LOSSES` name; None: nothing is
    paired, the contract has no metric that is a mean of per-event losses), and the served
    errors under `served_error` (None: none). `max_pairs` bounds each line's pairs (the newest
    kept), `max_waiting` the events held."""

    def __init__(
        self,
        metric: str | None,
        *,
        served_error: str | None = None,
        max_pairs: int = 20_000,
        max_waiting: int = MAX_WAITING,
    ) -> None:
        self.metric = metric
        self.served_error = served_error
        self.max_pairs = max_pairs
        self.max_waiting = max_waiting
        self._events: OrderedDict[str, _Event] = OrderedDict()
        self._tallies: dict[Key, LineTally] = {}
        self._stamp = 0
        self.baseline: tuple[str, int] | None = None
        """The baseline (line, version) the guard compares; shadow scores of another baseline
        are counted in `stale` and left out. None: not known yet, every one is taken."""
        self.served_errors: deque[float] = deque(maxlen=MAX_SERVED_ERRORS)
        self.served_through: Mapping[str, int] = {}
        """The trained offsets of the newest honest main score's version."""
        self.serving: str | None = None
        """The champion line the controller sees (None: not known yet, every score taken)."""
        self.other_line = 0
        self.duplicates = 0
        self.dropped = 0
        """Events pushed out of the buffer before a main score, a label or a shadow met."""
        self.stale = 0

    # -- arrivals ---------------------------------------------------------------------------

    def add_main(self, input_id: str, scored: Served, line: str | None = None) -> None:
        """The score served for `input_id`, by `line` (None: the model's own). A score of
        another line than `serving` (the monitor reads behind the lineup: a promotion's older
        scores) is counted in `other_line` and never paired."""
        event = self._event(input_id)
        if event.main is not None or event.judged is not None:
            self.duplicates += 1
            return
        event.main, event.line = scored, line
        self._settle(event)

    def add_shadow(self, input_id: str, role: Role, line: str, scored: Served) -> None:
        if role == "baseline" and self.baseline not in (None, (line, scored.version)):
            self.stale += 1
            return
        event = self._event(input_id)
        key: Key = (role, line)
        if key in event.shadows or key in event.paired:
            self.duplicates += 1
            return
        event.shadows[key] = scored
        self._settle(event)

    def add_label(self, input_id: str, judged: Judged) -> None:
        event = self._event(input_id)
        if event.label is not None:
            self.duplicates += 1
            return
        event.label = judged
        self._settle(event)

    # -- reading and resetting --------------------------------------------------------------

    def tally(self, key: Key) -> LineTally | None:
        """A (role, line)'s pairs since its last reset; None before its first."""
        return self._tallies.get(key)

    def reset(self, role: Role, line: str | None = None) -> None:
        """Forget the pairs of `line` in `role`, or of every line in `role` (their champion or
        their baseline changed: the old losses judge another model)."""
        for key in self._tallies:
            if key[0] == role and (line is None or key[1] == line):
                self._tallies[key] = self._fresh()

    def set_baseline(self, line: str, version: int) -> None:
        """A new baseline: its pairs start afresh, shadow scores of another one are stale."""
        if self.baseline != (line, version):
            self.baseline = (line, version)
            self.reset("baseline")

    @property
    def waiting(self) -> int:
        return len(self._events)

    # -- the join ---------------------------------------------------------------------------

    def _event(self, input_id: str) -> _Event:
        event = self._events.get(input_id)
        if event is None:
            event = self._events[input_id] = _Event()
            if len(self._events) > self.max_waiting:
                _, old = self._events.popitem(last=False)
                if old.judged is None or old.shadows:
                    self.dropped += 1
        return event

    def _settle(self, event: _Event) -> None:
        """Judge what can be judged now that one more half arrived."""
        label = event.label
        if label is None:
            return
        if event.judged is None:
            main = event.main
            if main is None:
                return
            event.judged = self._judge_main(main, label)
            event.main = None  # its loss is kept: the payload can go
        main_loss, main_said = event.judged
        if self.serving is not None and event.line is not None and event.line != self.serving:
            self.other_line += len(event.shadows)  # served by a line no longer served: judged
            event.paired.update(event.shadows)  # nothing (checked when each pair forms)
            event.shadows.clear()
            return
        for key, shadow in event.shadows.items():
            event.paired.add(key)
            self._pair(key, main_loss, main_said, shadow, label)
        event.shadows.clear()

    def _judge_main(self, main: Served, label: Judged) -> tuple[float | None, Verdict]:
        said = verdict(main.trained_through, label.position)
        if said == "honest" and self.served_error is not None:
            error = per_event_loss(
                self.served_error, label.label, main.prediction, main.probabilities
            )
            if error is not None:
                self.served_errors.append(error)
                self.served_through = main.trained_through
        if self.metric is None:
            return None, said
        loss = per_event_loss(self.metric, label.label, main.prediction, main.probabilities)
        return loss, said

    def _pair(
        self, key: Key, main_loss: float | None, main_said: Verdict, shadow: Served, label: Judged
    ) -> None:
        if self.metric is None:
            return
        tally = self._tallies.get(key)
        if tally is None:
            tally = self._tallies[key] = self._fresh()
        tally.version = shadow.version
        said = verdict(shadow.trained_through, label.position)
        if main_said != "honest" or said != "honest":
            tally.count(main_said if main_said != "honest" else said)
            return
        loss = per_event_loss(self.metric, label.label, shadow.prediction, shadow.probabilities)
        if main_loss is None or loss is None:
            tally.unjudgeable += 1
            return
        if key[0] == "challenger":
            tally.losses.add(main_loss, loss)
        else:  # the guard: the baseline is the "champion", what is served the "challenger"
            tally.losses.add(loss, main_loss)
        self._stamp += 1
        tally.stamp = self._stamp

    def _fresh(self) -> LineTally:
        self._stamp += 1
        return LineTally(PairedLosses(self.max_pairs), stamp=self._stamp)
