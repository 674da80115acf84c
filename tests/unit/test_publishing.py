"""The trainer's publisher: a lost reply is retried with the same bytes, versions never skip."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import redis

from lazarus.producers.sensor_sim import SensorNetwork, SimConfig
from lazarus.registry.retention import Retention
from lazarus.registry.sealing import SealedSnapshot
from lazarus.registry.signing import generate, parse_private
from lazarus.registry.store import MemorySnapshotStore, PublishResult
from lazarus.schemas import Outcome
from lazarus.schemas.topics import SENSOR_READINGS
from lazarus.trainer.learner import Learner
from lazarus.trainer.publishing import SnapshotPublisher, restore
from lazarus.trainer.specs import habitat


class LosesReplies(MemorySnapshotStore):
    """Stores the snapshot, then 'loses' the reply, `lose` times."""

    lose = 1

    def publish(
        self,
        model: str,
        version: int,
        sealed: SealedSnapshot,
        keep: Retention | int,
        *,
        servable: bool = True,
    ) -> PublishResult:
        result = super().publish(model, version, sealed, keep, servable=servable)
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


def test_a_version_that_learned_nothing_is_stored_but_never_current() -> None:
    store = MemorySnapshotStore()
    signer = parse_private(generate()[0])
    spec = habitat()
    assert spec.min_learned == 1
    learner = Learner(spec)
    publisher = SnapshotPublisher(store, spec, signer, 1, keep=5)
    for i in range(5):  # features waiting for their labels: the join buffer, nothing learned
        learner.observe_features(SENSOR_READINGS.decode(reading(i)), i)  # type: ignore[arg-type]
        learner.advance("t", 0, i)
    first = publisher.publish(learner)
    assert first is not None and first.version == 1 and first.n_learned == 0
    assert store.versions("habitat") == [1] and store.current("habitat") is None
    resumed, next_version = restore(store, spec, signer, from_beginning=False)  # after a crash
    assert next_version == 2 and len(resumed.state.join.entries) == 5  # the buffer survived
    learn(resumed, 20, start=5)
    second = publisher.publish(resumed)
    assert second is not None and second.n_learned >= spec.min_learned
    assert store.current("habitat") == 2


def test_the_minimum_is_configurable_and_restore_takes_the_newest_stored() -> None:
    store = MemorySnapshotStore()
    signer = parse_private(generate()[0])
    learner = Learner(habitat())
    publisher = SnapshotPublisher(store, habitat(), signer, 1, keep=5, min_learned=100)
    learn(learner, 60)
    assert publisher.publish(learner) is not None
    assert store.current("habitat") is None  # 60 < 100
    learn(learner, 60, start=60)
    third = publisher.publish(learner)
    assert third is not None and third.version == 2 and third.n_learned == 120
    assert store.current("habitat") == 2
    # a stricter trainer later: stored versions below its minimum do not move `current`...
    stricter = SnapshotPublisher(store, habitat(), signer, 3, keep=5, min_learned=10_000)
    learn(learner, 30, start=120)
    assert stricter.publish(learner) is not None
    assert (store.latest("habitat"), store.current("habitat")) == (3, 2)
    # ...but a restart resumes from the newest stored version, current or not
    resumed, next_version = restore(store, habitat(), signer, from_beginning=False)
    assert next_version == 4 and resumed.state.n_learned == 150


def reading(i: int) -> bytes:
    stream = SensorNetwork(SimConfig(seed=4, fault_rate=0), datetime(2026, 1, 1, tzinfo=UTC))
    return next(itertools.islice(stream, i, i + 1))[1]
