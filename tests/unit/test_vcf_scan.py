"""Bad input is reported with its line and reason, never a traceback: the fixture VCFs under
tests/fixtures/vcf/ (the first record is line 6), a truncated gzip made here, and the
`lazarus genomes summarize` command around the scan."""

from __future__ import annotations

import gzip
import json
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from lazarus.errors import ConfigError
from lazarus.producers.genomes_cli import genomes
from lazarus.producers.vcf_scan import scan_vcf
from lazarus.producers.vcf_types import ScanResult
from tests.unit.debian_tools import need_tool

FIXTURES = Path(__file__).parents[1] / "fixtures" / "vcf"


def listed(result: ScanResult) -> list[tuple[int | None, str]]:
    return [(p.line, p.reason) for p in result.problems]


def test_a_good_file() -> None:
    result = scan_vcf(FIXTURES / "good.vcf")
    assert result.complete and result.problems == []
    assert (result.sites_read, result.sites_used, len(result.samples)) == (4, 4, 3)
    a = result.samples[0]
    assert (a.sample, a.called_sites, a.observed_homozygous) == ("A", 4, 2)


@pytest.mark.parametrize(
    ("name", "problems", "skipped"),
    [
        (
            "malformed.vcf",
            [
                (7, "malformed record: Could not parse the position 'xx': site skipped"),
                (8, "malformed record: htslib could not parse it: site skipped"),
            ],
            {"malformed": 2},
        ),
        (
            "spaces.vcf",
            [
                (
                    6,
                    "malformed record: CHROM holds spaces: the columns must be separated by tabs: "
                    "site skipped",
                )
            ],
            {"malformed": 1},
        ),
        ("no_gt.vcf", [(7, "1:200: no GT in FORMAT: site skipped")], {"no_gt": 1}),
        (
            "multiallelic.vcf",
            [(7, "1:200: more than one ALT allele (vcftools --het skips it): site skipped")],
            {"multiallelic": 1},
        ),
        (
            "ploidy.vcf",
            [
                (
                    7,
                    "1:200: a haploid call, a lone '.' included (vcftools --het needs every "
                    "call diploid): site skipped",
                ),
                (
                    8,
                    "1:300: a call of more than two alleles (vcftools --het stops at it): site "
                    "skipped",
                ),
                (
                    9,
                    "1:400: a haploid call, a lone '.' included (vcftools --het needs every "
                    "call diploid): site skipped",
                ),
            ],
            {"not_diploid": 2, "polyploid": 1},
        ),
    ],
)
def test_bad_sites_are_listed_with_their_line_and_skipped(
    name: str, problems: list[tuple[int, str]], skipped: dict[str, int]
) -> None:
    result = scan_vcf(FIXTURES / name)
    assert listed(result) == problems
    assert result.skipped == skipped
    assert result.complete and len(result.samples) == 3  # the other sites still count


def test_a_sample_without_calls_is_named_and_has_no_summary() -> None:
    result = scan_vcf(FIXTURES / "no_calls.vcf")
    assert [s.sample for s in result.samples] == ["A", "C"]
    (problem,) = result.problems
    assert (problem.sample, problem.line, problem.fatal) == ("B", None, False)
    assert problem.reason == "no call at any of the 3 sites counted: no summary"


def bgzip(source: Path, target: Path) -> Path:
    with target.open("wb") as out:
        subprocess.run([need_tool("bgzip", "tabix"), "-c", str(source)], stdout=out, check=True)
    return target


def big_vcf(path: Path, sites: int = 3000) -> Path:
    head = (FIXTURES / "good.vcf").read_text().splitlines(keepends=True)[:5]
    rows = [f"1\t{100 * (i + 1)}\t.\tA\tG\t.\tPASS\t.\tGT\t0/1\t0/0\t1/1\n" for i in range(sites)]
    path.write_text("".join(head + rows))
    return path


