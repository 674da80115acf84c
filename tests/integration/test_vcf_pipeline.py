"""A real VCF end to end: `lazarus produce vcf` -> the viability trainer -> a scorer, on the
embedded broker and a real Redis; and a bad VCF's problems as dead letters."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path
from typing import TypeVar

import pytest

from lazarus.registry.signing import signer_from
from lazarus.schemas import DeadLetter, GenomicSample, Outcome, Score
from lazarus.schemas.base import Event
from lazarus.schemas.manifest import SnapshotManifest
from lazarus.schemas.models import VIABILITY
from lazarus.schemas.topics import (
    DEAD_LETTERS,
    GENOMIC_SAMPLES,
    VIABILITY_OUTCOMES,
    VIABILITY_SCORES,
)
from lazarus.settings import Settings
from lazarus.trainer.app import Cadence, TrainerApp
from lazarus.trainer.specs import viability
from tests.integration.cli import cli_env, lazarus
from tests.integration.kafkatools import read_all, value_of
from tests.integration.scorerkit import running_scorer, wait_until
from tests.integration.trainerkit import log_ends, run_to_end, store_of, with_keys

E = TypeVar("E", bound=Event)
KG = Path("/usr/share/doc/python3-vcf/test/1kg.vcf.gz")
KG_SAMPLES = 629
BAD = Path(__file__).resolve().parents[1] / "fixtures" / "vcf" / "bad_input.vcf"


def kg_file() -> Path:
    if not KG.exists():
        pytest.fail(
            f"{KG} is missing: apt-get install -y python-pyvcf-examples "
            "(Debian's pyvcf test files; scripts/test installs it)"
        )
    return KG


def vcf_samples(path: Path) -> list[str]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt") as f:
        for line in f:
            if line.startswith("#CHROM"):
                return line.rstrip("\n").split("\t")[9:]
    raise AssertionError(f"{path} has no #CHROM header")


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def decoded(settings: Settings, topic: str, cls: type[E], expect: int | None = None) -> list[E]:
    msgs = read_all(settings, topic, expect=expect, timeout=60)
    return [cls.model_validate_json(value_of(m)) for m in msgs]


def test_a_real_vcf_is_learned_and_scored_naming_its_file(
    settings: Settings, topics: list[str], tmp_path: Path
) -> None:
    s = with_keys(settings).with_overrides(scorer_poll_seconds=0.5)
    vcf = kg_file()
    names = vcf_samples(vcf)
    assert len(names) == KG_SAMPLES
    labels = tmp_path / "labels.csv"
    labels.write_text(
        "sample,label\n"
        + "".join(f"{n},{'alive' if i % 3 else 'dead'}\n" for i, n in enumerate(names))
    )
    done = lazarus(
        "produce", "vcf", str(vcf), "--species", "homo_sapiens", "--label-file", str(labels),
        env=cli_env(s), timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"{KG_SAMPLES} samples" in done.stderr and "failed 0" in done.stderr

    p = s.topic_prefix
    samples: list[GenomicSample] = decoded(s, GENOMIC_SAMPLES.full(p), GenomicSample)
    letters: list[DeadLetter] = decoded(s, DEAD_LETTERS.full(p), DeadLetter)
    sample_letters = [d for d in letters if d.origin_file == str(vcf) and d.origin_key]
    assert len(samples) + len(sample_letters) == KG_SAMPLES  # every individual accounted for
    assert len(samples) > KG_SAMPLES // 2
    digest = sha256_of(vcf)
    assert {(e.source_sha256, e.source_uri) for e in samples} == {(digest, vcf.as_uri())}
    assert all(e.schema_version == 2 and e.species == "homo_sapiens" for e in samples)
    assert {e.cohort_id for e in samples} == {"1kg"}
    outcomes: list[Outcome] = decoded(s, VIABILITY_OUTCOMES.full(p), Outcome, len(samples))
    assert {o.event_ref for o in outcomes} == {e.event_id for e in samples}

    # the viability trainer learns them, and publishes a version
    store = store_of(s)
    ends = log_ends(s, [GENOMIC_SAMPLES.full(p), VIABILITY_OUTCOMES.full(p)])
    app = TrainerApp(s, viability(), store, signer_from(s), cadence=Cadence(200, 60))
    app.start(30)
    run_to_end(app, ends, timeout=120)
    assert app.stop() == 0
    version = store.latest("viability")
    sealed = store.get("viability", version)
    assert sealed is not None
    manifest = SnapshotManifest.model_validate_json(sealed.manifest)
    assert manifest.n_learned == len(samples)

    # a scorer scores every sample, each score naming the model version and the VCF
    with running_scorer(s, VIABILITY) as scorer:
        wait_until(lambda: scorer.scored + scorer.dead_letters.count >= len(samples), 120, "scores")
        wait_until(lambda: len(scorer.ledger) == 0, 30, "acknowledgements")
        scored, dead = scorer.scored, scorer.dead_letters.count
    assert scored + dead == len(samples) and scored > 0
    out: list[Score] = decoded(s, VIABILITY_SCORES.full(p), Score, scored)
    assert len(out) == scored
    assert {sc.input_source_sha256 for sc in out} == {digest}
    assert {(sc.model, sc.model_version) for sc in out} == {("viability", version)}
    assert {sc.input_event_id for sc in out} <= {e.event_id for e in samples}


def test_a_bad_vcf_dead_letters_its_problems_and_publishes_the_rest(
    settings: Settings, topics: list[str], tmp_path: Path
) -> None:
    labels = tmp_path / "labels.csv"
    labels.write_text("sample,label\nA,alive\nB,dead\nNOCALLS,alive\nZZ,alive\nC,perhaps\n")
    done = lazarus(
        "produce", "vcf", str(BAD), "--species", "dire_wolf", "--label-file", str(labels),
        "--no-progress", env=cli_env(settings), timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    p = settings.topic_prefix
    samples: list[GenomicSample] = decoded(settings, GENOMIC_SAMPLES.full(p), GenomicSample)
    by_name = {e.individual_id: e for e in samples}
    assert {"A", "B", "C"} <= set(by_name) and "NOCALLS" not in by_name
    renamed = [i for i in by_name if i.startswith("wolf_5-")]
    assert len(renamed) == 1 and "published as individual_id" in done.stderr
    letters: list[DeadLetter] = decoded(settings, DEAD_LETTERS.full(p), DeadLetter)
    from_vcf = [d for d in letters if d.origin_file == str(BAD)]
    assert any(d.origin_line == 8 and "position" in d.reason for d in from_vcf), from_vcf
    assert any(d.origin_key == "NOCALLS" for d in from_vcf), from_vcf
    assert all(b"0/1" not in d.raw_payload() for d in from_vcf)  # never a genotype
    from_labels = {d.origin_line: d.reason for d in letters if d.origin_file == str(labels)}
    assert set(from_labels) == {4, 5, 6}  # NOCALLS (not published), ZZ (not in the file), C
    assert "not published" in from_labels[4] and "no sample 'ZZ'" in from_labels[5]
    outcomes: list[Outcome] = decoded(settings, VIABILITY_OUTCOMES.full(p), Outcome, 2)
    assert {(o.subject, o.label) for o in outcomes} == {("A", True), ("B", False)}


def test_a_vcf_cut_short_publishes_nothing(
    settings: Settings, topics: list[str], tmp_path: Path
) -> None:
    whole = kg_file().read_bytes()
    cut = tmp_path / "cut.vcf.gz"
    cut.write_bytes(whole[: len(whole) // 2])
    done = lazarus(
        "produce", "vcf", str(cut), "--species", "homo_sapiens", "--no-progress",
        env=cli_env(settings), timeout=120,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and str(cut) in lines[0] and "nothing was published" in lines[0]
    p = settings.topic_prefix
    for topic in (GENOMIC_SAMPLES, DEAD_LETTERS, VIABILITY_OUTCOMES):
        assert read_all(settings, topic.full(p), timeout=5, idle=1) == []
