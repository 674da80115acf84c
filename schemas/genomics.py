"""Genomic samples: one individual's conservation-genetic summary, by reference to its data.

Genotypes never travel on Kafka. A lab's VCF becomes one `GenomicSample` per individual
(`lazarus produce vcf`): the file is named by `source_uri` and `source_sha256` (and the
`region` read), and the event carries the summaries computed from it, each by a named method
(`summary_methods`; the methods and their sources: docs/events.md, *GenomicSample*). The
simulated lab (`producers.genome_sim`) emits the same fields, plus the editing assays a
revival programme measures, so simulated and real data share one contract and one
`to_features()`.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, model_validator

from lazarus.schemas.base import Event, Features, FiniteFloat, Fraction, Identifier

Sha256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]

HET_METHOD = "het:vcftools-0.1.16"
"""Observed and expected homozygous counts and F as `vcftools --het` computes them."""
ROH_METHOD = "roh:plink1.9-homozyg(window=50,het=1,missing=5,threshold=0.05,gap_kb=1000,min_snps=100,min_kb=1000,density_kb=50)"
"""F_ROH from runs of homozygosity found as PLINK 1.9 `--homozyg` finds them (its defaults)."""


V2_SUMMARIES = (
    "called_sites",
    "observed_homozygous",
    "expected_homozygous",
    "expected_heterozygosity",
    "missingness",
    "summary_methods",
)
"""What a version-2 sample must carry (`inbreeding_f` may be null: N_SITES = E(HOM))."""


class GenomicSample(Event):
    """One individual's genomic summary. Key: `individual_id`.

    Counts are over biallelic sites where every sample's call is diploid (the sites
    `vcftools --het` uses); `called_sites` of them have both of this individual's alleles
    called. Raises a validation error when the counts contradict each other."""

    KEY_FIELD: ClassVar[str] = "individual_id"

    schema_version: Literal[1, 2] = 2
    """2: the VCF summaries. Version 1 (the simulator's assays before VCFs) still reads: its
    `heterozygosity` is the observed heterozygosity, and it has no other summary."""
    individual_id: Identifier
    species: Identifier = Field(
        description="species slug, e.g. dire_wolf, thylacine, woolly_mammoth"
    )
    cohort_id: Identifier
    # -- the genotype summaries ---------------------------------------------------------------
    called_sites: int | None = Field(
        None,
        ge=1,
        le=10_000_000_000,
        description="sites with both alleles called (vcftools N_SITES)",
    )
    observed_homozygous: int | None = Field(
        None, ge=0, description="called sites homozygous (O(HOM))"
    )
    expected_homozygous: FiniteFloat | None = Field(
        None,
        ge=0.0,
        description="homozygous sites expected from the sites' allele frequencies (E(HOM): "
        "the sum of 1 - 2pq·n/(n-1), n the alleles called at the site)",
    )
    observed_heterozygosity: Fraction = Field(description="1 - O(HOM) / N_SITES")
    expected_heterozygosity: Fraction | None = Field(None, description="1 - E(HOM) / N_SITES")
    inbreeding_f: FiniteFloat | None = Field(
        None,
        le=1.0,
        description="method-of-moments inbreeding coefficient (O(HOM) - E(HOM)) / (N_SITES - "
        "E(HOM)), as `vcftools --het` (negative: more heterozygous than expected); null when "
        "N_SITES = E(HOM)",
    )
    inbreeding_f_roh: Fraction = Field(
        description="genomic inbreeding: the length in runs of homozygosity over the length "
        "covered (McQuillan et al. 2008), runs as PLINK 1.9 --homozyg finds them"
    )
    missingness: Fraction | None = Field(
        None,
        description="of the sites read with a GT field, the share where this individual's "
        "call is missing (vcftools --missing-indv F_MISS)",
    )
    summary_methods: str | None = Field(
        None,
        min_length=1,
        max_length=500,
        description="how the summaries were computed: `het:...;roh:...` (docs/events.md), or "
        "`simulated`",
    )
    # -- the data, by reference ---------------------------------------------------------------
    source_uri: str | None = Field(
        None, max_length=2048, description="the VCF or BCF the summaries come from"
    )
    source_sha256: Sha256 | None = Field(None, description="sha256 of that file's bytes")
    region: str | None = Field(
        None, max_length=200, description="the region read (`chr2:10000-40000`); null: all"
    )
    # -- the editing assays of a revival programme (absent from a VCF) --------------------------
    on_target_edit_fraction: Fraction | None = Field(
        None, description="share of intended edits present"
    )
    off_target_edit_count: int | None = Field(
        None, ge=0, le=1_000_000, description="off-target edits detected"
    )
    mosaicism_fraction: Fraction | None = Field(
        None, description="share of cells not carrying the edits"
    )
    sequencing_depth_x: FiniteFloat | None = Field(
        None, gt=0.0, le=10_000.0, description="mean coverage, ×"
    )

    @model_validator(mode="before")
    @classmethod
    def _from_v1(cls, data: Any) -> Any:
        """A version-1 payload: its `heterozygosity` is the observed heterozygosity."""
        if isinstance(data, dict) and data.get("schema_version") == 1 and "heterozygosity" in data:
            data = {**data, "observed_heterozygosity": data["heterozygosity"]}
            del data["heterozygosity"]
        return data

    @model_validator(mode="after")
    def _counts_agree(self) -> GenomicSample:
        if self.schema_version == 1:
            return self
        missing = [f for f in V2_SUMMARIES if getattr(self, f) is None]
        if missing:
            raise ValueError(f"a version-2 sample needs {', '.join(missing)}")
        assert self.called_sites is not None and self.observed_homozygous is not None
        assert self.expected_homozygous is not None
        if self.observed_homozygous > self.called_sites:
            raise ValueError("observed_homozygous exceeds called_sites")
        if self.expected_homozygous > self.called_sites + 1e-9:
            raise ValueError("expected_homozygous exceeds called_sites")
        if (self.source_uri is None) != (self.source_sha256 is None):
            raise ValueError("source_uri and source_sha256 go together")
        return self

    def to_features(self) -> Features:
        """The features of this sample; the only feature code trainer and scorer run. An
        assay absent from the sample (a VCF has no editing assays) is absent from them."""
        feats: Features = {
            "observed_heterozygosity": self.observed_heterozygosity,
            "inbreeding_f_roh": self.inbreeding_f_roh,
        }
        if self.expected_heterozygosity is not None:
            feats["expected_heterozygosity"] = self.expected_heterozygosity
        if self.missingness is not None:
            feats["missingness"] = self.missingness
        if self.called_sites is not None:
            feats["log_called_sites"] = math.log1p(self.called_sites)
        if self.inbreeding_f is not None:
            feats["inbreeding_f"] = self.inbreeding_f
        if self.on_target_edit_fraction is not None:
            feats["on_target_edit_fraction"] = self.on_target_edit_fraction
        if self.off_target_edit_count is not None:
            feats["log_off_target_edits"] = math.log1p(self.off_target_edit_count)
        if self.mosaicism_fraction is not None:
            feats["mosaicism_fraction"] = self.mosaicism_fraction
        if self.sequencing_depth_x is not None:
            feats["log_sequencing_depth"] = math.log(self.sequencing_depth_x)
        feats[f"species_{self.species}"] = 1.0
        return feats

    FEATURE_SPEC: ClassVar[tuple[str, ...]] = (
        "observed_heterozygosity",
        "expected_heterozygosity",
        "inbreeding_f_roh",
        "missingness",
        "log_called_sites",
        "inbreeding_f",
        "on_target_edit_fraction",
        "log_off_target_edits",
        "mosaicism_fraction",
        "log_sequencing_depth",
        "species_*",
    )
