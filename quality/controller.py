"""The quality monitor's acting shell for model M's lifecycle, run every cycle (about 2 s):

1. the served error: a rise (`served_drift`) publishes a DriftEvent (source `served`) to the
   drift topic, counts it and records it as M's last drift;
2. the gate: each challenger line against the champion on their honest pairs
   (`paired.compare`, `gate.gate` with the contract's `PromotionPolicy`); one that clears it is
   promoted (`Lineup.promote`, with the evidence in M's audit stream), unless the lineup is held,
   and what was served before becomes the baseline;
3. the guard: what is served now (the champion line, whatever its version) against the
   baseline (`gate.guard` with the `GuardPolicy`); worse by the margin with confidence: roll back
   to the baseline (`Lineup.rollback`); confidently not that much worse (or inconclusive after
   `max_events`): what is served becomes the baseline. No baseline yet: the first version served
   becomes it;
4. the report: where each challenger and the guard stand (`Lineup.write(M, "gate", ...)`),
   which `lazarus models gate` shows.

A Redis or Kafka error is logged and the cycle tried again next time; records (the last drift,
the last action) that could not be written wait for the next cycle. Pairs are reset when the
champion line changes (the challengers') and when the baseline changes (the guard's), never on
a failed action: it is tried again.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

import redis
from confluent_kafka import KafkaException

from lazarus.quality.gate import GuardVerdict, gate, guard
from lazarus.quality.lineup_join import Key, LineupJoin
from lazarus.quality.lineup_view import LineupPort, Part, View
from lazarus.quality.paired import Comparison, compare
from lazarus.quality.served_drift import DETECTOR, ServedDrift, drift_event
from lazarus.quality.standing import entry, evidence, gate_report
from lazarus.registry.lineup import Baseline
from lazarus.schemas.contract import ModelContract
from lazarus.schemas.drift import DriftEvent
from lazarus.schemas.lifecycle import GuardPolicy, PromotionPolicy

log = logging.getLogger(__name__)

ACTOR = "quality-monitor"
DEFAULT_CONFIDENCE = 0.95
"""The confidence of the comparisons reported when automatic promotion is off."""
DriftSink = Callable[[DriftEvent], None]
FAILURES = (redis.RedisError, OSError, KafkaException)


class Controller:
    """Model M's lifecycle (`contract.lifecycle`) acted on, over `lineup`, with the pairs of
    `join`; served drifts go to `drift` (a DriftEvent publisher). `actions` counts the
    automatic actions by kind, `drifts` the served drifts."""

    def __init__(
        self, contract: ModelContract, lineup: LineupPort, join: LineupJoin, drift: DriftSink
    ) -> None:
        self.model = contract.name
        self.lifecycle = contract.lifecycle
        self.metrics = contract.metrics
        self.lineup = lineup
        self.join = join
        self.publish_drift = drift
        self.served_drift = ServedDrift(contract.lifecycle.drift.delta)
        self.actions: Counter[str] = Counter()
        self.drifts = 0
        self._champion: str | None = None
        self._cache: dict[Key, tuple[int, Comparison | None]] = {}
        self._pending: list[tuple[Part, dict[str, Any]]] = []
        self._refused: tuple[str, int] | None = None
        self._generations: dict[str, int] = {}

    def prime(self) -> None:
        """Learn the champion and the baseline before the first score is read, so that
        shadow scores of an older baseline are never paired. A failure is logged (the first
        cycle learns them)."""
        try:
            self._champion = self.join.serving = self.lineup.champion(self.model)
            base = self.lineup.baseline(self.model)
        except FAILURES as exc:
            log.warning("cannot read the lineup of %s (%s); retrying", self.model, exc)
            return
        if base is not None:
            self.join.set_baseline(base.line, base.version)

    def cycle(self, now: float | None = None) -> dict[str, Any] | None:
        """One cycle; returns the gate report written (None when Redis failed before it)."""
        self._watch_served()
        try:
            self._flush_pending()
            view = View.read(self.lineup, self.model)
            self._follow(view)
            challengers, promoted = self._gate(view)
            standing = {"state": "idle", "reason": "a challenger was just promoted"}
            if not promoted:
                standing = self._guard(view)
            report = gate_report(
                self.model,
                self.lifecycle,
                view,
                self.join,
                challengers,
                standing,
                self.served_drift,
                now or time.time(),
            )
            self.lineup.write(self.model, "gate", report)
            self._flush_pending()
        except FAILURES as exc:
            log.warning("lifecycle of %s: %s; retrying next cycle", self.model, exc)
            return None
        return report

    # -- reading ----------------------------------------------------------------------------

    def _follow(self, view: View) -> None:
        """Reset what a change made by someone else (an operator, a restart) made stale."""
        if self._champion is not None and view.champion != self._champion:
            log.info("%s: the champion line is now %s", self.model, view.champion)
            self._new_champion(view.champion)
        self._champion = self.join.serving = view.champion
        for line, generation in view.generations.items():
            if self._generations.get(line, generation) != generation:
                log.info("%s: %s started afresh; its comparison starts again", self.model, line)
                self.join.reset("challenger", line)
        self._generations = dict(view.generations)
        if view.baseline is not None:
            self.join.set_baseline(view.baseline.line, view.baseline.version)

    def _new_champion(self, line: str) -> None:
        """Another line is served: every pair judged the old one (the guard's too: its main
        scores came from the line served before; judged on them, a bad promotion by hand
        would clear the guard on the old line's record)."""
        self._champion = self.join.serving = line
        self.join.reset("challenger")
        self.join.reset("baseline")
        self.served_drift.reset()

    def _compare(self, key: Key, confidence: float) -> Comparison | None:
        tally, metric = self.join.tally(key), self.join.metric
        if tally is None or metric is None:
            return None
        cached = self._cache.get(key)
        if cached is not None and cached[0] == tally.stamp and _same(cached[1], confidence):
            return cached[1]
        cmp = compare(tally.losses, metric, confidence)
        self._cache[key] = (tally.stamp, cmp)
        return cmp

    # -- the gate ---------------------------------------------------------------------------

    def _gate(self, view: View) -> tuple[list[dict[str, Any]], bool]:
        policy = self.lifecycle.promotion
        confidence = policy.confidence if policy is not None else DEFAULT_CONFIDENCE
        entries, promoted = [], False
        for line, version in view.challengers.items():
            key: Key = ("challenger", line)
            cmp = self._compare(key, confidence)
            row = entry(self.join, key, version, cmp)
            if self.join.metric is None:
                row |= {"state": "off", "reason": f"no metric of {self.metrics} pairs"}
            elif policy is None:
                row |= {"state": "off", "reason": "automatic promotion is off"}
            else:
                verdict = gate(policy, cmp)
                row |= verdict.as_dict()
                if verdict.state == "promote" and not promoted:
                    row["reason"] += self._promote(view, line, version, policy, cmp)
                    promoted = self._champion == line
            entries.append(row)
        return entries, promoted

    def _promote(
        self,
        view: View,
        line: str,
        version: int | None,
        policy: PromotionPolicy,
        cmp: Comparison | None,
    ) -> str:
        """Promote `line`; returns what to add to its reason when it was not."""
        if view.held:
            return "; not promoted: held since an automatic rollback, until an operator promotes"
        if version is None or cmp is None:
            return f"; not promoted: {line} has no current version"
        proof = evidence(cmp, policy, line=line, version=version, replaced=view.champion)
        proof["replaced_version"] = view.served
        reason = f"promotion gate: challenger better by {cmp.difference:.3g} on {cmp.n} events"
        self.lineup.promote(self.model, line, version, reason, ACTOR, proof)
        log.warning(
            "promoted %s v%d over %s v%s: %s", line, version, view.champion, view.served, reason
        )
        self._acted("promote", line, version, reason, proof)
        self._new_champion(line)
        if view.served is not None:  # the guard compares the new champion with what it replaced
            self.lineup.set_baseline(self.model, view.champion, view.served)
            self.join.set_baseline(view.champion, view.served)
        return ""

    # -- the guard --------------------------------------------------------------------------

    def _guard(self, view: View) -> dict[str, Any]:
        policy, base, served = self.lifecycle.guard, view.baseline, view.served
        out: dict[str, Any] = {
            "served": None if served is None else {"line": view.champion, "version": served},
            "baseline": None if base is None else asdict(base),
        }
        if policy is None:
            return out | {"state": "off", "reason": "automatic rollback is off"}
        if served is None:
            return out | {"state": "idle", "reason": f"{view.champion} has no current version"}
        if base is None:
            self.lineup.set_baseline(self.model, view.champion, served)
            self.join.set_baseline(view.champion, served)
            return out | {"state": "idle", "reason": f"baseline set: {view.champion} v{served}"}
        if (base.line, base.version) == (view.champion, served):
            return out | {"state": "idle", "reason": "serving the baseline"}
        if self.join.metric is None:
            return out | {"state": "off", "reason": f"no metric of {self.metrics} pairs"}
        key: Key = ("baseline", base.line)
        verdict = guard(policy, self._compare(key, policy.confidence))
        out |= entry(self.join, key, base.version, verdict.comparison) | verdict.as_dict()
        if verdict.state == "rollback":
            out["reason"] += self._rollback(view, base, policy, verdict)
        elif verdict.state == "cleared":
            self.lineup.set_baseline(self.model, view.champion, served)
            self.join.set_baseline(view.champion, served)
            log.info("%s v%d cleared the rollback guard: %s", view.champion, served, verdict.reason)
        return out

    def _rollback(
        self, view: View, base: Baseline, policy: GuardPolicy, verdict: GuardVerdict
    ) -> str:
        """Roll back to `base`; returns what to add to the guard's reason when it was not."""
        cmp = verdict.comparison
        assert cmp is not None  # a rollback verdict judged events
        proof = evidence(cmp, policy, line=base.line, version=base.version, replaced=view.champion)
        proof["replaced_version"] = view.served
        reason = f"rollback guard: served worse by {-cmp.difference:.3g} on {cmp.n} events"
        outcome = self.lineup.rollback(self.model, base, reason, ACTOR, proof)
        if outcome != "ok":
            if self._refused != (base.line, base.version):
                self._refused = (base.line, base.version)
                log.error(
                    "cannot roll %s back to %s v%d: the registry says %r (no longer stored?)",
                    self.model,
                    base.line,
                    base.version,
                    outcome,
                )
            return f"; not rolled back: the registry says {outcome!r}"
        log.warning(
            "rolled %s back from %s v%s to %s v%d: %s",
            self.model,
            view.champion,
            view.served,
            base.line,
            base.version,
            reason,
        )
        self._acted("rollback", base.line, base.version, reason, proof)
        self.join.reset("baseline")
        if base.line != view.champion:
            self._new_champion(base.line)
        return ""

    # -- drift, records ---------------------------------------------------------------------

    def _watch_served(self) -> None:
        line, errors = self._champion or self.model, self.join.served_errors
        while errors:
            shift = self.served_drift.update(errors.popleft())
            if shift is None:
                continue
            event = drift_event(self.model, line, shift, self.join.served_through)
            self.drifts += 1
            log.warning(
                "the served error of %s (%s) rose from %.3f to %.3f (%s, %d errors seen)",
                self.model,
                line,
                shift.error_before,
                shift.error_after,
                DETECTOR,
                shift.n_seen,
            )
            try:
                self.publish_drift(event)
            except FAILURES as exc:
                log.warning("cannot publish the drift of %s (%s)", self.model, exc)
            self._pending.append(("drift", event.model_dump(mode="json")))

    def _acted(
        self, kind: str, line: str, version: int, reason: str, proof: dict[str, Any]
    ) -> None:
        self.actions[kind] += 1
        body = {"kind": kind, "at": time.time(), "line": line, "version": version}
        self._pending.append(("action", body | {"reason": reason, "evidence": proof}))

    def _flush_pending(self) -> None:
        while self._pending:
            part, body = self._pending[0]
            self.lineup.write(self.model, part, body)
            self._pending.pop(0)


def _same(cmp: Comparison | None, confidence: float) -> bool:
    return cmp is None or abs(cmp.confidence - confidence) < 1e-12
