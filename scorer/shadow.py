"""Shadow scoring: the model's challenger lines and its baseline score what the champion scored,
to `lazarus.shadow_scores.v1`, never served.

A scorer keeps each challenger line's `current` and the rollback guard's baseline opened
(`ShadowWatcher`, a `lazarus.registry.lineup_follow.LineupFollower`). After the champion's
scores of a batch, `ShadowScorer.score` scores the same featurized inputs (those the champion
scored: a pair needs both halves) with each of them, skipping one that is the version served.
A shadow score names the line as its `model`, with `shadow_of` (the model) and `role`; its id
is `score_id(input_id, line + "|" + role)` (`scorer.render`: never a served score's id). A shadow
prediction that fails, or that a score cannot carry, is counted (`failed`) and skipped: the
input was scored, so nothing is dead-lettered and the champion never stops. The scores go
through the batch's ledger like the champion's (`scorer.scoring`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence

from lazarus.registry.follower import Offer
from lazarus.registry.lineup_follow import LineupFollower, Shadow, ShadowRole
from lazarus.registry.signing import Verifier
from lazarus.schemas.base import Features
from lazarus.schemas.contract import ModelContract
from lazarus.scorer.predictors import predict_checked
from lazarus.scorer.serving import ServingModel, opener_for

log = logging.getLogger("lazarus.scorer.app")

Shadows = tuple[Shadow[ServingModel], ...]
Output = tuple[str, str | bytes | None, bytes]
"""(topic, key, value), as the publisher is given it."""
ShadowInput = tuple[str, str, Features]
"""(input event id, subject, features) of one input the champion scored."""


class ShadowWatcher(LineupFollower[ServingModel]):
    """Follows `spec`'s challengers and baseline and opens each new version for the scoring loop
    (`take()` between batches), with `spec`'s fingerprint, task, labels and `min_learned`."""

    def __init__(
        self,
        redis_url: str,
        prefix: str,
        spec: ModelContract,
        verifier: Verifier,
        poll_s: float,
        *,
        notifications: bool = True,
        modules: Iterable[str] = (),
    ) -> None:
        super().__init__(
            redis_url,
            prefix,
            spec.name,
            opener_for(spec, verifier, modules),
            poll_s,
            notifications=notifications,
            name=f"shadow-watcher-{spec.name}",
        )


class ShadowScorer:
    """Renders shadow scores into `topic`; counts them by (line, role), and the failures."""

    def __init__(self, topic: str) -> None:
        self.topic = topic
        self.published: dict[tuple[str, ShadowRole], int] = {}
        """Shadow scores handed to the producer, by (line, role), less those refused for good."""
        self.failed = 0
        """Shadow predictions that failed or were not finite, and shadow scores refused."""
        self._reported: set[Offer] = set()

    @property
    def total(self) -> int:
        return sum(self.published.values())

    def score(
        self,
        shadows: Sequence[Shadow[ServingModel]],
        served: Offer,
        items: list[ShadowInput],
        scored_at: str,
        latency_ms: float,
    ) -> list[Output]:
        """The (topic, key, value) of each shadow score of `items` by each of `shadows` but the
        one that is the `served` (line, version); never raises for a model's sake."""
        out: list[Output] = []
        if not items:
            return out
        xs = [x for _, _, x in items]
        topic = self.topic
        for shadow in shadows:
            if shadow.offer == served:
                continue  # the baseline is what is served again (after a rollback): no pair
            render = shadow.opened.renderer.render
            before = len(out)
            results = predict_checked(shadow.opened.predict, xs)
            for (input_id, subject, _), result in zip(items, results, strict=True):
                try:
                    if isinstance(result, Exception):
                        raise result
                    _, value = render(
                        input_id, subject, result[0], result[1], scored_at, latency_ms
                    )
                except Exception as exc:  # a shadow must never stop the champion
                    self._failed(shadow, exc)
                    continue
                out.append((topic, subject, value))
            key = (shadow.line, shadow.role)
            self.published[key] = self.published.get(key, 0) + len(out) - before
        return out

    def _failed(self, shadow: Shadow[ServingModel], exc: Exception) -> None:
        self.failed += 1
        if shadow.offer not in self._reported:  # once per version: it may fail on every input
            self._reported.add(shadow.offer)
            log.warning(
                "shadow %s v%d (%s) could not score an input: %s; counted in shadow_failed, "
                "the champion's score stands",
                shadow.line,
                shadow.version,
                shadow.role,
                exc,
            )

    def refused(self, value: bytes) -> None:
        """A shadow score the broker refused for good (its input was scored: it is not
        dead-lettered): counted as failed, no longer as published."""
        self.failed += 1
        try:
            score = json.loads(value)
            key = (str(score["model"]), score["role"])
        except (ValueError, KeyError, TypeError):
            return
        if self.published.get(key):
            self.published[key] -= 1

    def keep(self) -> tuple[dict[tuple[str, ShadowRole], int], int]:
        """The counts now, for `restore` (exactly-once: an aborted batch delivered nothing)."""
        return dict(self.published), self.failed

    def restore(self, kept: tuple[dict[tuple[str, ShadowRole], int], int]) -> None:
        published, self.failed = kept
        for key in list(self.published):  # in place: a scrape may be reading it
            self.published[key] = published.get(key, 0)


def listed(shadows: Shadows) -> str:
    """'habitat.fresh v7 (challenger), habitat v40 (baseline)'; '' for none."""
    return ", ".join(f"{s.line} v{s.version} ({s.role})" for s in shadows)
