"""A simulated genomics lab: cohorts of revived individuals and their assays."""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from lazarus.producers.ids import Emitted, Payload, Stamped, encode, epoch_ms, event_id
from lazarus.producers.truth import viability_p
from lazarus.schemas import GenomicSample


@dataclass(frozen=True)
class Species:
    slug: str
    heterozygosity: float
    """Typical genome-wide heterozygosity of the proxy population."""
    f_roh: float


SPECIES = (
    Species("dire_wolf", 0.24, 0.12),
    Species("thylacine", 0.11, 0.28),
    Species("woolly_mammoth", 0.16, 0.20),
)


@dataclass(frozen=True)
class LabConfig:
    seed: int = 7
    cohort_size: int = 40
    interval_s: float = 3600.0
    """Simulated seconds between two assays (paced feeds derive it from their rate:
    `producers.clock`)."""
    drift_at: int = 20_000
    """The new editing protocol starts at this assay (negative: never)."""
    label_fraction: float = 1.0
    label_delay_s: float = 5.0


class GenomicsLab:
    """`for key, sample, outcome in GenomicsLab(cfg, start): ...`, values as JSON bytes."""

    def __init__(self, cfg: LabConfig, start: datetime) -> None:
        self.cfg = cfg
        self.start = start

    def __iter__(self) -> Iterator[Emitted]:
        for key, sample, outcome, _, _ in self.stamped():
            yield key, sample, outcome

    def stamped(self) -> Iterator[Stamped]:
        """As iteration, with the sample's and the outcome's event times (ms since the epoch).
        Each iteration starts again from the seed."""
        cfg, r = self.cfg, random.Random(self.cfg.seed)
        n = 0
        while True:
            species = SPECIES[n // cfg.cohort_size % len(SPECIES)]
            cohort = f"{species.slug}-c{n // (cfg.cohort_size * len(SPECIES)) + 1:03d}"
            drifted = 0 <= cfg.drift_at <= n
            at = self.start + timedelta(seconds=n * cfg.interval_s)
            individual = f"{cohort}-i{n % cfg.cohort_size:03d}"
            sample = self._assay(r, n, species, cohort, individual, at, drifted)
            outcome: Payload | None = None
            later = at + timedelta(seconds=cfg.label_delay_s)
            if r.random() < cfg.label_fraction:
                p = viability_p(GenomicSample.model_validate(sample).to_features(), drifted)
                outcome = {
                    "event_id": event_id("viability-outcome", cfg.seed, n),
                    "event_time": later.isoformat(),
                    "schema_version": 1,
                    "kind": "viability",
                    "subject": individual,
                    "event_ref": sample["event_id"],
                    "label": r.random() < p,
                }
            yield (
                individual,
                encode(sample),
                encode(outcome) if outcome else None,
                epoch_ms(at),
                epoch_ms(later),
            )
            n += 1

    def _assay(
        self,
        r: random.Random,
        n: int,
        species: Species,
        cohort: str,
        individual: str,
        at: datetime,
        drifted: bool,
    ) -> Payload:
        def frac(mu: float, sd: float) -> float:
            return round(min(1.0, max(0.0, r.gauss(mu, sd))), 5)

        # The new protocol edits more cleanly on target but leaves more mosaic cells.
        on_target = frac(0.93 if drifted else 0.85, 0.05)
        mosaic = frac(0.12 if drifted else 0.06, 0.05)
        return {
            "event_id": event_id("genome", self.cfg.seed, n),
            "event_time": at.isoformat(),
            "schema_version": 2,
            "individual_id": individual,
            "species": species.slug,
            "cohort_id": cohort,
            **_summaries(r, species, frac),
            "on_target_edit_fraction": on_target,
            "off_target_edit_count": _poisson(r, 1.5 if drifted else 2.5),
            "mosaicism_fraction": mosaic,
            "sequencing_depth_x": round(max(5.0, r.gauss(32.0, 8.0)), 2),
        }


def _summaries(
    r: random.Random, species: Species, frac: Callable[[float, float], float]
) -> Payload:
    """Genotype summaries as `lazarus produce vcf` computes them from a VCF (the same fields,
    consistent with each other): the expected heterozygosity of the species' proxy
    population, an individual inbreeding F, and the observed heterozygosity they imply."""
    sites = max(1_000, int(r.gauss(50_000, 5_000)))
    expected = frac(species.heterozygosity, 0.02)
    f = max(-0.3, min(0.95, r.gauss(species.f_roh, 0.08)))
    observed_hom = min(sites, round(sites * (1.0 - expected * (1.0 - f))))
    expected_hom = round(sites * (1.0 - expected), 1)
    spread = sites - expected_hom
    return {
        "called_sites": sites,
        "observed_homozygous": observed_hom,
        "expected_homozygous": expected_hom,
        "observed_heterozygosity": round(1.0 - observed_hom / sites, 5),
        "expected_heterozygosity": round(1.0 - expected_hom / sites, 5),
        "inbreeding_f": round((observed_hom - expected_hom) / spread, 5) if spread else None,
        "inbreeding_f_roh": frac(species.f_roh, 0.06),
        "missingness": frac(0.02, 0.01),
        "summary_methods": "simulated",
    }


def _poisson(r: random.Random, lam: float) -> int:
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= r.random()
        if p <= limit:
            return k
        k += 1
