"""Property tests: arbitrary bytes and arbitrary JSON through the trainer's and the scorer's
decode -> features -> predict/learn cores. The only outcome for a bad input is a dead letter;
nothing raises, no model state and no output is ever non-finite, and every score and
prequential record is strict JSON."""

from __future__ import annotations

import itertools
import json
import pickle
from datetime import UTC, datetime
from typing import Any, cast

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lazarus.producers.sensor_sim import SensorNetwork, SimConfig
from lazarus.schemas.topics import HABITAT_OUTCOMES, SENSOR_READINGS
from lazarus.scorer.predictors import predict_checked, predictor_for
from lazarus.scorer.render import ScoreRenderer
from lazarus.trainer.decoding import FEATURES, INVALID, LABEL, Decoder
from lazarus.trainer.finite import first_nonfinite
from lazarus.trainer.join import Joined
from lazarus.trainer.learner import Learner
from lazarus.trainer.prequential import PrequentialBatcher
from lazarus.trainer.rows import FeatureRow, RowMaker
from lazarus.trainer.specs import habitat
from tests.unit.test_decoding import OUT, READ, Msg, eof

START = datetime(2026, 1, 1, tzinfo=UTC)
SIM = list(
    itertools.islice(SensorNetwork(SimConfig(seed=9, fault_rate=0.0, label_delay_s=0), START), 400)
)
VALID = [(json.loads(raw), json.loads(out)) for _, raw, out in SIM if out is not None]


def _pretrained() -> bytes:
    learner = Learner(habitat())
    for i, (reading, outcome) in enumerate(VALID[:300]):
        learner.observe_features(SENSOR_READINGS.decode(json.dumps(reading).encode()), i)
        learner.label(
            "habitat_occupancy", outcome["event_ref"], outcome["subject"], i, outcome["label"]
        )
    return pickle.dumps(learner.state)


PRETRAINED = _pretrained()

json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)
extreme_floats = st.sampled_from(
    [1e200, -1e200, 1e308, 1.7976931348623157e308, 5e-324, -0.0, 1e12, 1e12 + 1, 1e154, 3e-308]
) | st.floats(allow_nan=False, allow_infinity=False)
skews = st.sampled_from([0, 1, 3_599_999, 3_600_001, 400 * 86_400_000, -400 * 86_400_000])


@st.composite
def mutated(draw: st.DrawFn) -> tuple[bytes, bytes, int]:
    """A valid reading and outcome with some fields replaced by arbitrary JSON or extreme
    numbers; and how far (ms) the event time runs ahead of the Kafka timestamp."""
    reading, outcome = (dict(d) for d in draw(st.sampled_from(VALID[300:])))
    reading["measurements"] = dict(reading["measurements"])
    for _ in range(draw(st.integers(0, 3))):
        where = draw(st.sampled_from(["measurement", "new measurement", "field", "label", "ref"]))
        measurements = reading.get("measurements")
        if where.endswith("measurement") and not (isinstance(measurements, dict) and measurements):
            continue  # replaced by an arbitrary value already
        if where == "measurement":
            name = draw(st.sampled_from(sorted(reading["measurements"])))
            reading["measurements"][name] = draw(extreme_floats | json_values)
        elif where == "new measurement":
            name = draw(
                st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True) | st.text(max_size=8)
            )
            reading["measurements"][name] = draw(extreme_floats | json_values)
        elif where == "field":
            reading[draw(st.sampled_from(sorted(reading)))] = draw(json_values)
        elif where == "label":
            outcome["label"] = draw(json_values | extreme_floats)
        else:
            outcome["event_ref"] = draw(json_values)
    return json.dumps(reading).encode(), json.dumps(outcome).encode(), draw(skews)


deep = st.sampled_from([b"[" * 200_000, b'{"event_id":' * 50_000, b'{"a":[' * 40_000])
"""Nesting deeper than any parser's recursion limit (RecursionError, not ValueError)."""
inputs = st.lists(
    mutated() | st.tuples(st.binary(max_size=200) | deep, st.binary(max_size=60) | deep, skews),
    min_size=1,
    max_size=12,
)


def _kafka_ms(raw: bytes, skew: int) -> int:
    try:
        at = datetime.fromisoformat(json.loads(raw)["event_time"])
        return int(at.timestamp() * 1000) - skew
    except Exception:
        return int(START.timestamp() * 1000)


