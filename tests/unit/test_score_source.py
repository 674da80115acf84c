"""Scores name the file their input came from (`input_source_sha256`), and only then."""

from __future__ import annotations

from datetime import UTC, datetime

from lazarus.producers.genome_sim import GenomicsLab, LabConfig
from lazarus.schemas import GenomicSample, Score
from lazarus.schemas.topics import GENOMIC_SAMPLES
from lazarus.scorer.render import ScoreRenderer, source_of

AT = datetime(2026, 5, 1, 12, tzinfo=UTC).isoformat()
SHA = "ab" * 32


def test_a_score_of_an_input_with_a_source_file_names_its_sha256() -> None:
    renderer = ScoreRenderer("viability", 3, {"t:0": 5})
    _, raw = renderer.render("vcf-1", "HG00096", True, {False: 0.4, True: 0.6}, AT, 1.0,
                             source_sha256=SHA)  # fmt: skip
    score = Score.model_validate_json(raw)
    assert score.input_source_sha256 == SHA and score.model_version == 3
    _, plain = renderer.render("vcf-1", "HG00096", True, None, AT, 1.0)
    assert b"input_source_sha256" not in plain
    assert Score.model_validate_json(plain).input_source_sha256 is None
    keyed = renderer.render("e", "s", True, None, AT, 1.0, model_key="k", route="key",
                            source_sha256=SHA)[1]  # fmt: skip
    assert Score.model_validate_json(keyed).input_source_sha256 == SHA


def test_the_source_is_read_only_from_inputs_that_name_a_file() -> None:
    sample = next(iter(GenomicsLab(LabConfig(seed=1), datetime(2026, 1, 1, tzinfo=UTC))))[1]
    simulated = GENOMIC_SAMPLES.decode(sample)
    getter = source_of(GenomicSample)
    assert getter is not None and getter(simulated) is None  # a simulated sample names none
    from_vcf = simulated.model_copy(update={"source_uri": "file:///x.vcf", "source_sha256": SHA})
    assert getter(from_vcf) == SHA
