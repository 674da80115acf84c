"""Heterozygosity and missingness of individuals from genotype arrays, as `vcftools --het`
computes them (pure numpy; vectorised over samples, streamed over sites).

A site's genotypes are cyvcf2's `genotype.array()`: samples x (ploidy + 1) integers, allele
indexes with -1 for a missing allele and -2 for padding (a sample of lower ploidy), the last
column the phase. The rules are those of vcftools 0.1.16 (`variant_file::output_het`):

* a site counts only with exactly two alleles (REF and one ALT) and a diploid call for every
  sample: a lone `.` is a haploid call and drops the site, as in vcftools (`site_skip_reason`);
* p, the ALT frequency, is over every sample's called alleles, the sample itself included, a
  half-missing call (`./1`) giving its called allele; sites with p <= eps or p >= 1 - eps
  (machine epsilon) are monomorphic and skipped;
* each sample with both alleles called adds N += 1, O += 1 when homozygous and
  E += 1 - 2p(1 - p) n / (n - 1), n the alleles called at the site; F = (O - E) / (N - E).

>>> counts = HetCounts(3)
>>> site = np.array([[0, 1, 0], [0, 0, 0], [1, 1, 0]])
>>> site_skip_reason(1, site) is None, counts.add(site[:, :2]) is None
(True, True)
>>> counts.called.tolist(), counts.observed_hom.tolist(), round(float(counts.expected_hom[0]), 4)
([1, 1, 1], [0, 1, 1], 0.4)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from lazarus.producers.vcf_types import SampleSummary

EPS = float(np.finfo(float).eps)
"""vcftools skips a site whose ALT frequency is within this of 0 or 1."""
MISSING = -1
PADDING = -2

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


def site_skip_reason(n_alt: int, genotypes: npt.NDArray[np.integer]) -> str | None:
    """Why a site does not count for the summaries, or None when it does.

    `n_alt`: the site's ALT alleles; `genotypes`: its genotype array (phase column last).
    Reasons, checked in this order: `polyploid` (a call of more than two alleles: vcftools
    aborts the whole run, we skip the site), `no_alt` (ALT `.`), `multiallelic` (more than one
    ALT: vcftools' rule, so F agrees with it), `not_diploid` (some sample's call is haploid,
    a lone `.` included), `bad_allele` (an allele index the site does not have).

    >>> site_skip_reason(1, np.array([[0, 1, 0], [1, -2, 1]]))
    'not_diploid'
    >>> site_skip_reason(2, np.array([[0, 2, 0], [0, 0, 0]]))
    'multiallelic'
    """
    alleles = genotypes[:, :-1]
    if alleles.shape[1] > 2 and bool((alleles[:, 2:] != PADDING).any()):
        return "polyploid"
    if n_alt == 0:
        return "no_alt"
    if n_alt > 1:
        return "multiallelic"
    if alleles.shape[1] < 2 or bool((alleles[:, 1] == PADDING).any()):
        return "not_diploid"
    if bool((alleles[:, :2] > n_alt).any()):
        return "bad_allele"
    return None


def het_and_missing(pair: IntArray) -> tuple[BoolArray, BoolArray]:
    """(heterozygous, missing) per sample of a diploid site `pair` (samples x 2); a
    half-missing call is missing."""
    missing: BoolArray = np.asarray((pair < 0).any(axis=1))
    het: BoolArray = np.asarray(~missing & (pair[:, 0] != pair[:, 1]))
    return het, missing


@dataclass
class HetCounts:
    """Running O(HOM), E(HOM) and N_SITES per sample over the sites added (vcftools --het)."""

    n_samples: int
    observed_hom: IntArray = field(init=False)
    expected_hom: npt.NDArray[np.float64] = field(init=False)
    called: IntArray = field(init=False)
    sites: int = 0
    """Sites that counted (polymorphic, after `site_skip_reason`)."""
    missing: IntArray = field(init=False)
    """Per sample, genotyped sites where its call is missing (`add_genotyped`)."""
    genotyped: int = 0
    """Sites read with a GT field, whatever else they are (vcftools --missing-indv N_DATA)."""

    def __post_init__(self) -> None:
        self.missing = np.zeros(self.n_samples, dtype=np.int64)
        self.observed_hom = np.zeros(self.n_samples, dtype=np.int64)
        self.expected_hom = np.zeros(self.n_samples, dtype=np.float64)
        self.called = np.zeros(self.n_samples, dtype=np.int64)

    def add_genotyped(self, genotypes: npt.NDArray[np.integer]) -> None:
        """Count a site with GT toward missingness, as `vcftools --missing-indv` does: a call
        is missing when its first allele is (`.`, `./.`, `./1`), whatever the site."""
        self.genotyped += 1
        self.missing += genotypes[:, 0] == MISSING

    def add(self, pair: IntArray) -> str | None:
        """Add a site whose calls are all diploid (`pair`: samples x 2, alleles 0/1, -1
        missing). Returns None when it counted, else why not: `uncalled` (no allele called
        anywhere) or `monomorphic` (p within eps of 0 or 1)."""
        called_alleles = pair >= 0
        n = int(called_alleles.sum())
        if n == 0:
            return "uncalled"
        p = float((pair == 1).sum()) / n
        if p <= EPS or p >= 1.0 - EPS:
            return "monomorphic"
        both = called_alleles.all(axis=1)
        self.called += both
        self.observed_hom += both & (pair[:, 0] == pair[:, 1])
        self.expected_hom += both * (1.0 - 2.0 * p * (1.0 - p) * (n / (n - 1.0)))
        self.sites += 1
        return None


def inbreeding_f(observed: float, expected: float, called: float) -> float | None:
    """(O - E) / (N - E), or None when N == E (no expected heterozygosity to compare with).

    >>> inbreeding_f(8, 6.0, 10), inbreeding_f(3, 3.0, 3)
    (0.5, None)
    """
    if abs(called - expected) < 1e-12:
        return None
    return (observed - expected) / (called - expected)


def summarize(
    names: list[str],
    counts: HetCounts,
    roh_fraction: npt.NDArray[np.float64],
    roh_runs: IntArray,
    roh_bp: IntArray,
) -> tuple[list[SampleSummary], list[str]]:
    """The summaries of the samples with at least one called site, and the names of those
    without (no summary: they have nothing to summarize). `roh_*`: per sample, from
    `producers.vcf_roh.RohScanner`. Missingness is `vcftools --missing-indv`'s F_MISS: of the
    sites read with a GT field, the share where the sample's call is missing."""
    summaries, uncalled = [], []
    for i, name in enumerate(names):
        n = int(counts.called[i])
        if n == 0:
            uncalled.append(name)
            continue
        o, e = int(counts.observed_hom[i]), float(counts.expected_hom[i])
        summaries.append(
            SampleSummary(
                sample=name,
                called_sites=n,
                observed_homozygous=o,
                expected_homozygous=e,
                observed_heterozygosity=1.0 - o / n,
                expected_heterozygosity=min(1.0, max(0.0, 1.0 - e / n)),
                inbreeding_f=inbreeding_f(o, e, n),
                inbreeding_f_roh=float(roh_fraction[i]),
                missingness=float(counts.missing[i]) / max(1, counts.genotyped),
                roh_runs=int(roh_runs[i]),
                roh_length_bp=int(roh_bp[i]),
            )
        )
    return summaries, uncalled
