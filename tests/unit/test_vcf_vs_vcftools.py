"""Our summaries against the tools they reimplement, on the same files: `vcftools --het` on
every real example VCF of Debian's python-pyvcf-examples, and PLINK 1.9 `--homozyg` on
constructed genotypes with planted runs, gaps, missing calls and two chromosomes."""

from __future__ import annotations

import math
import random
import subprocess
from pathlib import Path

import numpy as np
import pytest
from cyvcf2 import VCF

from lazarus.producers.vcf_roh import RohScanner
from lazarus.producers.vcf_scan import scan_vcf
from lazarus.producers.vcf_summary import het_and_missing
from tests.unit.debian_tools import PYVCF_EXAMPLES, example_vcfs, need_examples, need_tool

HTSLIB_REFUSES = {"issue-254.vcf": (9, "Invalid character '.' in 'AO' FORMAT field")}
"""Files whose records htslib refuses but vcftools reads (AO declared Integer holds 0.1): we
list the record as malformed instead of reading a record htslib flagged."""


def vcftools_missing(path: Path, out: Path) -> dict[str, float]:
    """`vcftools --missing-indv`: sample -> F_MISS (empty when vcftools cannot read the file)."""
    option = "--gzvcf" if path.name.endswith(".gz") else "--vcf"
    subprocess.run(
        [need_tool("vcftools", "vcftools"), option, str(path), "--missing-indv", "--out", str(out)],
        capture_output=True,
        timeout=300,
    )
    imiss = out.with_suffix(".imiss")
    rows = imiss.read_text().splitlines()[1:] if imiss.is_file() else []
    return {r.split("\t")[0]: float(r.split("\t")[4]) for r in rows if r.strip()}


def vcftools_het(path: Path, out: Path) -> tuple[int, str, dict[str, tuple[int, float, int, str]]]:
    option = "--gzvcf" if path.name.endswith(".gz") else "--vcf"
    run = subprocess.run(
        [need_tool("vcftools", "vcftools"), option, str(path), "--het", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    het = out.with_suffix(".het")
    rows = het.read_text().splitlines()[1:] if het.is_file() else []
    table = {}
    for row in rows:
        sample, o, e, n, f = row.split("\t")
        table[sample] = (int(o), float(e), int(n), f.strip())
    return run.returncode, run.stderr, table


@pytest.mark.parametrize("path", example_vcfs() or [Path("python-pyvcf-examples")], ids=str)
def test_het_agrees_with_vcftools(path: Path, tmp_path: Path) -> None:
    need_examples()
    code, stderr, expected = vcftools_het(path, tmp_path / "out")
    result = scan_vcf(path)  # never raises on content
    ours = {s.sample: s for s in result.samples}
    if code != 0:  # vcftools cannot read it: we say why, as problems
        if "Polyploidy found" in stderr:
            assert result.skipped.get("polyploid", 0) >= 1
        else:
            assert result.problems, stderr
        return
    if path.name in HTSLIB_REFUSES:
        line, reason = HTSLIB_REFUSES[path.name]
        assert any(p.line == line and reason in p.reason for p in result.problems)
        return
    assert result.complete and set(ours) == set(expected)
    without_calls = {p.sample for p in result.problems if p.sample is not None}
    assert without_calls.isdisjoint(expected)
    missing = vcftools_missing(path, tmp_path / "miss")
    for sample, (o, e, n, f) in expected.items():
        mine = ours[sample]
        assert mine.missingness == pytest.approx(missing[sample], abs=1e-6 + 1e-9), sample
        assert (mine.observed_homozygous, mine.called_sites) == (o, n), sample
        assert mine.expected_homozygous == pytest.approx(e, abs=0.05 + 1e-9), sample  # 1 decimal
        if f in ("nan", "-nan"):
            assert mine.inbreeding_f is None, sample
        else:
            assert mine.inbreeding_f is not None and math.isclose(
                mine.inbreeding_f, float(f), abs_tol=1e-3
            ), sample


def test_1kg_is_read_whole_with_every_sample() -> None:
    need_examples()
    result = scan_vcf(PYVCF_EXAMPLES / "1kg.vcf.gz")
    assert result.complete and len(result.samples) == 629
    assert (result.sites_read, result.sites_used) == (381, 364)
    assert result.uri == (PYVCF_EXAMPLES / "1kg.vcf.gz").as_uri()


# --- ROH against plink1.9 ----------------------------------------------------------------------


def write_constructed(path: Path, seed: int = 1) -> None:
    """20 samples on two chromosomes (6000 + 3000 SNPs, one per ~5 kb, a 1.5 Mb gap on the
    first), HWE genotypes, planted homozygous blocks of 1-8 Mb, 0.5% missing calls."""
    rng = random.Random(seed)
    samples = [f"S{k:02d}" for k in range(20)]
    lines = [
        "##fileformat=VCFv4.2",
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t" + "\t".join(samples),
    ]
    for chrom, n in (("1", 6000), ("2", 3000)):
        pos, x = [], 0
        for i in range(n):
            x += rng.randint(3_000, 7_000) + (1_500_000 if i == n // 2 else 0)
            pos.append(x)
        blocks = {
            s: [(b := rng.randrange(0, x), b + rng.choice([1, 2, 5, 8]) * 1_000_000)] * (k % 4 != 0)
            for k, s in enumerate(samples)
        }
        for i, p in enumerate(pos):
            freq = rng.uniform(0.2, 0.8)
            calls = []
            for s in samples:
                a = int(rng.random() < freq)
                inside = any(lo <= p <= hi for lo, hi in blocks[s])
                b = a if inside else int(rng.random() < freq)
                calls.append("./." if rng.random() < 0.005 else f"{a}/{b}")
            lines.append(f"{chrom}\t{p}\tv{chrom}_{i}\tA\tG\t.\tPASS\t.\tGT\t" + "\t".join(calls))
    path.write_text("\n".join(lines) + "\n")


def plink_runs(vcf: Path, out: Path) -> set[tuple[str, str, int, int]]:
    plink = need_tool("plink1.9", "plink1.9")
    subprocess.run(
        [plink, "--vcf", str(vcf), "--double-id", "--homozyg", "--out", str(out)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    rows = out.with_suffix(".hom").read_text().splitlines()[1:]
    return {(r.split()[1], r.split()[3], int(r.split()[6]), int(r.split()[7])) for r in rows}


def test_roh_runs_are_plinks(tmp_path: Path) -> None:
    vcf = tmp_path / "constructed.vcf"
    write_constructed(vcf)
    expected = plink_runs(vcf, tmp_path / "plink")
    result = scan_vcf(vcf)
    assert result.complete and len(expected) >= 10
    assert runs_found(vcf) == expected  # the runs themselves, boundary for boundary
    by_sample = {s.sample: s for s in result.samples}
    for sample in {r[0] for r in expected}:
        runs = [r for r in expected if r[0] == sample]
        assert by_sample[sample].roh_runs == len(runs)
        assert by_sample[sample].roh_length_bp == sum(hi - lo + 1 for _, _, lo, hi in runs)


def runs_found(vcf: Path) -> set[tuple[str, str, int, int]]:
    """The runs `RohScanner` finds, named as plink's .hom names them."""
    reader = VCF(str(vcf))
    names = list(reader.samples)
    roh = RohScanner(len(names))
    for record in reader:
        het, missing = het_and_missing(record.genotype.array()[:, :2].astype(np.int64))
        roh.add(record.CHROM, record.POS, het, missing)
    roh.finish()
    return {(names[i], chrom, lo, hi) for i, chrom, lo, hi in roh.runs}
