"""Sites as the dashboard's map shows them: where each site is (its latest reading's location)
and its latest served score, per model. Pure: `sites_feed` reads the topics and fills the books.

A model gets a map when one of its inputs carries a `location` (`lazarus.schemas.sensors.Location`,
as sensor readings do): the reading's key field (`site_id`) is the subject its scores name, so
a site's dot is placed by its readings and coloured by its scores. A model whose inputs carry
no location (genomic samples) gets a note instead of a map.

Memory is bounded: a `LatestBySite` book keeps at most `limit` sites; a new site evicts the one
updated longest ago.

>>> book = LatestBySite[str](limit=2)
>>> book.put("a", "first", at=1.0), book.put("b", "x", at=1.0), book.put("a", "newer", at=1.5)
(True, True, True)
>>> book.put("a", "older", at=0.5)  # the newest wins
False
>>> book.put("c", "y", at=2.0)  # full: "b", updated longest ago, goes
True
>>> sorted(book.items())
[('a', 'newer'), ('c', 'y')]
"""

from __future__ import annotations

import json
import math
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from lazarus.schemas.contract import ModelContract
from lazarus.schemas.sensors import Location
from lazarus.schemas.topics import Topic

SITES_LIMIT = 10_000
"""Sites kept per book (per located input topic, and per model for scores)."""

T = TypeVar("T")


class LatestBySite(Generic[T]):
    """The newest value per site, for at most `limit` sites. Not thread-safe: one writer, and
    readers copy under the writer's lock (`sites_feed`)."""

    def __init__(self, limit: int = SITES_LIMIT) -> None:
        if limit < 1:
            raise ValueError("a site book keeps at least one site")
        self.limit = limit
        self.evicted = 0
        """Sites dropped to stay within `limit`, since the start."""
        self._values: OrderedDict[str, tuple[float, T]] = OrderedDict()

    def put(self, site: str, value: T, at: float) -> bool:
        """Keep `value` (of time `at`, epoch s) for `site` unless the one held is newer; the
        newest wins, and a tie goes to the later call. False when it was older and dropped."""
        held = self._values.get(site)
        if held is not None and at < held[0]:
            return False
        self._values[site] = (at, value)
        self._values.move_to_end(site)
        if len(self._values) > self.limit:
            self._values.popitem(last=False)
            self.evicted += 1
        return True

    def get(self, site: str) -> T | None:
        held = self._values.get(site)
        return None if held is None else held[1]

    def items(self) -> Iterator[tuple[str, T]]:
        """(site, value), the site updated longest ago first."""
        for site, (_, value) in self._values.items():
            yield site, value

    def __len__(self) -> int:
        return len(self._values)


@dataclass(frozen=True)
class Located:
    """Where a site is, from its latest reading."""

    lat: float
    lon: float
    seen_at: float
    """The reading's event time, epoch s."""


@dataclass(frozen=True)
class Scored:
    """A site's latest served score."""

    score: float | None
    """What colours the dot: P(positive class), the predicted value, or P(predicted class)."""
    prediction: Any
    model_version: int
    scored_at: float
    """Epoch s."""


@dataclass(frozen=True)
class Scale:
    """How a model's scores colour the map: `kind` "probability" (a binary model: P(positive)
    in 0..1), "value" (a regression: the predicted value) or "class" (multiclass: the predicted
    class, one colour each)."""

    kind: str
    label: str
    positive_key: str | None = None
    """A binary model's positive class as its probabilities key it ("True")."""
    classes: tuple[str, ...] = ()


def scale_of(contract: ModelContract) -> Scale:
    """The colour scale of a model's scores.

    >>> from lazarus.schemas.models import HABITAT
    >>> scale_of(HABITAT)
    Scale(kind='probability', label='P(True)', positive_key='True', classes=())
    """
    labels = contract.labels
    if contract.task == "regression":
        return Scale("value", "predicted value")
    if labels.binary:
        key = str(labels.positive)
        return Scale("probability", f"P({key})", positive_key=key)
    return Scale("class", "predicted class", classes=tuple(str(c) for c in labels.classes or ()))


def located_inputs(contract: ModelContract) -> tuple[Topic[Any], ...]:
    """The model's input topics whose events carry a `location`."""
    return tuple(
        t
        for t in contract.inputs
        if _is_location(getattr(t.event, "model_fields", {}).get("location"))
    )


def _is_location(field: Any) -> bool:
    return field is not None and field.annotation is Location


def _epoch(text: Any) -> float | None:
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        return None


