"""Where the trainer's CPU goes per learned event, without a broker: the `habitat` trainer's
decoding stage and learner over the same simulated messages in memory, whole and part by part.

The whole: `Decoder.add` + `ready` (validate, featurize, merge) in consumed-size batches, then
`Dispatcher.learn` (join, test-then-train, metrics, prequential records into a real producer
that never connects). The parts: each stage alone over the same events, in µs per learned event
(river's predict + learn beside the learner's folded step, `trainer.folded`).

    python -m bench.trainer_parts [--events 200000] [--rounds 3] [--profile out.prof]
"""

from __future__ import annotations

import argparse
import cProfile
import itertools
import json
import statistics
import time
import zlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from confluent_kafka import Producer

from lazarus.dead_letters.sink import DeadLetterSink
from lazarus.gctune import tune_for_streaming
from lazarus.kafka.producer import Publisher
from lazarus.producers.sensor_sim import SensorNetwork, SimConfig
from lazarus.schemas.topics import HABITAT_OUTCOMES, SENSOR_READINGS
from lazarus.trainer.decoding import FEATURES, LABEL, Decoder
from lazarus.trainer.dispatch import Dispatcher
from lazarus.trainer.evaluation import Prequential
from lazarus.trainer.folded import folded_step
from lazarus.trainer.join import PendingJoin
from lazarus.trainer.learner import CHECKPOINT_EVERY, Learner
from lazarus.trainer.prequential import PrequentialBatcher
from lazarus.trainer.rows import RowMaker
from lazarus.trainer.specs import habitat

READ, OUT = "bench.habitat.sensor_readings.v1", "bench.habitat.outcomes.v1"
PARTITIONS = 4
BATCH = 2000


class Msg:
    __slots__ = ("_k", "_o", "_p", "_t", "_ts", "_v")

    def __init__(self, t: str, p: int, o: int, ts: int, k: bytes, v: bytes) -> None:
        self._t, self._p, self._o, self._ts, self._k, self._v = t, p, o, ts, k, v

    def error(self) -> Any:
        return None

    def topic(self) -> str:
        return self._t

    def partition(self) -> int:
        return self._p

    def offset(self) -> int:
        return self._o

    def timestamp(self) -> tuple[int, int]:
        return (1, self._ts)

    def key(self) -> bytes:
        return self._k

    def value(self) -> bytes:
        return self._v


class Eof(Msg):
    def error(self) -> Any:
        class E:
            def code(self) -> int:
                from confluent_kafka import KafkaError

                return KafkaError._PARTITION_EOF

        return E()


def _kafka_time(value: bytes) -> int:
    """The message's Kafka timestamp as a producer stamps it: its event time (ms)."""
    try:
        at = json.loads(value)["event_time"]
        return int(datetime.fromisoformat(at).timestamp() * 1000)
    except Exception:  # a faulty message: stamped like any other
        return 0


def messages(n: int) -> list[list[Msg]]:
    """Consumed batches as a consumer hands them: per partition, readings then outcomes."""
    sim = SensorNetwork(
        SimConfig(seed=5, fault_rate=0.002, label_delay_s=0), datetime(2026, 1, 1, tzinfo=UTC)
    )
    offsets: dict[tuple[str, int], int] = {}
    per: dict[tuple[str, int], list[Msg]] = {}
    for key, raw, out in itertools.islice(sim, n):
        k = key.encode() if isinstance(key, str) else key
        p = zlib.crc32(k) % PARTITIONS
        for topic, value in ((READ, raw), (OUT, out)):
            if value is None:
                continue
            ts = _kafka_time(value)
            o = offsets.get((topic, p), 0)
            offsets[(topic, p)] = o + 1
            per.setdefault((topic, p), []).append(Msg(topic, p, o, ts, k, value))
    # interleave partitions in chunks of BATCH/ (topics * partitions), as fetches come
    chunk = BATCH // (2 * PARTITIONS)
    batches: list[list[Msg]] = []
    cursors = dict.fromkeys(per, 0)
    while any(cursors[part] < len(per[part]) for part in per):
        batch: list[Msg] = []
        for part in sorted(per):
            i = cursors[part]
            batch.extend(per[part][i : i + chunk])
            cursors[part] = i + chunk
            if cursors[part] >= len(per[part]):
                batch.append(Eof(part[0], part[1], 0, 0, b"", b""))
        batches.append(batch)
    return batches


