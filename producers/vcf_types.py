"""What reading a VCF gives: per-individual summaries, and the problems met on the way (pure).

`producers.vcf_scan.scan_vcf` fills a `ScanResult`; `lazarus genomes summarize` prints it and
`lazarus produce vcf` turns it into `GenomicSample` events (a problem with a sample becomes a
dead letter, one with the file a line on stderr). Genotypes never leave the scan.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class SampleSummary:
    """One individual's summaries (the fields of `GenomicSample`; methods: docs/events.md)."""

    sample: str
    called_sites: int
    """Biallelic sites, every sample's call diploid, where both of this sample's alleles are
    called (vcftools --het N_SITES)."""
    observed_homozygous: int
    expected_homozygous: float
    observed_heterozygosity: float
    expected_heterozygosity: float
    inbreeding_f: float | None
    """(O - E) / (N - E); None when N == E."""
    inbreeding_f_roh: float
    missingness: float
    """Of the sites read with a GT field, the share where this sample's call is missing
    (`vcftools --missing-indv` F_MISS)."""
    roh_runs: int = 0
    """Runs of homozygosity found (PLINK 1.9 --homozyg's rules)."""
    roh_length_bp: int = 0


@dataclass(frozen=True)
class VcfProblem:
    """Something in the file that was left out, with where and why.

    `line`: the 1-based line of the VCF text (None where the library cannot say, e.g. in a
    BCF); `sample`: the individual it concerns (None: the site or the file)."""

    reason: str
    line: int | None = None
    sample: str | None = None
    fatal: bool = False
    """The rest of the file could not be read (a truncated gzip, an unreadable header)."""


@dataclass
class ScanResult:
    """A scanned file: its identity, the summaries of the samples that had calls, and every
    problem (sites skipped for a reason, samples with no calls, the file cut short)."""

    uri: str
    """`file:///absolute/path` of the file read."""
    sha256: str
    """sha256 hex of the file's bytes, as stored (compressed or not)."""
    region: str | None
    samples: list[SampleSummary] = field(default_factory=list)
    problems: list[VcfProblem] = field(default_factory=list)
    sites_read: int = 0
    sites_used: int = 0
    """Sites that count for the summaries (biallelic, every call diploid)."""
    skipped: dict[str, int] = field(default_factory=dict)
    """Sites left out, by reason (`multiallelic`, `no_gt`, `not_diploid`, `monomorphic`...)."""

    @property
    def complete(self) -> bool:
        """The whole file (or region) was read: no fatal problem."""
        return not any(p.fatal for p in self.problems)