def _finite(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    f = float(value)
    return f if math.isfinite(f) else None


def read_location(raw: bytes | None, key_field: str) -> tuple[str, Located] | None:
    """(site, where) from one input message's JSON value: its `key_field`, `location.lat`,
    `location.lon` (degrees, in range) and `event_time`. None when any is missing or wrong: the
    consumers dead-letter such inputs, the map only skips them.

    >>> read_location(b'{"site_id": "s1", "event_time": "2025-01-01T00:00:00+00:00",'
    ...               b' "location": {"lat": 51.5, "lon": -0.1}}', "site_id")
    ('s1', Located(lat=51.5, lon=-0.1, seen_at=1735689600.0))
    >>> read_location(b'{"site_id": "s1", "location": {"lat": 95, "lon": 0}}', "site_id")
    """
    data = _json_object(raw)
    site, where = data.get(key_field), data.get("location")
    if not isinstance(site, str) or not site or not isinstance(where, dict):
        return None
    lat, lon, at = (
        _finite(where.get("lat")),
        _finite(where.get("lon")),
        _epoch(data.get("event_time")),
    )
    if lat is None or lon is None or at is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    return site, Located(lat, lon, at)


def read_score(raw: bytes | None, scale: Scale) -> tuple[str, Scored] | None:
    """(subject, score) from one score message's JSON value (`habitat.scores.v1`); None when
    it is not a score."""
    data = _json_object(raw)
    subject, version = data.get("subject"), data.get("model_version")
    at = _epoch(data.get("scored_at"))
    if not isinstance(subject, str) or not isinstance(version, int) or at is None:
        return None
    prediction = data.get("prediction")
    probabilities = data.get("probabilities")
    if not isinstance(probabilities, dict):
        probabilities = {}
    return subject, Scored(score_value(scale, prediction, probabilities), prediction, version, at)


def score_value(scale: Scale, prediction: Any, probabilities: Mapping[str, Any]) -> float | None:
    """The number a dot is coloured by: P(positive) for a binary model (1 or 0 from the
    prediction when the score has no probabilities), the prediction for a regression, and
    P(predicted class) for a multiclass model (its colour is the class).

    >>> score_value(Scale("probability", "P(True)", "True"), True, {"True": 0.8, "False": 0.2})
    0.8
    >>> score_value(Scale("probability", "P(True)", "True"), False, {})
    0.0
    >>> score_value(Scale("value", "predicted value"), 12.5, {})
    12.5
    """
    if scale.kind == "value":
        return _finite(prediction)
    if scale.kind == "probability":
        p = _finite(probabilities.get(scale.positive_key or ""))
        if p is not None:
            return p
        return None if prediction is None else float(_text(prediction) == scale.positive_key)
    return _finite(probabilities.get(_text(prediction)))


def _text(value: Any) -> str:
    """A JSON class as its probabilities key it: true -> "True", 2 -> "2", "oak" -> "oak"."""
    return str(value)


def _json_object(raw: bytes | None) -> dict[str, Any]:
    try:
        data = json.loads(raw or b"")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def model_sites(
    contract: ModelContract,
    prefix: str,
    locations: Sequence[Mapping[str, Located]],
    scores: Mapping[str, Scored],
) -> dict[str, Any]:
    """One model's map: its sites (sorted by id) with where they are and their latest score
    (None: not scored yet), the colour scale (with the range of the values shown for a
    regression), how many scored subjects have no known location (`unplaced`), and a note
    when there is nothing to draw. `locations`: one mapping per located input topic."""
    inputs = located_inputs(contract)
    names = [t.full(prefix) for t in inputs]
    base: dict[str, Any] = {"model": contract.name, "inputs": names, "sites": []}
    if not inputs:
        shown = ", ".join(t.full(prefix) for t in contract.inputs)
        return {
            **base,
            "mappable": False,
            "note": f"its inputs ({shown}) carry no location: no map",
        }
    where: dict[str, Located] = {}
    for book in locations:
        for site, here in book.items():
            if site not in where or here.seen_at >= where[site].seen_at:
                where[site] = here
    sites = [_site_row(site, where[site], scores.get(site)) for site in sorted(where)]
    scale = scale_of(contract)
    view = {
        **base,
        "mappable": True,
        "scores_topic": contract.scores.full(prefix) if contract.scores else None,
        "scale": _scale_json(scale, sites),
        "sites": sites,
        "scored": sum(1 for s in sites if s["model_version"] is not None),
        "unplaced": sum(1 for subject in scores if subject not in where),
        "note": None if sites else f"no reading with a location yet on {', '.join(names)}",
    }
    return view


def _site_row(site: str, here: Located, scored: Scored | None) -> dict[str, Any]:
    return {
        "site": site,
        "lat": here.lat,
        "lon": here.lon,
        "seen_at": here.seen_at,
        "score": scored.score if scored else None,
        "prediction": scored.prediction if scored else None,
        "model_version": scored.model_version if scored else None,
        "scored_at": scored.scored_at if scored else None,
    }


def _scale_json(scale: Scale, sites: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": scale.kind, "label": scale.label}
    if scale.kind == "probability":
        out.update(min=0.0, max=1.0)
    elif scale.kind == "value":
        values = [s["score"] for s in sites if s["score"] is not None]
        out.update(min=min(values, default=None), max=max(values, default=None))
    else:
        out["classes"] = list(scale.classes)
    return out
