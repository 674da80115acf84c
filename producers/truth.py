"""The hidden ground truth the simulators draw outcomes from, with a concept drift.

Nothing here is visible to the trainer: it only sees features and outcomes.
Before the drift, habitat occupancy peaks at 14 °C and follows soil moisture;
after it (a climate shift), the optimum moves to 18 °C and dry soil is
preferred. Viability follows heterozygosity and clean edits; after the drift
(a new editing protocol), mosaicism matters far more and off-target edits less.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from lazarus.schemas.base import Features


def sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


_HABITAT_TERMS: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "temperature_c": lambda v, d: 2.0 - 0.12 * (v - np.where(d, 18.0, 14.0)) ** 2,
    "relative_humidity": lambda v, d: 0.03 * (v - 60.0),
    "soil_moisture": lambda v, d: np.where(d, -6.0, 6.0) * (v - 0.3),
    "soil_ph": lambda v, d: -0.8 * np.abs(v - 6.5),
    "ndvi": lambda v, d: 5.0 * (v - 0.45),
    "canopy_cover": lambda v, d: 2.0 * (v - 0.5),
    "acoustic_index": lambda v, d: 4.0 * (v - 0.5),
    "edna_copies_per_l": lambda v, d: 0.9 * (np.log10(1.0 + v) - 3.0),
}


def habitat_logit(name: str, values: np.ndarray, drifted: np.ndarray) -> np.ndarray:
    """One measurement's share of the occupancy log-odds (0 for names the truth ignores)."""
    term = _HABITAT_TERMS.get(name)
    return term(values, drifted) if term is not None else np.zeros_like(values)


def habitat_occupancy_p(features: Features, site_effect: float, drifted: bool) -> float:
    """Probability a released cohort occupies the site, given one reading's features."""
    d = np.array(drifted)
    z = site_effect + sum(float(habitat_logit(k, np.array(v), d)) for k, v in features.items())
    return sigmoid(z)


def viability_p(features: Features, drifted: bool) -> float:
    """Probability a revived individual survives its first season."""
    z = (
        1.2
        + 12.0 * (features["observed_heterozygosity"] - 0.2)
        - 8.0 * (features["inbreeding_f_roh"] - 0.15)
        + 3.0 * (features["on_target_edit_fraction"] - 0.85)
        - (0.3 if drifted else 1.1) * features["log_off_target_edits"]
        - (9.0 if drifted else 2.0) * features["mosaicism_fraction"]
        + 0.4 * (features["log_sequencing_depth"] - math.log(30.0))
    )
    return sigmoid(z)