@pytest.mark.parametrize("kind", ["gzip", "bgzf", "bgzf-at-a-block"])
def test_a_truncated_gzip_is_one_fatal_problem_and_no_summaries(kind: str, tmp_path: Path) -> None:
    source = big_vcf(tmp_path / "big.vcf", sites=20000)
    if kind == "gzip":
        whole = tmp_path / "whole.vcf.gz"
        whole.write_bytes(gzip.compress(source.read_bytes()))
    else:
        whole = bgzip(source, tmp_path / "whole.vcf.gz")
    data = whole.read_bytes()
    cut = len(data) // 2 if kind != "bgzf-at-a-block" else len(data) - 28  # drop the EOF block
    cut_file = tmp_path / "cut.vcf.gz"
    cut_file.write_bytes(data[:cut])
    result = scan_vcf(cut_file)
    assert not result.complete and result.samples == []
    fatal = [p for p in result.problems if p.fatal]
    assert len(fatal) == 1 and fatal[0].line is not None
    assert fatal[0].reason.startswith("the file is cut short (its ")
    assert 6 <= fatal[0].line <= 20006  # 20006: every record whole, the end missing
    assert scan_vcf(whole).complete


def test_samples_subset_and_unknown_names(tmp_path: Path) -> None:
    result = scan_vcf(FIXTURES / "good.vcf", samples=["C", "A", "C"])
    assert [s.sample for s in result.samples] == ["A", "C"]
    with pytest.raises(ConfigError, match="no sample 'Z'"):
        scan_vcf(FIXTURES / "good.vcf", samples=["A", "Z"])
    with pytest.raises(ConfigError, match="--region"):
        scan_vcf(FIXTURES / "good.vcf", region="1:200-100")


def test_region_by_streaming_and_by_index_agree(tmp_path: Path) -> None:
    streamed = scan_vcf(FIXTURES / "good.vcf", region="1:150-350")
    assert (streamed.sites_read, streamed.region) == (2, "1:150-350")
    indexed_file = bgzip(FIXTURES / "good.vcf", tmp_path / "good.vcf.gz")
    subprocess.run([need_tool("tabix", "tabix"), "-p", "vcf", str(indexed_file)], check=True)
    indexed = scan_vcf(indexed_file, region="1:150-350")
    assert indexed.samples == streamed.samples and indexed.sites_read == 2


def test_progress_is_reported_in_bytes_of_the_file(tmp_path: Path) -> None:
    calls: list[tuple[int, int, int]] = []
    path = big_vcf(tmp_path / "big.vcf", sites=2000)
    result = scan_vcf(path, progress=lambda *args: calls.append(args))
    size = path.stat().st_size
    assert calls[-1] == (2000, size, size) and result.complete


def cli(*args: str) -> tuple[int, str]:
    run = CliRunner().invoke(genomes, ["summarize", *args])
    assert run.exception is None or isinstance(run.exception, SystemExit), run.exception
    return run.exit_code, run.output


def test_cli_table_json_and_exit_codes(tmp_path: Path) -> None:
    code, text = cli(str(FIXTURES / "ploidy.vcf"))
    assert code == 0 and "N_SITES" in text and "F_ROH" in text
    assert "line 8: 1:300: a call of more than two alleles" in text
    code, text = cli(str(FIXTURES / "no_calls.vcf"), "--json")
    data = json.loads(text)
    assert code == 0 and [s["sample"] for s in data["samples"]] == ["A", "C"]
    assert data["problems"][0]["sample"] == "B" and data["methods"].startswith("het:vcftools")
    cut = tmp_path / "cut.vcf.gz"
    data = gzip.compress(big_vcf(tmp_path / "b.vcf", sites=20000).read_bytes())
    cut.write_bytes(data[: len(data) // 2])
    code, text = cli(str(cut))
    assert code == 1 and "FATAL line" in text and "cut short" in text and "N_SITES" not in text
    cut.write_bytes(data[:40])  # inside the header
    code, text = cli(str(cut))
    assert code == 1 and "FATAL file: the file is cut short (its gzip stream ends early)" in text


def test_cli_bad_arguments_exit_2_naming_them() -> None:
    from lazarus.cli.main import main

    for args, named in (
        (["--samples", "A,Nope"], "no sample 'Nope'"),
        (["--region", "1:x"], "--region '1:x'"),
    ):
        with pytest.raises(SystemExit) as stop:
            main(["genomes", "summarize", str(FIXTURES / "good.vcf"), *args])
        assert stop.value.code == 2, named
