"""The hidden ground truth the simulators draw outcomes from, with a concept drift.

Nothing here is visible to the trainer: it only sees features and outcomes.
Before the drift, habitat occupancy peaks at 14 °C and follows soil moisture;
after it (a climate shift), the optimum moves to 18 °C and dry soil is
preferred. Viability follows heterozygosity and clean edits; after the drift
(a new editing protocol), mosaicism matters far more and off-target edits less.
"""

from __future__ import annotations

import math

from schemas.base import Features


def sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


def habitat_occupancy_p(features: Features, site_effect: float, drifted: bool) -> float:
    """Probability a released cohort occupies the site, given one reading's features."""
    z = site_effect
    optimum = 18.0 if drifted else 14.0
    if "temperature_c" in features:
        z += 2.0 - 0.12 * (features["temperature_c"] - optimum) ** 2
    if "relative_humidity" in features:
        z += 0.03 * (features["relative_humidity"] - 60.0)
    if "soil_moisture" in features:
        z += (-6.0 if drifted else 6.0) * (features["soil_moisture"] - 0.3)
    if "soil_ph" in features:
        z += -0.8 * abs(features["soil_ph"] - 6.5)
    if "ndvi" in features:
        z += 5.0 * (features["ndvi"] - 0.45)
    if "canopy_cover" in features:
        z += 2.0 * (features["canopy_cover"] - 0.5)
    if "acoustic_index" in features:
        z += 4.0 * (features["acoustic_index"] - 0.5)
    if "edna_copies_per_l" in features:
        z += 0.9 * (math.log10(1.0 + features["edna_copies_per_l"]) - 3.0)
    return sigmoid(z)


def viability_p(features: Features, drifted: bool) -> float:
    """Probability a revived individual survives its first season."""
    z = (
        1.2
        + 12.0 * (features["heterozygosity"] - 0.2)
        - 8.0 * (features["inbreeding_f_roh"] - 0.15)
        + 3.0 * (features["on_target_edit_fraction"] - 0.85)
        - (0.3 if drifted else 1.1) * features["log_off_target_edits"]
        - (9.0 if drifted else 2.0) * features["mosaicism_fraction"]
        + 0.4 * (features["log_sequencing_depth"] - math.log(30.0))
    )
    return sigmoid(z)
