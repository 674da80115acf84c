"""A model built from the user's own code (`tests.custom_models`), through the real broker and
Redis: listed in LAZARUS_SNAPSHOT_MODULES it is published, served and verified; unlisted, the
trainer refuses it in its first second and scorers and `models verify` refuse its snapshots."""

from __future__ import annotations

from lazarus.registry.signing import signer_from, verifier_from
from lazarus.schemas.topics import SENSOR_READINGS
from lazarus.scorer.serving import ServingModel, SnapshotWatcher
from lazarus.settings import Settings
from lazarus.trainer.app import Cadence, TrainerApp
from tests.custom_models import MODULE, make_spec
from tests.integration.cli import cli_env, lazarus
from tests.integration.kafkatools import read_all, value_of
from tests.integration.scorerkit import wait_until
from tests.integration.trainerkit import (
    log_ends,
    produce_sensors,
    run_to_end,
    store_of,
    topics_of,
    with_keys,
)

SPEC = "tests.custom_models:make_spec"


def watcher(s: Settings, modules: tuple[str, ...]) -> SnapshotWatcher:
    """A scorer's snapshot follower with its own LAZARUS_SNAPSHOT_MODULES, started."""
    follower = SnapshotWatcher(
        s.redis_url_value,
        s.redis_key_prefix,
        make_spec().contract,
        verifier_from(s),
        0.2,
        modules=modules,
    )
    follower.start()
    return follower


def test_a_listed_module_is_published_served_and_verified(
    settings: Settings, topics: list[str]
) -> None:
    s = with_keys(settings).with_overrides(snapshot_modules=MODULE)
    produce_sensors(s, 400, fault_rate=0.0)
    spec, store = make_spec(), store_of(s)
    app = TrainerApp(s, spec, store, signer_from(s), cadence=Cadence(1000, 60))
    app.start(30)
    run_to_end(app, log_ends(s, topics_of(s)))
    assert app.stop() == 0
    version = store.current("centroid")
    manifest = store.manifest("centroid", version) if version else None
    assert manifest is not None and manifest.snapshot_modules == (MODULE,)
    assert manifest.n_learned > 300

    allowed, unlisted = watcher(s, (MODULE,)), watcher(s, ())
    served: list[ServingModel] = []

    def loaded() -> bool:
        opened = allowed.take()
        if opened is not None:
            served.append(opened)
        return bool(served)

    try:
        wait_until(loaded, 30, "the allowed scorer to load the version")
        wait_until(lambda: version in unlisted.stats.refused_versions, 30, "a refusal")
    finally:
        allowed.stop()
        unlisted.stop()
    assert served[0].version == version
    readings = read_all(s, SENSOR_READINGS.full(s.topic_prefix), expect=20)
    xs = [SENSOR_READINGS.decode(value_of(m)).to_features() for m in readings[:20]]  # type: ignore[attr-defined]
    trained = app.learner.state.model
    for x, (prediction, proba) in zip(xs, served[0].predict(xs), strict=True):
        assert proba == trained.predict_proba_one(x) and prediction == trained.predict_one(x)
    reason = unlisted.stats.refused_versions[version]
    assert f"module {MODULE}" in reason and "LAZARUS_SNAPSHOT_MODULES" in reason

    checked = lazarus("models", "verify", "centroid", env=cli_env(s))
    assert checked.returncode == 0 and f"v{version}: ok" in checked.stdout, checked.stderr
    unlisted_env = cli_env(s, LAZARUS_SNAPSHOT_MODULES="")
    refused = lazarus("models", "verify", "centroid", env=unlisted_env)
    assert refused.returncode == 1 and f"v{version}: FAILED" in refused.stdout
    assert MODULE in refused.stdout and "LAZARUS_SNAPSHOT_MODULES" in refused.stdout


def test_an_unlisted_module_stops_the_trainer_at_start_with_one_line(settings: Settings) -> None:
    s = with_keys(settings)
    result = lazarus("train", SPEC, "--timeout", "5", env=cli_env(s))
    assert result.returncode == 2, result.stderr
    line = result.stderr.strip()
    assert "\n" not in line, line
    assert "cannot train centroid: scorers would refuse its model" in line
    assert f"{MODULE}." in line and "add its module to LAZARUS_SNAPSHOT_MODULES" in line
    assert store_of(s).versions("centroid") == []