def _strict(text: bytes) -> Any:
    def refuse(token: str) -> Any:
        raise AssertionError(f"{token} in {text[:200]!r}")

    return json.loads(text, parse_constant=refuse)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(inputs)
def test_the_trainer_core_dead_letters_or_learns_and_stays_finite(
    batch: list[tuple[bytes, bytes, int]],
) -> None:
    spec = habitat()
    decoder = Decoder(
        {READ: SENSOR_READINGS, OUT: HABITAT_OUTCOMES},
        OUT,
        [(READ, 0), (OUT, 0)],
        {READ: 0, OUT: 1},
        RowMaker.for_spec(spec),
    )
    msgs = []
    for i, (raw, out, skew) in enumerate(batch):
        ms = _kafka_ms(raw, skew)
        msgs += [Msg(READ, 0, i, ms, raw), Msg(OUT, 0, i, ms + 1, out)]
    decoder.add([*msgs, eof(READ, 0), eof(OUT, 0)])
    released = decoder.ready()
    assert len(released) == len(msgs)  # every message is a row or a dead letter
    learner = Learner(spec, pickle.loads(PRETRAINED))
    batcher = PrequentialBatcher(spec.name, spec.segment_fields)
    batcher.open("2026-01-01T00:00:00+00:00")
    for item in released:
        if item[0] == FEATURES:
            learner.hold(*cast(FeatureRow, item[4:]), item[3])
        elif item[0] == LABEL:
            result = learner.label(*item[4:])
            if isinstance(result, Joined):
                pred, proba = learner.last_prediction
                batcher.add(result.event_id, 0, item[-1], pred, proba, result.segment)
                _strict(batcher.close() or b"")
        else:
            assert item[0] == INVALID and isinstance(item[4].reason, str) and item[4].reason
    learner.checkpoint()
    assert first_nonfinite(learner.state.model) is None
    assert all(v is None or v == v for v in learner.state.evaluation.report()["overall"].values())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(inputs)
def test_the_scorer_core_dead_letters_or_scores_strict_json(
    batch: list[tuple[bytes, bytes, int]],
) -> None:
    spec = habitat()
    state = pickle.loads(PRETRAINED)
    rows = RowMaker.for_spec(spec)
    predict = predictor_for(state.model, spec.task)
    renderer = ScoreRenderer(spec.name, 1, {"t:0": 1})
    raws = [raw for raw, _, _ in batch]
    events = SENSOR_READINGS.decode_many(raws)
    scored = dead = 0
    feats, kept = [], []
    for event in events:
        if isinstance(event, Exception):
            dead += 1
            continue
        try:
            feats.append(rows.scoring_features(event))
            kept.append(event)
        except Exception:
            dead += 1
    for event, result in zip(kept, predict_checked(predict, feats), strict=True):
        if isinstance(result, Exception):
            dead += 1
            continue
        _, text = renderer.render(
            event.event_id, event.key, result[0], result[1], "2026-01-01T00:00:00+00:00", 1.0
        )
        doc = _strict(text)
        assert doc["input_event_id"] == event.event_id
        scored += 1
    assert scored + dead == len(batch)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.dictionaries(st.sampled_from(["a", "b", "x_c"]), extreme_floats, min_size=1),
            st.booleans(),
        ),
        min_size=1,
        max_size=40,
    )
)
def test_no_stream_of_finite_features_can_leave_the_model_non_finite(
    stream: list[tuple[dict[str, float], bool]],
) -> None:
    """The learner's guard, beyond what schemas allow (custom specs' features are unbounded)."""
    learner = Learner(habitat(), pickle.loads(PRETRAINED))
    for i, (x, y) in enumerate(stream):
        learner.hold(f"f{i}", "s", i, x, ("s",), i)
        result = learner.label("habitat_occupancy", f"f{i}", "s", i, y)
        if isinstance(result, Joined):
            _, proba = learner.last_prediction
            assert proba is None or json.dumps(proba, allow_nan=False)
    learner.checkpoint()
    assert first_nonfinite(learner.state.model) is None
    assert learner.state.n_learned + learner.state.model_failures >= len(stream) - len(
        learner.failures
    )
    # Every event was learned or left out (and reported), none twice, none lost.
    assert learner.state.model_failures == len(learner.failures)
    assert learner.state.n_learned == 300 + len(stream) - learner.state.model_failures
