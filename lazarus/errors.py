"""The one exception hierarchy, grouped by what the caller can do about it.

Every error Lazarus raises on purpose derives from `LazarusError`. Classes this module does
not define are defined beside the code that raises them (named in brackets). The root and
`ConfigError` live in `lazarus.schemas.errors`, so that `schemas`, which imports nothing else
of Lazarus, raises into the same tree; this module re-exports them. A test (tests/unit/test_errors.py) checks that every exception
class in the `lazarus` package derives from the root and is drawn here.

LazarusError                  root; the CLI turns it into one line and exit 1
│
│   Change a setting, argument, spec or file, then run again:
├── ConfigError               a setting, argument or model spec is wrong
│   ├── UnknownGroup          no consumer group by that name [cli.lag_cmd]
│   ├── UnservableModel       scorers would refuse the model: LAZARUS_SNAPSHOT_MODULES [trainer.servable]
│   ├── SpecFileError         a model spec file is wrong: names the file, line and key [schemas.spec_tables]
│   └── UnreadableHeader      a CSV header the encoding cannot decode: pass --encoding [lazarus.recording]
├── MissingExtra              an optional install is missing: `pip install ...`
│
│   Start or fix a service, then run again (or wait: workers retry):
├── ServiceUnavailable        Kafka or Redis does not answer: start it or fix its setting
│   ├── PortInUse             a port we need is taken: free it or change the setting
│   └── ServiceDied           a process we started exited under us
├── FeedStopped               the trainer's decoding process exited: the trainer restarts it [trainer.feed]
│
│   The run stops rather than write something wrong; an operator decides:
├── TrainerConflict           another trainer publishes this model: run one per model [trainer.publishing]
├── TopicsRecreated           the snapshot's offsets are past the logs' end: --from-beginning [trainer.partitions]
├── NonFiniteModel            the model holds or predicts NaN or infinity: retrain [trainer.learner]
├── StrictAbort               --strict replay stopped at the first bad row: fix the row [producers.app]
│
│   Never loaded or sent; the worker goes on with what it has:
├── SnapshotRejected          a model snapshot failed verification: never loaded
│   ├── NotLearnedEnough      verified, but learned fewer events than the model's minimum [registry.opening]
│   └── ModuleNotLoadable     names a module LAZARUS_SNAPSHOT_MODULES does not allow here [registry.safe_pickle]
├── TruncatedPayload          a dead letter holds only the start of its input: not replayable [schemas.deadletter]
│
│   One input cannot be used: it is dead-lettered (a `Rejection`), the worker goes on:
└── InputRejected             passed its schema but cannot be used [inputchecks]
    ├── ClockSkew             stamped too far after its Kafka timestamp [inputchecks]
    ├── NonFiniteFeatures     a feature is NaN, infinite or not a number [inputchecks]
    ├── WrongLabel            an outcome's label is not of the model's task or classes [inputchecks]
    ├── ModelOutputError      the model's output for it is not finite [scorer.predictors]
    └── OutputRefused         the broker refused its score for good, exactly-once [scorer.scoring]

Outside the tree on purpose: `Aborted` [testing], the simulated crash of a `TestingSource`,
which no handler of `LazarusError` may catch.

An input that fails its schema is rejected with pydantic's `ValidationError` (data, not an
error raised to a caller); settings validators raise `ValueError`, which pydantic turns into
`ValidationError` and `lazarus.settings` into `ConfigError`.
"""

from __future__ import annotations

from lazarus.schemas.errors import ConfigError, LazarusError

__all__ = [
    "ConfigError",
    "LazarusError",
    "MissingExtra",
    "PortInUse",
    "ServiceDied",
    "ServiceUnavailable",
    "SnapshotRejected",
]


class ServiceUnavailable(LazarusError):
    """Kafka or Redis cannot be reached."""


class PortInUse(ServiceUnavailable):
    """A port we must listen on is already taken."""


class ServiceDied(ServiceUnavailable):
    """A service process we started has exited."""


class MissingExtra(LazarusError):
    """An optional dependency group is not installed."""


class SnapshotRejected(LazarusError):
    """A model snapshot failed signature, digest or allowlist checks."""
