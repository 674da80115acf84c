"""A model's lifecycle in words, one line each: a paired comparison, the events judged against a
policy's minimum, the last drift and what it did, and an automatic action's evidence. The same
words in `lazarus status` and on the dashboard (`lazarus.lifecycle_view` puts them in the view).
"–" where nothing was measured, never 0.

Inputs are the plain dicts the lifecycle records hold (`lazarus.registry.lineup`): a comparison
as `quality.paired.Comparison.as_dict` writes it, a drift as a `DriftEvent`'s JSON, an action's
evidence as the quality monitor records it. A key missing from a record leaves its part out.

>>> cmp = {"n": 812, "metric": "Accuracy", "champion": 0.874, "challenger": 0.912,
...        "difference": 0.038, "low": 0.021, "high": 0.055, "confidence": 0.95,
...        "method": "mcnemar-exact", "p_value": 0.0004}
>>> comparison_text(cmp)
'+0.038 (95% CI +0.021..+0.055)'
>>> judged_text(312, 500), judged_text(None, 500), judged_text(0, None)
('312 of 500', '–', '0')
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from lazarus.metric_text import NOTHING

DID = {
    "alert": "alert only",
    "challenger": "a fresh challenger started from the drift point",
    "reset": "the champion's trainer started afresh",
}
"""What a drift did, by the `action` its record names (a drift of the served error or of a
feature alerts only, whatever the policy)."""


def number(value: Any) -> float | None:
    """A finite float from a record's value (a number or its text), else None."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def count(value: Any) -> int | None:
    """A whole number from a record's value, else None."""
    x = number(value)
    return int(x) if x is not None and x.is_integer() else None


def _g(value: Any, signed: bool = False) -> str:
    x = number(value)
    if x is None:
        return NOTHING
    return f"{x:+.3g}" if signed else f"{x:.3g}"


def _value(value: Any) -> str:
    """A metric's value to 3 decimals (`0.874`), `–` when unknown."""
    x = number(value)
    return NOTHING if x is None else f"{x:.3f}"


def _interval(confidence: Any, low: Any, high: Any) -> str:
    level = number(confidence)
    return f"{'' if level is None else f'{level * 100:g}% '}CI {_g(low, True)}..{_g(high, True)}"


def comparison_text(cmp: Mapping[str, Any] | None) -> str:
    """How much better the second version is, with its interval: `+0.038 (95% CI
    +0.021..+0.055)`; `–` with no comparison (under 2 judged events)."""
    if not cmp or number(cmp.get("difference")) is None:
        return NOTHING
    interval = _interval(cmp.get("confidence"), cmp.get("low"), cmp.get("high"))
    return f"{_g(cmp['difference'], True)} ({interval})"


def judged_text(events: int | None, min_events: int | None) -> str:
    """Honest paired events judged, of the policy's minimum when there is one; `–` before the
    quality monitor judged any."""
    if events is None:
        return NOTHING
    return f"{events:,} of {min_events:,}" if min_events else f"{events:,}"


def evidence_text(evidence: Mapping[str, Any] | None) -> str:
    """What an automatic action rests on, in one line.

    A promotion or a rollback (a paired comparison): `Accuracy 0.874 -> 0.912 (+0.038, 95% CI
    +0.021..+0.055, mcnemar-exact, p 0.0004) on 812 events`, the first value the version
    replaced (the champion, or the baseline for a rollback), the second the one compared with
    it. An action the trainer took on a drift: the drift's own line (`drift_text`).

    >>> evidence_text({"events": 812, "metric": "Accuracy", "champion": 0.874,
    ...     "challenger": 0.912, "difference": 0.038, "interval": [0.021, 0.055],
    ...     "confidence": 0.95, "method": "mcnemar-exact", "p_value": 0.0004})
    'Accuracy 0.874 -> 0.912 (+0.038, 95% CI +0.021..+0.055, mcnemar-exact, p 0.0004) on 812 events'
    >>> evidence_text({"source": "prequential", "detector": "ADWIN", "error_before": 0.12,
    ...                "error_after": 0.31, "n_seen": 5400, "action": "challenger"})
    'prequential error 0.120 -> 0.310 (ADWIN, 5,400 seen)'
    >>> evidence_text({})
    '–'
    """
    if not evidence:
        return NOTHING
    if "source" in evidence and "detector" in evidence:
        return drift_text(evidence)
    if number(evidence.get("difference")) is None:
        return NOTHING
    bounds = evidence.get("interval")
    low, high = bounds if isinstance(bounds, list | tuple) and len(bounds) == 2 else (None, None)
    told = [
        _g(evidence["difference"], True),
        _interval(evidence.get("confidence"), low, high),
        str(evidence.get("method") or ""),
        f"p {_g(evidence['p_value'])}" if number(evidence.get("p_value")) is not None else "",
    ]
    events = count(evidence.get("events"))
    on = f" on {events:,} events" if events is not None else ""
    values = f"{_value(evidence.get('champion'))} -> {_value(evidence.get('challenger'))}"
    told_text = ", ".join(part for part in told if part)
    return f"{evidence.get('metric') or 'metric'} {values} ({told_text}){on}"


def drift_text(drift: Mapping[str, Any] | None) -> str:
    """A drift, in one line: a change of an error (`prequential error 0.120 -> 0.310 (ADWIN,
    5,400 seen)`) or of a feature's distribution (`feature temp_c moved (KS statistic 0.21, p
    3e-05)`); `–` for no drift.

    >>> drift_text({"source": "features", "detector": "KS", "feature": "temp_c",
    ...             "statistic": 0.21, "p_value": 3e-05, "n_seen": 2000})
    'feature temp_c moved (KS statistic 0.21, p 3e-05, 2,000 seen)'
    """
    if not drift:
        return NOTHING
    seen = count(drift.get("n_seen"))
    tail = f", {seen:,} seen" if seen is not None else ""
    detector = str(drift.get("detector") or "?")
    if drift.get("source") == "features" or drift.get("feature"):
        stat = (
            f" statistic {_g(drift.get('statistic'))}" if drift.get("statistic") is not None else ""
        )
        p = f", p {_g(drift.get('p_value'))}" if drift.get("p_value") is not None else ""
        return f"feature {drift.get('feature') or '?'} moved ({detector}{stat}{p}{tail})"
    before, after = _value(drift.get("error_before")), _value(drift.get("error_after"))
    return f"{drift.get('source') or '?'} error {before} -> {after} ({detector}{tail})"


def did_text(drift: Mapping[str, Any]) -> str:
    """What a drift did: only a drift of the prequential error acts on the policy's action.

    >>> did_text({"source": "served", "action": "alert"}), did_text({"source": "prequential",
    ...     "action": "reset"})
    ('alert only', "the champion's trainer started afresh")
    """
    action = str(drift.get("action") or "alert")
    if drift.get("source") != "prequential":
        action = "alert"
    return DID.get(action, action)
