"""The pure summaries on constructed genotypes with answers worked by hand."""

from __future__ import annotations

import numpy as np
import pytest

from lazarus.producers.vcf_roh import HomozygParams, RohScanner
from lazarus.producers.vcf_summary import (
    HetCounts,
    het_and_missing,
    inbreeding_f,
    site_skip_reason,
    summarize,
)


def pair(*calls: tuple[int, int]) -> np.ndarray:
    return np.array(calls, dtype=np.int64)


def test_het_counts_match_the_hand_worked_vcftools_sums() -> None:
    counts = HetCounts(3)
    # p = 3/6, n = 6: E += 1 - 2(.5)(.5)(6/5) = 0.4 for each sample
    assert counts.add(pair((0, 1), (0, 0), (1, 1))) is None
    # B missing; p = 1/4, n = 4: E += 1 - 2(.25)(.75)(4/3) = 0.5 for A and C
    assert counts.add(pair((0, 1), (-1, -1), (0, 0))) is None
    # A half-missing gives its called ALT to p = 4/5 (n = 5) but is not counted: E += 0.6
    assert counts.add(pair((-1, 1), (1, 1), (0, 1))) is None
    assert counts.sites == 3
    assert counts.called.tolist() == [2, 2, 3]
    assert counts.observed_hom.tolist() == [0, 2, 2]
    assert counts.expected_hom.tolist() == pytest.approx([0.9, 1.0, 1.5])
    fs = [
        inbreeding_f(o, e, n) for o, e, n in zip([0, 2, 2], [0.9, 1.0, 1.5], [2, 2, 3], strict=True)
    ]
    assert fs == pytest.approx([-0.9 / 1.1, 1.0, 1 / 3])


def test_monomorphic_and_uncalled_sites_do_not_count() -> None:
    counts = HetCounts(3)
    assert counts.add(pair((0, 0), (0, 0), (0, -1))) == "monomorphic"
    assert counts.add(pair((1, 1), (1, 1), (1, 1))) == "monomorphic"
    assert counts.add(pair((-1, -1), (-1, -1), (-1, -1))) == "uncalled"
    assert counts.sites == 0 and counts.called.tolist() == [0, 0, 0]


@pytest.mark.parametrize(
    ("n_alt", "genotypes", "reason"),
    [
        (1, [[0, 1, 0], [1, 1, 1]], None),
        (1, [[0, 1, 0], [0, -2, 1]], "not_diploid"),  # a haploid call
        (1, [[-1, -2, 1], [0, 0, 0]], "not_diploid"),  # a lone '.', as vcftools
        (1, [[0], [1]], "not_diploid"),  # every call haploid
        (1, [[0, 1, 1, 0], [0, 1, -2, 0]], "polyploid"),
        (2, [[0, 2, 0], [0, 0, 0]], "multiallelic"),
        (0, [[0, 0, 0], [0, 0, 0]], "no_alt"),
        (1, [[0, 5, 0], [0, 0, 0]], "bad_allele"),
        (1, [[0, 1, -2, 0], [0, 0, -2, 0]], None),  # a padding column no call uses
    ],
)
def test_site_skip_reasons(n_alt: int, genotypes: list[list[int]], reason: str | None) -> None:
    assert site_skip_reason(n_alt, np.array(genotypes)) == reason


def test_half_missing_is_missing_not_het() -> None:
    het, missing = het_and_missing(pair((0, 1), (-1, 1), (1, 1), (-1, -1)))
    assert het.tolist() == [True, False, False, False]
    assert missing.tolist() == [False, True, False, True]


def test_summaries_name_the_samples_without_calls() -> None:
    counts = HetCounts(2)
    counts.add(pair((0, 1), (-1, -1)))
    counts.add(pair((1, 1), (-1, 0)))
    zeros = np.zeros(2, dtype=np.int64)
    rows, uncalled = summarize(["A", "B"], counts, np.zeros(2), zeros, zeros)
    assert uncalled == ["B"] and [r.sample for r in rows] == ["A"]
    (a,) = rows
    assert (a.called_sites, a.observed_homozygous, a.missingness) == (2, 1, 0.0)
    assert a.observed_heterozygosity == 0.5


