"""Shadow scoring's pure parts: challenger and baseline scores rendered and identified apart
from the served ones, a line's version opened under its own name with the model's contract, a
batch scored by the champion and then in shadow through the same ledger batch, and shadow
failures that never dead-letter an input."""

from __future__ import annotations

import itertools
import math
from datetime import UTC, datetime
from typing import Any, cast

import pytest
from confluent_kafka import KafkaError, Message

from lazarus.dead_letters.sink import DeadLetterSink
from lazarus.errors import SnapshotRejected
from lazarus.kafka.ledger import Ledger
from lazarus.kafka.producer import Publisher
from lazarus.producers.sensor_sim import SensorNetwork, SimConfig
from lazarus.registry.lineup_follow import Shadow, ShadowRole
from lazarus.registry.sealing import environment, seal
from lazarus.registry.signing import Signer, generate, parse_private
from lazarus.schemas.models import HABITAT
from lazarus.schemas.scores import Score, score_id
from lazarus.schemas.topics import SENSOR_READINGS
from lazarus.scorer.checkpoint import ScorerCheckpoint
from lazarus.scorer.render import ScoreRenderer
from lazarus.scorer.scoring import BatchScorer
from lazarus.scorer.serving import ServingModel, describe_swap, open_snapshot, opener_for
from lazarus.scorer.shadow import listed
from lazarus.testing import TestingSink
from lazarus.trainer.specs import habitat

AT = datetime(2026, 5, 1, 12, tzinfo=UTC).isoformat()
SIGNER: Signer = parse_private(generate()[0])
START = datetime(2026, 1, 1, tzinfo=UTC)
INPUTS = SENSOR_READINGS.full("")


def readings(n: int, seed: int) -> list[tuple[str, bytes, bytes | None]]:
    stream = SensorNetwork(SimConfig(seed=seed, fault_rate=0.0, label_delay_s=0), START)
    return [(key, raw, out) for key, raw, out in itertools.islice(stream, n)]


def trained(seed: int, n: int = 600) -> Any:
    model = habitat().pipeline()
    for _, raw, outcome in readings(n, seed):
        x = SENSOR_READINGS.decode(raw).to_features()  # type: ignore[attr-defined]
        model.learn_one(x, b'"label":true' in (outcome or b""))
    return model


def sealed(model: Any, line: str, version: int, *, learned: int = 600) -> Any:
    fields: dict[str, Any] = {
        "model": line,
        "version": version,
        "created_at": datetime.now(UTC),
        "n_learned": learned,
        "metrics": {},
        "rolling_metrics": {},
        "trained_through": {"t:0": learned + version},
        "join": dict.fromkeys(
            (
                "pending",
                "joined",
                "expired",
                "evicted",
                "unmatched",
                "duplicate_outcomes",
                "duplicate_features",
            ),
            0,
        ),
        "invalid_events": 0,
        "schema_fingerprint": HABITAT.fingerprint,
        "environment": environment(),
        "pipeline": "StandardScaler | LogisticRegression",
    }
    return seal({"state": "not for scorers"}, fields, SIGNER, serving=model)[0]


OPEN = opener_for(HABITAT, SIGNER.verifier, ())
CHAMPION, FRESH, OLD = trained(3), trained(4, 300), trained(5, 200)


def shadow(model: Any, line: str, version: int, role: ShadowRole) -> Shadow[ServingModel]:
    return Shadow(line, role, version, OPEN(sealed(model, line, version), line, version, role))


# -- rendering and opening ------------------------------------------------------------------


def test_shadow_scores_name_their_line_role_and_model_and_never_share_an_id() -> None:
    served = ScoreRenderer("habitat", 41, {"t:0": 12})
    fresh = ScoreRenderer("habitat.fresh", 7, {"t:0": 9}, shadow_of="habitat", role="challenger")
    base = ScoreRenderer("habitat", 40, {"t:0": 8}, shadow_of="habitat", role="baseline")
    scores = [
        Score.model_validate_json(r.render("sensor-1-9", "site-4", True, None, AT, 1.0)[1])
        for r in (served, fresh, base)
    ]
    main, challenger, baseline = scores
    assert (main.model, main.shadow_of, main.role) == ("habitat", None, None)
    assert (challenger.model, challenger.shadow_of, challenger.role) == (
        "habitat.fresh",
        "habitat",
        "challenger",
    )
    assert (baseline.model, baseline.shadow_of, baseline.role) == ("habitat", "habitat", "baseline")
    assert challenger.event_id == score_id("sensor-1-9", "habitat.fresh|challenger")
    assert baseline.event_id == score_id("sensor-1-9", "habitat|baseline")
    assert len({s.event_id for s in scores}) == 3
    raw = served.render("sensor-1-9", "site-4", True, None, AT, 1.0)[1]
    assert b"shadow_of" not in raw and b'"role"' not in raw  # the served bytes are as before


