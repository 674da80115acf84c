"""Genomic assays of revived individuals."""

from __future__ import annotations

import math
from typing import ClassVar, Literal

from pydantic import Field

from lazarus.schemas.base import Event, Features, FiniteFloat, Fraction, Identifier


class GenomicSample(Event):
    """One assay of one individual. Key: `individual_id`."""

    KEY_FIELD: ClassVar[str] = "individual_id"

    schema_version: Literal[1] = 1
    individual_id: Identifier
    species: Identifier = Field(
        description="species slug, e.g. dire_wolf, thylacine, woolly_mammoth"
    )
    cohort_id: Identifier
    heterozygosity: Fraction = Field(description="observed genome-wide heterozygosity (fraction)")
    inbreeding_f_roh: Fraction = Field(
        description="inbreeding coefficient from runs of homozygosity"
    )
    on_target_edit_fraction: Fraction = Field(description="share of intended edits present")
    off_target_edit_count: int = Field(ge=0, le=1_000_000, description="off-target edits detected")
    mosaicism_fraction: Fraction = Field(description="share of cells not carrying the edits")
    sequencing_depth_x: FiniteFloat = Field(gt=0.0, le=10_000.0, description="mean coverage, ×")

    def to_features(self) -> Features:
        """The features of this assay; the only feature code trainer and scorer run."""
        return {
            "heterozygosity": self.heterozygosity,
            "inbreeding_f_roh": self.inbreeding_f_roh,
            "on_target_edit_fraction": self.on_target_edit_fraction,
            "log_off_target_edits": math.log1p(self.off_target_edit_count),
            "mosaicism_fraction": self.mosaicism_fraction,
            "log_sequencing_depth": math.log(self.sequencing_depth_x),
            f"species_{self.species}": 1.0,
        }

    FEATURE_SPEC: ClassVar[tuple[str, ...]] = (
        "heterozygosity",
        "inbreeding_f_roh",
        "on_target_edit_fraction",
        "log_off_target_edits",
        "mosaicism_fraction",
        "log_sequencing_depth",
        "species_*",
    )