def null_publisher() -> Publisher:
    conf = {
        "bootstrap.servers": "127.0.0.1:9",
        "queue.buffering.max.messages": 2_000_000,
        "queue.buffering.max.kbytes": 2_000_000,
        "message.timeout.ms": 600_000,
        "log_level": 0,
    }
    pub = Publisher(conf)
    pub._producer = Producer(pub._conf)  # never connects: produce() only queues
    return pub


def decoder() -> Decoder:
    parts = [(t, p) for t in (READ, OUT) for p in range(PARTITIONS)]
    return Decoder(
        {READ: SENSOR_READINGS, OUT: HABITAT_OUTCOMES},
        OUT,
        parts,
        {READ: 0, OUT: 1},
        RowMaker.for_spec(habitat()),
    )


def whole(batches: list[list[Msg]], keep: bool = False) -> tuple[float, float, int, list[Any]]:
    """(decode s, learn s, learned, all released items if `keep`) of one run of decoder +
    dispatcher. (Keeping them holds 400k objects the collector would walk: only for the parts.)"""
    spec = habitat()
    dec = decoder()
    learner = Learner(spec)
    pub = null_publisher()
    disp = Dispatcher(spec, learner, [READ], DeadLetterSink(pub, "dl", "trainer"), pub, "preq")
    t_dec = t_learn = 0.0
    released: list[Any] = []
    for batch in batches:
        t0 = time.thread_time()
        dec.add(batch)
        items = dec.ready()
        t1 = time.thread_time()
        disp.learn(items)
        t2 = time.thread_time()
        t_dec += t1 - t0
        t_learn += t2 - t1
        if keep:
            released.extend(items)
    return t_dec, t_learn, learner.state.n_learned, released


def timed(fn: Callable[[], Any]) -> float:
    t0 = time.thread_time()
    fn()
    return time.thread_time() - t0