def test_a_line_is_opened_under_its_own_name_with_the_models_contract() -> None:
    snapshot = sealed(FRESH, "habitat.fresh", 7)
    promoted = OPEN(snapshot, "habitat.fresh", 7, None)
    assert (promoted.line, promoted.version) == ("habitat.fresh", 7)
    raw = promoted.renderer.render("sensor-1-9", "site-4", True, None, AT, 1.0)[1]
    score = Score.model_validate_json(raw)  # served on habitat's topic: habitat's id
    assert score.model == "habitat" and score.event_id == score_id("sensor-1-9", "habitat")
    assert score.model_version == 7 and score.trained_through == {"t:0": 607}
    with pytest.raises(SnapshotRejected):  # a version is what it is stored as, nothing else
        OPEN(snapshot, "habitat", 7, None)
    with pytest.raises(SnapshotRejected, match="schema fingerprint"):
        open_snapshot(
            snapshot,
            SIGNER.verifier,
            model="habitat",
            line="habitat.fresh",
            version=7,
            fingerprint="0" * 64,
            task="classification",
        )


def test_a_swap_of_line_says_why_and_what_was_served() -> None:
    old = OPEN(sealed(CHAMPION, "habitat", 41), "habitat", 41, None)
    new = OPEN(sealed(FRESH, "habitat.fresh", 7), "habitat.fresh", 7, None)
    line = describe_swap(new, old, "promoted", 3.14)
    assert line.startswith("serving habitat.fresh v7 (promoted; was habitat v41): folded linear")
    assert line.endswith("loaded in 3.1 ms")
    first = describe_swap(old, None, "", 1.0)
    assert first.startswith("serving habitat v41: folded linear, learned 600")
    newer = OPEN(sealed(CHAMPION, "habitat", 42), "habitat", 42, None)
    assert describe_swap(newer, old, "", 1.0).startswith("serving habitat v42 (was v41):")


# -- a batch: champion, then shadows, through one ledger batch -------------------------------


class LaterSink(TestingSink):
    """A publisher whose acknowledgements wait until `ack_all()`, as the broker's do."""

    def __init__(self) -> None:
        super().__init__()
        self.waiting: list[tuple[Any, Message]] = []

    def publish_many(self, messages: Any, on_delivery: Any = None, timestamps: Any = None) -> None:
        for topic, key, value in messages:
            msg = Message(
                topic=topic, key=key.encode() if isinstance(key, str) else key, value=value
            )
            self.messages.append(msg)
            self.waiting.append((on_delivery, msg))

    def publish(self, topic: str, key: Any, value: bytes, **kwargs: Any) -> None:
        self.publish_many([(topic, key, value)], kwargs.get("on_delivery"))

    def ack_all(self, topic: str | None = None) -> None:
        keep = []
        for on_delivery, msg in self.waiting:
            if topic is None or msg.topic() == topic:
                on_delivery(None, msg)
            else:
                keep.append((on_delivery, msg))
        self.waiting = keep


def batch_scorer(sink: TestingSink) -> BatchScorer:
    publisher = cast(Publisher, sink)
    return BatchScorer(
        {INPUTS: SENSOR_READINGS},
        "scores",
        publisher,
        DeadLetterSink(publisher, "dead", "scorer"),
        lambda s: None,
        shadow_topic="shadow",
    )


def messages(n: int, seed: int = 8, bad: int = 0) -> list[Message]:
    out = [
        Message(topic=INPUTS, partition=0, offset=i, key=key.encode(), value=raw)
        for i, (key, raw, _) in enumerate(readings(n, seed))
    ]
    for i in range(bad):
        out.append(Message(topic=INPUTS, partition=0, offset=n + i, key=b"k", value=b"not json"))
    return out


def parsed(sink: TestingSink, topic: str) -> list[Score]:
    return [Score.model_validate_json(m.value() or b"") for m in sink.of(topic)]