# --- runs of homozygosity (PLINK 1.9 --homozyg defaults) -------------------------------------
SPACING = 5_000


def scan(
    het: np.ndarray, positions: list[int] | None = None, missing: np.ndarray | None = None
) -> RohScanner:
    """het: sites x samples."""
    n_sites, k = het.shape
    positions = positions or [SPACING * (i + 1) for i in range(n_sites)]
    missing = np.zeros_like(het) if missing is None else missing
    roh = RohScanner(k)
    for i in range(n_sites):
        roh.add("1", positions[i], het[i], missing[i])
    roh.finish()
    return roh


def test_a_planted_block_gives_the_run_plink_rules_imply() -> None:
    n = 2000
    het = np.zeros((n, 3), dtype=np.bool_)
    het[:, 0] = True  # never homozygous
    het[:, 1] = True
    het[500:1100, 1] = False  # a homozygous block, SNPs 500..1099
    roh = scan(het)
    # Hit windows (<= 1 het) start at 499..1051; a SNP needs 3 of its 50: SNPs 501..1098.
    first, last = SPACING * 502, SPACING * 1099
    assert sorted(roh.runs) == [(1, "1", first, last), (2, "1", SPACING, SPACING * n)]
    covered = SPACING * n - SPACING + 1
    assert roh.covered_bp == covered
    assert roh.f_roh().tolist() == pytest.approx([0.0, (last - first + 1) / covered, 1.0])
    assert roh.runs_count.tolist() == [0, 1, 1]


def test_a_gap_over_1000_kb_splits_a_run_and_short_runs_are_dropped() -> None:
    n = 2000
    positions = [SPACING * (i + 1) + (1_500_000 if i >= 1000 else 0) for i in range(n)]
    roh = scan(np.zeros((n, 1), dtype=np.bool_), positions)
    assert roh.runs == [
        (0, "1", positions[0], positions[999]),
        (0, "1", positions[1000], positions[-1]),
    ]
    # 99 homozygous SNPs are never a run (>= 100 needed), whatever their length
    short = scan(np.zeros((99, 1), dtype=np.bool_), [20_000 * (i + 1) for i in range(99)])
    assert short.runs == [] and short.f_roh().tolist() == [0.0]


def test_density_and_length_bounds() -> None:
    sparse = scan(np.zeros((150, 1), dtype=np.bool_), [100_000 * (i + 1) for i in range(150)])
    assert sparse.runs == []  # 100 kb per SNP > 50
    short = scan(np.zeros((150, 1), dtype=np.bool_), [1_000 * (i + 1) for i in range(150)])
    assert short.runs == []  # 150 kb < 1000 kb


def test_missing_calls_up_to_five_per_window_keep_a_run() -> None:
    n = 400
    het = np.zeros((n, 2), dtype=np.bool_)
    missing = np.zeros((n, 2), dtype=np.bool_)
    missing[::10, 0] = True  # 5 per window: still hits
    missing[::8, 1] = True  # 6 or 7 per window: no hit
    roh = scan(het, missing=missing)
    assert [r[0] for r in roh.runs] == [0]


def test_a_new_chromosome_or_a_step_back_starts_a_new_block() -> None:
    roh = RohScanner(1, HomozygParams())
    hom = np.zeros(1, dtype=np.bool_)
    for chrom in ("1", "2"):
        for i in range(300):
            roh.add(chrom, SPACING * (i + 1), hom, hom)
    roh.add("2", 10, hom, hom)
    roh.finish()
    assert [r[1] for r in roh.runs] == ["1", "2"]
    assert roh.unsorted == ("2", 10)
    assert roh.covered_bp == 2 * (SPACING * 299 + 1) + 1
