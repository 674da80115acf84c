"""The shape of `lazarus genomes summarize FILE --json` (registered with the others in
`lazarus.cli.json_schemas`): one file's per-individual summaries, each by a named method, and
every problem met reading it."""

from __future__ import annotations

from pydantic import Field

from lazarus.cli.json_types import Count, Shape


class SampleSummaryShape(Shape):
    """One individual (`lazarus.producers.vcf_types.SampleSummary`)."""

    sample: str
    called_sites: Count = Field(
        description="counted sites with both alleles called (vcftools N_SITES)"
    )
    observed_homozygous: Count = Field(description="of them, homozygous (O(HOM))")
    expected_homozygous: float = Field(
        description="expected homozygous from the sites' ALT frequencies (E(HOM))"
    )
    observed_heterozygosity: float = Field(description="1 - O(HOM) / N_SITES")
    expected_heterozygosity: float = Field(description="1 - E(HOM) / N_SITES")
    inbreeding_f: float | None = Field(
        description="(O - E) / (N - E), as vcftools --het; null when N = E"
    )
    inbreeding_f_roh: float = Field(
        description="length in runs of homozygosity (PLINK 1.9 --homozyg) / length covered"
    )
    missingness: float = Field(
        description="share of the sites with GT where the call is missing (vcftools --missing-indv)"
    )
    roh_runs: Count = Field(description="runs of homozygosity kept")
    roh_length_bp: Count = Field(description="their total length")


class VcfProblemShape(Shape):
    reason: str
    line: Count | None = Field(description="1-based line of the VCF text; null: unknown (BCF)")
    sample: str | None = Field(description="the individual it concerns; null: a site or the file")
    fatal: bool = Field(description="the file could not be read whole: no summaries")


class SummarizeReport(Shape):
    """Exit code 0 when the file was read whole (`complete`), 1 when it was cut short."""

    uri: str = Field(description="`file:///absolute/path` of the file read")
    sha256: str = Field(description="sha256 of the file's bytes")
    region: str | None = Field(description="the region read; null: all")
    complete: bool = Field(description="read whole: no fatal problem")
    sites_read: Count = Field(description="records read (in the region)")
    sites_used: Count = Field(
        description="sites counted: biallelic, every call diploid, polymorphic"
    )
    skipped: dict[str, Count] = Field(description="sites left out, by reason")
    methods: str = Field(description="the methods: `het:...;roh:...` (docs/events.md)")
    samples: list[SampleSummaryShape]
    problems: list[VcfProblemShape]