def parts(batches: list[list[Msg]], released: list[Any], n: int) -> dict[str, float]:
    """Each stage alone over the same events, µs per learned event."""
    spec = habitat()
    rows = RowMaker.for_spec(spec)
    readings = [m.value() for b in batches for m in b if m.topic() == READ and m.error() is None]
    outcomes = [m.value() for b in batches for m in b if m.topic() == OUT and m.error() is None]
    out: dict[str, float] = {}
    ev: list[Any] = []
    oc: list[Any] = []
    out["validate readings"] = timed(lambda: ev.extend(SENSOR_READINGS.decode_many(readings)))
    out["validate outcomes"] = timed(lambda: oc.extend(HABITAT_OUTCOMES.decode_many(outcomes)))
    ev = [e for e in ev if not isinstance(e, Exception)]
    oc = [o for o in oc if not isinstance(o, Exception)]
    out["to_features"] = timed(lambda: [e.to_features() for e in ev])
    out["feature rows (to_features + checks)"] = timed(lambda: [rows.features(e) for e in ev])
    out["label rows"] = timed(lambda: [rows.label(o) for o in oc])
    feats = [i for i in released if i[0] == FEATURES]
    labels = [i for i in released if i[0] == LABEL]
    join = PendingJoin(int(spec.pending_ttl_s * 1000), spec.max_pending, spec.keep_joined)
    # the released order: adds and matches interleaved as the trainer does them
    add, match = join.add, join.match
    t_add = t_match = 0.0
    joined: list[Any] = []
    for item in released:
        if item[0] == FEATURES:
            t0 = time.thread_time()
            add(item[4], item[5], item[6], item[7], item[8], 0)
            t_add += time.thread_time() - t0
        elif item[0] == LABEL:
            t0 = time.thread_time()
            j = match(item[5], item[6], item[7], item[8])
            t_match += time.thread_time() - t0
            if j is not None:
                joined.append((j, item[8]))
    out["join add"], out["join match"] = t_add, t_match
    del feats, labels
    model = spec.pipeline()
    preds: list[Any] = []

    def predict_learn() -> None:
        for j, y in joined:
            proba = model.predict_proba_one(j.x)
            preds.append((y, proba, max(proba, key=proba.__getitem__), j.segment))
            model.learn_one(j.x, y)

    out["river predict + learn"] = timed(predict_learn)
    folded = spec.pipeline()
    step = folded_step(folded)
    assert step is not None
    out["folded predict + learn"] = timed(lambda: [step(j.x, y) for j, y in joined])
    model = spec.pipeline()
    out["river predict"] = timed(lambda: [model.predict_proba_one(j.x) for j, _ in joined])
    ev_ = Prequential(spec.metrics, spec.segment_fields, spec.window)

    def all_metrics() -> None:
        for p in preds:
            ev_.update(*p)

    out["metrics (all)"] = timed(all_metrics)
    ov = Prequential(spec.metrics, spec.segment_fields, spec.window)

    def overall_only() -> None:
        plan = ov._plan
        for y, proba, yp, _ in preds:
            for m, lab in plan:
                m.update(y, yp if lab else proba)

    out["metrics overall (2)"] = timed(overall_only)
    roll = next(iter(Prequential(spec.metrics, spec.segment_fields, spec.window).rolling.values()))
    out["metrics rolling"] = timed(lambda: [roll.update(y, yp) for y, _, yp, _ in preds])
    from lazarus.trainer.drift import DriftWatch

    watch = DriftWatch(spec.lifecycle.drift)
    out["drift: features (KS windows)"] = timed(
        lambda: [watch.observe_features(j.x) for j, _ in joined]
    )
    out["drift: error (ADWIN)"] = timed(
        lambda: [
            watch.observe_error(0.0 if p[2] == y else 1.0)
            for (j, y), p in zip(joined, preds, strict=True)
        ]
    )
    learner = Learner(spec)

    def checkpoints() -> None:
        for _ in range(n // CHECKPOINT_EVERY):
            learner.checkpoint()

    out[f"checkpoints (every {CHECKPOINT_EVERY})"] = timed(checkpoints)
    batcher = PrequentialBatcher(spec.name, spec.segment_fields)
    batcher.open(datetime.now(UTC).isoformat())
    recs: list[bytes] = []

    def render() -> None:
        add = batcher.add
        for i, ((j, y), p) in enumerate(zip(joined, preds, strict=True)):
            done = add(j.event_id, i, y, p[2], p[1], j.segment, (READ, 0, i))
            if done is not None:
                recs.append(done)
            if i % BATCH == BATCH - 1:  # a step's end
                recs.append(batcher.close() or b"")
        recs.append(batcher.close() or b"")

    out["prequential render (batches)"] = timed(render)
    pub = null_publisher()

    def produce_all() -> None:
        for r in recs:
            if r:
                pub.publish("preq", spec.name, r)

    out["prequential produce (batches)"] = timed(produce_all)
    dec = decoder()

    def merge_only() -> None:
        m = dec.merge
        for b in batches:
            for msg in b:
                if msg.error() is None:
                    m.add(msg.topic(), msg.partition(), msg.offset(), msg.timestamp()[1], None)
                else:
                    m.at_end(msg.topic(), msg.partition())
            m.ready()

    out["merge alone"] = timed(merge_only)
    return {k: v / n * 1e6 for k, v in out.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--profile", help="write a cProfile of one whole run here")
    ap.add_argument("--no-parts", action="store_true")
    args = ap.parse_args()
    tune_for_streaming()
    batches = messages(args.events)
    if args.profile:
        prof = cProfile.Profile()
        prof.enable()
        whole(batches)
        prof.disable()
        prof.dump_stats(args.profile)
        return
    dec, learn = [], []
    n = 0
    for _ in range(args.rounds):
        d, ln, n, _ = whole(batches)
        dec.append(d / n * 1e6)
        learn.append(ln / n * 1e6)
    med = statistics.median
    print(f"learned {n:,} of {args.events:,} readings")
    print(
        f"whole: decode+merge {med(dec):.1f} us [{min(dec):.1f}-{max(dec):.1f}], "
        f"dispatch/learn {med(learn):.1f} us [{min(learn):.1f}-{max(learn):.1f}], "
        f"total {med(dec) + med(learn):.1f} us per learned event"
    )
    if args.no_parts:
        return
    released_all = whole(batches, keep=True)[3]
    rounds = [parts(batches, released_all, n) for _ in range(args.rounds)]
    for k in rounds[0]:
        vals = [r[k] for r in rounds]
        print(f"  {k:<38} {med(vals):6.2f} us  [{min(vals):.2f}-{max(vals):.2f}]")


if __name__ == "__main__":
    main()