def test_each_shadow_scores_what_the_champion_scored_and_offsets_wait_for_its_acks() -> None:
    sink = LaterSink()
    scorer = batch_scorer(sink)
    champion = OPEN(sealed(CHAMPION, "habitat", 41), "habitat", 41, None)
    shadows = (
        shadow(FRESH, "habitat.fresh", 7, "challenger"),
        shadow(OLD, "habitat", 40, "baseline"),
    )
    ledger = Ledger()
    published = scorer.score(champion, messages(120, bad=3), ledger.open, shadows)
    main, shadowed = parsed(sink, "scores"), parsed(sink, "shadow")
    assert published == len(main) == 120 and len(sink.of("dead")) == 3
    assert len(shadowed) == 2 * 120
    sink.ack_all("scores")
    sink.ack_all("dead")
    assert ledger.ready() == {}, "the input offsets wait for the shadow scores' acks too"
    sink.ack_all()
    assert ledger.ready() == {(INPUTS, 0): 123}
    by_line = {(s.model, s.role): [x for x in shadowed if (x.model, x.role) == (s.model, s.role)]
               for s in shadowed}  # fmt: skip
    fresh, base = by_line[("habitat.fresh", "challenger")], by_line[("habitat", "baseline")]
    assert [s.input_event_id for s in fresh] == [s.input_event_id for s in main]
    assert {(s.model_version, s.shadow_of) for s in fresh} == {(7, "habitat")}
    assert {(s.model_version, s.shadow_of) for s in base} == {(40, "habitat")}
    assert {s.event_id for s in base}.isdisjoint(s.event_id for s in main)
    x = SENSOR_READINGS.decode(readings(1, 8)[0][1]).to_features()  # type: ignore[attr-defined]
    assert fresh[0].probabilities is not None
    assert fresh[0].probabilities["True"] == pytest.approx(FRESH.predict_proba_one(x)[True])
    assert scorer.shadow.published == {
        ("habitat.fresh", "challenger"): 120,
        ("habitat", "baseline"): 120,
    }
    assert scorer.shadow.failed == 0


def test_without_shadows_a_batch_is_scored_as_before() -> None:
    sink = TestingSink()
    scorer = batch_scorer(sink)
    champion = OPEN(sealed(CHAMPION, "habitat", 41), "habitat", 41, None)
    ledger = Ledger()
    assert scorer.score(champion, messages(50), ledger.open) == 50
    assert sink.of("shadow") == [] and ledger.ready() == {(INPUTS, 0): 50}


def broken(xs: list[dict[str, float]]) -> list[Any]:
    """A shadow model that raises on soil readings and answers NaN on vegetation readings."""
    out: list[Any] = []
    for x in xs:
        if "kind_soil" in x:
            raise RuntimeError("a challenger bug")
        nan = {False: math.nan, True: math.nan}
        out.append((True, nan) if "kind_vegetation" in x else (False, {False: 0.6, True: 0.4}))
    return out


def test_a_failing_shadow_is_counted_and_never_dead_letters_or_stops_the_champion() -> None:
    sink = TestingSink()
    scorer = batch_scorer(sink)
    champion = OPEN(sealed(CHAMPION, "habitat", 41), "habitat", 41, None)
    good = shadow(FRESH, "habitat.fresh", 7, "challenger")
    base = OPEN(sealed(OLD, "habitat.bad", 2), "habitat.bad", 2, "challenger")
    bad = Shadow(
        "habitat.bad", "challenger", 2, ServingModel(base.manifest, None, broken, base.renderer)
    )
    ledger = Ledger()
    published = scorer.score(champion, messages(200), ledger.open, (bad, good))
    assert published == 200 and sink.of("dead") == []
    scored = scorer.shadow.published[("habitat.bad", "challenger")]
    assert 0 < scored < 200 and scorer.shadow.failed == 200 - scored
    assert scorer.shadow.published[("habitat.fresh", "challenger")] == 200
    assert len(sink.of("shadow")) == 200 + scored and ledger.ready() == {(INPUTS, 0): 200}


def test_the_version_served_is_not_scored_again_in_shadow() -> None:
    sink = TestingSink()
    scorer = batch_scorer(sink)
    served = OPEN(sealed(CHAMPION, "habitat", 41), "habitat", 41, None)
    again = shadow(CHAMPION, "habitat", 41, "baseline")  # after a rollback to the baseline
    scorer.score(served, messages(30), Ledger().open, (again,))
    assert sink.of("shadow") == [] and scorer.shadow.published == {}
    assert listed((again,)) == "habitat v41 (baseline)"


def test_a_shadow_score_refused_for_good_is_counted_not_dead_lettered() -> None:
    sink = TestingSink()
    scorer = batch_scorer(sink)
    publisher = cast(Publisher, sink)
    letters = DeadLetterSink(publisher, "dead", "scorer")
    refused_scores: list[int] = []
    checkpoint = ScorerCheckpoint(
        publisher,
        letters,
        lambda: refused_scores.append(1),
        shadows=("shadow", scorer.shadow.refused),
    )
    fresh = shadow(FRESH, "habitat.fresh", 7, "challenger")
    out = scorer.shadow.score(
        (fresh,), ("habitat", 41), [("sensor-1-9", "site-4", {"temperature_c": 1.0})], AT, 1.0
    )
    assert scorer.shadow.published == {("habitat.fresh", "challenger"): 1}
    ledger = Ledger()
    batch = ledger.open({(INPUTS, 0): 1}, 1)
    too_large = KafkaError(KafkaError.MSG_SIZE_TOO_LARGE)
    checkpoint.settle_failures([(batch, Message(topic="shadow", value=out[0][2], error=too_large))])
    assert batch.done and letters.count == 0 and not refused_scores
    assert scorer.shadow.published == {("habitat.fresh", "challenger"): 0}
    assert scorer.shadow.failed == 1
