"""The trainer's publisher: a lost reply is retried with the same bytes, versions never skip."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import redis

from lazarus.signing import generate, parse_private
from lazarus.snapshot import SealedSnapshot
from lazarus.snapshot_store import MemorySnapshotStore, PublishResult
from producers.sensor_sim import SensorNetwork, SimConfig
from schemas import Outcome
from schemas.topics import SENSOR_READINGS
from trainer.learner import Learner
from trainer.snapshots import SnapshotPublisher
from trainer.specs import habitat


class LosesReplies(MemorySnapshotStore):
    """Stores the snapshot, then 'loses' the reply, `lose` times."""

    lose = 1

    def publish(self, model: str, version: int, sealed: SealedSnapshot, keep: int) -> PublishResult:
        result = super().publish(model, version, sealed, keep)
        if self.lose:
            self.lose -= 1
            raise redis.TimeoutError("reply lost")
        return result


def learn(learner: Learner, n: int, start: int = 0) -> None:
    stream = SensorNetwork(SimConfig(seed=4, fault_rate=0), datetime(2026, 1, 1, tzinfo=UTC))
    for i, (_, raw, out) in enumerate(itertools.islice(stream, start, start + n), start=start):
        learner.observe_features(SENSOR_READINGS.decode(raw), i)  # type: ignore[arg-type]
        learner.observe_outcome(Outcome.model_validate_json(out))  # type: ignore[arg-type]
        learner.advance("t", 0, i)


def test_a_lost_reply_is_retried_with_the_same_bytes() -> None:
    store = LosesReplies()
    learner = Learner(habitat())
    publisher = SnapshotPublisher(store, habitat(), parse_private(generate()[0]), 1, keep=5)
    learn(learner, 50)
    assert publisher.publish(learner) is None  # stored, but we never heard back
    learn(learner, 50, start=50)  # the trainer keeps learning meanwhile
    publisher._retry_at = 0.0
    first = publisher.publish(learner)
    assert (
        first is not None and first.version == 1 and first.n_learned == 50
    )  # "exists": the same v1
    second = publisher.publish(learner)
    assert second is not None and second.version == 2 and second.n_learned == 100
    assert store.versions("habitat") == [1, 2]
