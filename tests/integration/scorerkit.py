"""Helpers for scorer tests: signed model versions in Redis, a scorer running in a thread,
input on the broker, and what came out."""

from __future__ import annotations

import contextlib
import itertools
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from lazarus.kafka.config import producer_config
from lazarus.kafka.producer import Publisher
from lazarus.producers.sensor_sim import SensorNetwork, SimConfig
from lazarus.registry.sealing import SealedSnapshot
from lazarus.registry.signing import Signer, signer_from, verifier_from
from lazarus.schemas import Outcome
from lazarus.schemas.contract import ModelContract
from lazarus.schemas.manifest import SnapshotManifest
from lazarus.schemas.models import HABITAT
from lazarus.schemas.scores import Score
from lazarus.schemas.topics import HABITAT_SCORES, SENSOR_READINGS
from lazarus.scorer.app import ScorerApp
from lazarus.settings import Settings
from lazarus.trainer.learner import Learner
from lazarus.trainer.publishing import SnapshotPublisher
from lazarus.trainer.specs import habitat
from tests.integration.kafkatools import read_all
from tests.integration.trainerkit import START, store_of


class ModelMaker:
    """Trains a habitat learner in memory and publishes signed versions of it, as a trainer would;
    `line`: as another line of habitat (a challenger's registry name), else habitat's own."""

    def __init__(self, settings: Settings, seed: int = 11, line: str | None = None) -> None:
        self.settings = settings
        self.signer: Signer = signer_from(settings)
        self.spec = habitat() if line is None else habitat().replace(name=line)
        self.learner = Learner(self.spec)
        self._stream = iter(
            SensorNetwork(SimConfig(seed=seed, fault_rate=0.0, label_delay_s=0), START)
        )
        self._n = 0
        store = store_of(settings)
        self.publisher = SnapshotPublisher(
            store, self.spec, self.signer, store.latest(self.spec.name) + 1, keep=10
        )

    def learn(self, n: int) -> None:
        for _, raw, out in itertools.islice(self._stream, n):
            event = SENSOR_READINGS.decode(raw)
            self.learner.observe_features(event, 0)
            if out is not None:
                self.learner.observe_outcome(Outcome.model_validate_json(out))
            self._n += 1
            self.learner.advance("sim", 0, self._n)

    def publish(self, learn: int = 500) -> SnapshotManifest:
        self.learn(learn)
        manifest = self.publisher.publish(self.learner)
        assert manifest is not None
        return manifest

    def sealed_next(self, learn: int = 200) -> tuple[SealedSnapshot, int]:
        """A correctly signed next version that is NOT published (tests tamper with it)."""
        from lazarus.registry.sealing import seal

        self.learn(learn)
        version = self.publisher.next_version
        sealed, _ = seal(
            self.learner.state,
            self.publisher._fields(self.learner),
            self.signer,
            serving=self.learner.state.model,
        )
        return sealed, version

    def force(self, sealed: SealedSnapshot, version: int) -> None:
        """Store whatever bytes we are given as `version` (the store does not verify; scorers do)."""
        result = store_of(self.settings).publish(self.spec.name, version, sealed, 10)
        assert result.outcome == "ok", result
        self.publisher.next_version = version + 1


@contextmanager
def running_scorer(
    settings: Settings,
    contract: ModelContract = HABITAT,
    *,
    app_type: type[ScorerApp] = ScorerApp,
    **kwargs: Any,
) -> Iterator[ScorerApp]:
    """A ScorerApp (or `app_type`, e.g. a per-key model's `KeyedScorerApp`) stepping in a
    background thread until the block ends; then a clean stop."""
    app = app_type(settings, contract, verifier_from(settings), **kwargs)
    app.start(30)
    stop = threading.Event()
    errors: list[BaseException] = []

    def loop() -> None:
        try:
            if app.wait_for_model(stop.is_set):
                app.subscribe()
                while not stop.is_set():
                    app.step()
        except BaseException as exc:  # surfaced to the test below
            errors.append(exc)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield app
    finally:
        stop.set()
        thread.join(30)
        app.stop()
    assert not errors, errors


def wait_until(predicate: Any, timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def send_sensors(
    settings: Settings,
    count: int,
    *,
    seed: int = 21,
    fault_rate: float = 0.0,
    start: datetime = START,
) -> list[str]:
    """`count` readings on the input topic (no outcomes); returns the event ids of the valid ones."""
    publisher = Publisher(producer_config(settings)).start(10)
    stream = SensorNetwork(SimConfig(seed=seed, fault_rate=fault_rate, label_delay_s=0), start)
    topic = SENSOR_READINGS.full(settings.topic_prefix)
    ids = []
    batch: list[tuple[str, str | bytes | None, bytes]] = []
    for key, raw, _ in itertools.islice(stream, count):
        batch.append((topic, key, raw))
        with contextlib.suppress(ValueError):
            ids.append(SENSOR_READINGS.decode(raw).event_id)
    publisher.publish_many(batch)
    counts = publisher.close(30)
    assert counts.failed == 0
    return ids


def send_raw(settings: Settings, values: list[bytes]) -> None:
    publisher = Publisher(producer_config(settings)).start(10)
    for v in values:
        publisher.publish(SENSOR_READINGS.full(settings.topic_prefix), "site-x", v)
    assert publisher.close(30).failed == 0


def scores(settings: Settings, expect: int | None = None, timeout: float = 60.0) -> list[Score]:
    msgs = read_all(
        settings, HABITAT_SCORES.full(settings.topic_prefix), expect=expect, timeout=timeout
    )
    return [Score.model_validate_json(m.value() or b"") for m in msgs]
