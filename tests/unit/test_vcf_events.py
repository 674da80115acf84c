"""`lazarus produce vcf`'s pure core: a scanned VCF and a label file as events and dead letters."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from lazarus.producers.vcf_events import (
    SUMMARY_METHODS,
    VcfRun,
    build_events,
    cohort_of,
    individual_id_of,
    vcf_event_id,
)
from lazarus.producers.vcf_labels import LabelTable, parse_labels
from lazarus.producers.vcf_types import SampleSummary, ScanResult, VcfProblem
from lazarus.recording import Record, read_rows
from lazarus.schemas import GenomicSample, Outcome
from lazarus.schemas.outcomes import OutcomeKind
from lazarus.schemas.topics import GENOMIC_SAMPLES

SHA = "5e" * 32
AT = datetime(2026, 3, 1, 12, tzinfo=UTC)
RUN = VcfRun(file="wolves.vcf.gz", cohort="wolves", species="dire_wolf", at=AT)


def summary(sample: str, n: int = 200, hom: int = 150) -> SampleSummary:
    e_hom = 140.5
    return SampleSummary(
        sample=sample,
        called_sites=n,
        observed_homozygous=hom,
        expected_homozygous=e_hom,
        observed_heterozygosity=1 - hom / n,
        expected_heterozygosity=1 - e_hom / n,
        inbreeding_f=(hom - e_hom) / (n - e_hom),
        inbreeding_f_roh=0.05,
        missingness=0.1,
        roh_runs=1,
        roh_length_bp=1_200_000,
    )


def scan(*samples: SampleSummary, problems: tuple[VcfProblem, ...] = ()) -> ScanResult:
    return ScanResult(
        uri="file:///data/wolves.vcf.gz",
        sha256=SHA,
        region="chr2:1-50000",
        samples=list(samples),
        problems=list(problems),
        sites_read=300,
        sites_used=250,
        skipped={"multiallelic": 50},
    )


def labels(*rows: str, header: str = "sample,label") -> LabelTable:
    records = [
        Record(n + 2, row.encode(), dict(zip(header.split(","), row.split(","), strict=True)))
        for n, row in enumerate(rows)
    ]
    return parse_labels(records)


# -- summaries -> payloads ----------------------------------------------------------------------


def test_each_summary_becomes_a_v2_sample_by_reference_to_its_file() -> None:
    out = build_events(scan(summary("W01"), summary("W02", hom=120)), RUN)
    assert [e.individual_id for e in out.samples] == ["W01", "W02"]
    first = out.samples[0]
    assert first.schema_version == 2 and first.species == "dire_wolf"
    assert first.cohort_id == "wolves" and first.event_time == AT
    assert (first.source_uri, first.source_sha256, first.region) == (
        "file:///data/wolves.vcf.gz",
        SHA,
        "chr2:1-50000",
    )
    assert first.called_sites == 200 and first.observed_homozygous == 150
    assert first.observed_heterozygosity == pytest.approx(0.25)
    assert first.inbreeding_f == pytest.approx((150 - 140.5) / (200 - 140.5))
    assert first.summary_methods == SUMMARY_METHODS and "vcftools" in SUMMARY_METHODS
    # what goes on the wire reads back as the same event, and carries no genotype
    wire = GENOMIC_SAMPLES.encode(first)
    assert GENOMIC_SAMPLES.decode(wire) == first
    assert "GT" not in json.loads(wire) and b"0/1" not in wire
    assert out.rejections == [] and out.samples_rejected == 0


def test_ids_are_deterministic_per_file_region_and_sample() -> None:
    a = build_events(scan(summary("W01"), summary("W02")), RUN)
    b = build_events(scan(summary("W02"), summary("W01")), RUN)
    assert {e.event_id for e in a.samples} == {e.event_id for e in b.samples}
    assert a.samples[0].event_id == vcf_event_id(SHA, "chr2:1-50000", "W01")
    assert len({e.event_id for e in a.samples}) == 2
    assert vcf_event_id(SHA, None, "W01") != vcf_event_id(SHA, "chr2:1-50000", "W01")
    assert vcf_event_id("00" * 32, None, "W01") != vcf_event_id(SHA, None, "W01")
    assert vcf_event_id(SHA, None, "W01").startswith(f"vcf-{SHA[:16]}-")


def test_the_default_cohort_is_the_file_name() -> None:
    assert cohort_of("1kg.vcf.gz") == "1kg"
    assert cohort_of("pack A.bcf") == "pack_A"
    assert cohort_of("calls.vcf.bgz") == "calls"


# -- sample names that are not identifiers --------------------------------------------------------


def test_a_sample_name_that_is_not_an_identifier_is_published_sanitised() -> None:
    out = build_events(scan(summary("wolf 1"), summary("wolf_1"), summary("é/2")), RUN)
    ids = [e.individual_id for e in out.samples]
    assert ids[1] == "wolf_1"
    assert ids[0].startswith("wolf_1-") and ids[0] != "wolf_1"  # never another sample's id
    assert ids[2].startswith("_2-")
    assert out.renamed == [("wolf 1", ids[0]), ("é/2", ids[2])]
    assert (
        individual_id_of("x" * 300).startswith("x" * 180) and len(individual_id_of("x" * 300)) < 200
    )
    # the label file may name a renamed sample either way
    tab = labels("wolf 1,alive", f"{ids[2]},dead")
    done = build_events(scan(summary("wolf 1"), summary("é/2")), RUN, tab)
    assert {(o.subject, o.label) for o in done.outcomes} == {(ids[0], True), (ids[2], False)}


# -- problems -> dead letters -------------------------------------------------------------------


def test_problems_are_dead_lettered_with_file_line_and_reason() -> None:
    problems = (
        VcfProblem("no calls in any site", sample="W09"),
        VcfProblem("REF is empty", line=41),
        VcfProblem("3 calls not diploid", line=57, sample="W01"),
    )
    out = build_events(scan(summary("W01"), problems=problems), RUN)
    assert [e.individual_id for e in out.samples] == ["W01"]  # a sample with a summary stays
    assert out.samples_rejected == 1 and out.site_problems == 2
    letters = [r.letter() for r in out.rejections]
    assert [(d.origin_file, d.origin_line, d.stage) for d in letters] == [
        ("wolves.vcf.gz", None, "producer"),
        ("wolves.vcf.gz", 41, "producer"),
        ("wolves.vcf.gz", 57, "producer"),
    ]
    assert letters[0].reason == "sample 'W09': no calls in any site"
    assert letters[0].origin_key == "W09"
    payload = json.loads(letters[1].raw_payload())
    assert payload == {
        "source_uri": "file:///data/wolves.vcf.gz",
        "source_sha256": SHA,
        "region": "chr2:1-50000",
        "line": 41,
        "sample": None,
        "reason": "REF is empty",
    }
    again = [r.letter().event_id for r in build_events(scan(problems=problems), RUN).rejections]
    assert again == [d.event_id for d in letters] and len(set(again)) == 3


def test_a_summary_its_schema_refuses_is_dead_lettered_not_raised() -> None:
    bad = SampleSummary("W03", 10, 11, 5.0, -0.1, 0.5, 1.2, 0.0, 0.0)  # more hom than sites
    out = build_events(scan(summary("W01"), bad), RUN)
    assert [e.individual_id for e in out.samples] == ["W01"]
    assert out.samples_rejected == 1
    letter = out.rejections[0].letter()
    assert letter.reason.startswith("sample 'W03': ") and letter.error_class == "ValidationError"
    assert json.loads(letter.raw_payload())["individual_id"] == "W03"


def test_without_a_species_a_sample_is_dead_lettered() -> None:
    run = VcfRun(file="x.vcf", cohort="x", species=None, at=AT)
    tab = labels("W01,alive,dire_wolf", "W02,dead,", header="sample,label,species")
    out = build_events(scan(summary("W01"), summary("W02")), run, tab)
    assert [(e.individual_id, e.species) for e in out.samples] == [("W01", "dire_wolf")]
    assert "no species" in out.rejections[0].reason
    # W02's label names a sample that was not published: its row is dead-lettered too
    assert out.labels_rejected == 1 and "was not published (no species" in out.rejections[1].reason


# -- labels ---------------------------------------------------------------------------------------


def test_label_words_and_what_is_not_known_yet() -> None:
    rows = [f"S{n},{word}" for n, word in enumerate(["true", "1", "Alive", " YES ", "survived"])]
    rows += [f"D{n},{word}" for n, word in enumerate(["false", "0", "dead", "no", "NonViable"])]
    rows += ["U1,", "U2,NA", "U3,unknown"]
    tab = labels(*rows)
    assert {s for s, lab in tab.labels.items() if lab.survived} == {f"S{n}" for n in range(5)}
    assert {s for s, lab in tab.labels.items() if not lab.survived} == {f"D{n}" for n in range(5)}
    assert tab.unknown == 3 and tab.errors == [] and tab.rows == 13


def test_bad_label_rows_are_errors_with_their_line() -> None:
    tab = labels("W01,alive", "W02,maybe", ",dead", "W01,dead")
    assert list(tab.labels) == ["W01"]
    assert [(e.line, e.reason.split(" ")[0]) for e in tab.errors] == [
        (3, "label"),
        (4, "no"),
        (5, "sample"),
    ]
    assert "'maybe' is not one of" in tab.errors[0].reason
    assert "labelled twice (first on line 2)" in tab.errors[2].reason
    assert tab.errors[0].raw == b"W02,maybe"


def test_the_sample_column_defaults_to_the_first_and_label_is_required() -> None:
    tab = labels("W01,true", header="Individual,LABEL")
    assert tab.labels["W01"].survived is True
    with pytest.raises(ValueError, match="no 'label' column"):
        labels("W01,true", header="sample,alive")


def test_unreadable_label_rows_come_from_the_file_with_their_line(tmp_path: Path) -> None:
    path = tmp_path / "labels.csv"
    path.write_bytes(b"sample,label,species\nW01,alive,dire_wolf\nW02,dead\n\nW03,\xff,x\n")
    tab = parse_labels(read_rows(path))
    assert tab.labels["W01"].species == "dire_wolf" and tab.has_species
    assert [e.line for e in tab.errors] == [3, 5]
    assert "2 fields" in tab.errors[0].reason and "not valid utf-8" in tab.errors[1].reason


def test_labels_become_outcomes_naming_their_sample_event() -> None:
    tab = labels("W01,alive", "W02,dead", "W77,alive", "W03,")
    run = VcfRun(**{**RUN.__dict__, "label_file": "labels.csv"})
    out = build_events(scan(summary("W01"), summary("W02"), summary("W03")), run, tab)
    by_subject = {o.subject: o for o in out.outcomes}
    assert set(by_subject) == {"W01", "W02"}
    w01 = by_subject["W01"]
    assert isinstance(w01, Outcome) and w01.kind == OutcomeKind.VIABILITY and w01.label is True
    assert w01.event_ref == out.samples[0].event_id and w01.event_time == AT
    assert w01.event_id == f"{out.samples[0].event_id}.viability"
    assert out.labels_rejected == 1
    letter = out.rejections[0].letter()
    assert (letter.origin_file, letter.origin_line) == ("labels.csv", 4)
    assert letter.reason == "no sample 'W77' in wolves.vcf.gz" and letter.payload == "W77,alive"
    # a label of a sample --samples left out is neither an outcome nor an error
    picked = VcfRun(**{**run.__dict__, "selected": ("W01",)})
    only = build_events(scan(summary("W01")), picked, tab)
    assert len(only.outcomes) == 1 and only.labels_unselected == 2 and only.labels_rejected == 0


def test_samples_in_equal_published_plus_dead_lettered() -> None:
    bad = SampleSummary("W04", 10, 11, 5.0, -0.1, 0.5, 1.2, 0.0, 0.0)
    problems = (VcfProblem("no calls", sample="W05"), VcfProblem("no calls", sample="W06"))
    out = build_events(scan(summary("W01"), summary("W02"), bad, problems=problems), RUN)
    assert len(out.samples) + out.samples_rejected == 5
    assert all(isinstance(e, GenomicSample) for e in out.samples)
