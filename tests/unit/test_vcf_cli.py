"""`lazarus produce vcf` before the broker: bad options exit 2, a file cut short publishes
nothing, and what the run says on stderr (the scan is a stand-in returning a `ScanResult`)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from lazarus.cli.main import cli
from lazarus.producers.vcf_events import VcfRun
from lazarus.producers.vcf_produce import VcfOptions, labels_for, prepare
from lazarus.producers.vcf_types import SampleSummary, ScanResult, VcfProblem

AT = datetime(2026, 3, 1, tzinfo=UTC)


def fake_scan(*problems: VcfProblem) -> Any:
    def scan(path: Path, **kwargs: Any) -> ScanResult:
        assert kwargs["samples"] is None and kwargs["progress"] is None
        ok = SampleSummary("W01", 100, 80, 75.0, 0.2, 0.25, 0.2, 0.0, 0.1)
        return ScanResult("file:///w.vcf", "cd" * 32, None, [ok], list(problems), 120, 100)

    return scan


def test_a_file_cut_short_is_one_line_and_nothing_to_publish(tmp_path: Path) -> None:
    said: list[str] = []
    opts = VcfOptions(None, None, None, progress=False)
    run = VcfRun("w.vcf.gz", "w", "dire_wolf", AT)
    cut = VcfProblem("the gzip stream ends early (truncated file)", line=9001, fatal=True)
    assert prepare(Path("w.vcf.gz"), run, opts, None, said.append, fake_scan(cut)) is None
    assert said == [
        "w.vcf.gz:9001: the gzip stream ends early (truncated file) (nothing was published)"
    ]


def test_what_a_run_says_before_it_publishes(tmp_path: Path) -> None:
    labels = tmp_path / "labels.csv"
    labels.write_text("sample,label\nW01,alive\nW02,dead\nW03,\n")
    said: list[str] = []
    opts = VcfOptions(None, None, labels, progress=False)
    run = VcfRun("w.vcf", "w", "dire_wolf", AT, label_file=str(labels))
    events = prepare(
        Path("w.vcf"),
        run,
        opts,
        labels_for(run, opts),
        said.append,
        fake_scan(VcfProblem("bad", 7)),
    )
    assert events is not None and len(events.samples) == 1 and len(events.outcomes) == 1
    assert said[0].startswith("w.vcf (sha256 cdcdcdcdcdcd…): 1 samples (1 to publish, 0 dead")
    assert f"{labels}: 3 rows: 1 outcomes, 1 dead-lettered, 1 not known yet" in said
    assert "w.vcf:7: bad; sent to the dead-letter topic" in said
    assert f"{labels}:3: no sample 'W02' in w.vcf; sent to the dead-letter topic" in said


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--species", "dire wolf"], "letters, digits"),
        (["--species", "x", "--region", "chr1:500-100"], "END >= START"),
        (["--species", "x", "--region", "chr1:a-b"], "expected CHROM"),
        (["--species", "x", "--time", "2999-01-01"], "in the future"),
        (["--species", "x", "--time", "yesterday"], "is not a time"),
        ([], "--species is required"),
        (["--label-file", "LABELS"], "no 'label' column"),
    ],
)
def test_bad_options_exit_2_naming_them(tmp_path: Path, args: list[str], says: str) -> None:
    vcf = tmp_path / "w.vcf"
    vcf.write_text("##fileformat=VCFv4.2\n")
    labels = tmp_path / "labels.csv"
    labels.write_text("sample,alive\nW01,true\n")
    argv = [a.replace("LABELS", str(labels)) for a in args]
    result = CliRunner().invoke(cli, ["produce", "vcf", str(vcf), *argv])
    assert result.exit_code == 2, result.output
    assert says in result.output
