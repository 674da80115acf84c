"""A scanned VCF as events (pure): one `GenomicSample` (v2) per individual, a viability
`Outcome` per labelled individual, and a `Rejection` per problem.

What goes out is the summaries and the file's identity (`source_uri`, `source_sha256`,
`region`), never a genotype: a dead letter about a site or a sample carries the problem
(file, sha256, line, sample, reason) as JSON, not the VCF line.

Ids are deterministic: a sample's `event_id` is `vcf_event_id(sha256, region, sample)`, its
outcome's that id + `.viability`, a dead letter's derived from the file's sha256 and the
problem; running the same file again repeats every id, so consumers deduplicate it.

A VCF sample name that is not an `Identifier` (letters, digits, `_.:-`, at most 200) is
published under a sanitised `individual_id` (`individual_id_of`), reported on stderr; the
label file may name it either way.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime

from pydantic import ValidationError

from lazarus.dead_letters.rejection import Rejection, reason_of
from lazarus.producers.ids import Payload, encode
from lazarus.producers.vcf_labels import Label, LabelTable
from lazarus.producers.vcf_types import SampleSummary, ScanResult, VcfProblem
from lazarus.schemas.deadletter import dead_letter_id
from lazarus.schemas.genomics import HET_METHOD, ROH_METHOD, GenomicSample
from lazarus.schemas.outcomes import Outcome, OutcomeKind

SUMMARY_METHODS = f"{HET_METHOD};{ROH_METHOD}"
_IDENTIFIER = re.compile(r"[A-Za-z0-9_.:\-]{1,200}")
_NOT_IDENTIFIER = re.compile(r"[^A-Za-z0-9_.:\-]+")
_SUFFIXES = (".gz", ".bgz", ".bgzf", ".vcf", ".bcf")


@dataclass(frozen=True)
class VcfRun:
    """What `lazarus produce vcf` was told besides the scan: `file` as given (dead letters'
    origin), the cohort, the default species (None: only the label file's), the event time,
    the label file (as given), and the `--samples` chosen (None: all)."""

    file: str
    cohort: str
    species: str | None
    at: datetime
    label_file: str | None = None
    selected: tuple[str, ...] | None = None


@dataclass
class VcfEvents:
    """What to publish, and what to dead-letter, with the counts the summary line reports.

    Samples in = `len(samples) + samples_rejected`; label rows with a label =
    `len(outcomes) + labels_rejected + labels_unselected`."""

    samples: list[GenomicSample] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    renamed: list[tuple[str, str]] = field(default_factory=list)
    """(name in the VCF, `individual_id` published) of each sample not an Identifier."""
    samples_rejected: int = 0
    site_problems: int = 0
    """Problems about a site or the file (not a sample), dead-lettered."""
    labels_rejected: int = 0
    labels_unselected: int = 0
    """Labels of samples left out by `--samples`: not an error, no outcome."""


def vcf_event_id(sha256: str, region: str | None, sample: str) -> str:
    """The sample's event id: the same file, region and sample always give the same id.

    >>> vcf_event_id("ab" * 32, None, "HG00096")
    'vcf-abababababababab-440237410157a488'
    """
    digest = hashlib.blake2b(
        f"{sha256}|{region or ''}|{sample}".encode("utf-8", "surrogatepass"), digest_size=8
    )
    return f"vcf-{sha256[:16]}-{digest.hexdigest()}"


def individual_id_of(sample: str) -> str:
    """`sample` if it is an Identifier; else its runs of other characters as `_`, cut to 180,
    and a hash of the name (two names never share an id).

    >>> individual_id_of("HG00096"), individual_id_of("wolf #3/b")
    ('HG00096', 'wolf_3_b-9d5e96fa')
    """
    if _IDENTIFIER.fullmatch(sample):
        return sample
    digest = hashlib.blake2b(sample.encode("utf-8", "surrogatepass"), digest_size=4)
    return f"{_NOT_IDENTIFIER.sub('_', sample)[:180]}-{digest.hexdigest()}"


def cohort_of(file_name: str) -> str:
    """The default cohort: the file's name without its VCF and compression suffixes.

    >>> cohort_of("1kg.vcf.gz"), cohort_of("wolves 2024.bcf"), cohort_of(".vcf")
    ('1kg', 'wolves_2024', 'vcf')
    """
    name = file_name
    while name.lower().endswith(_SUFFIXES):
        name = name[: name.rfind(".")]
    name = _NOT_IDENTIFIER.sub("_", name)[:200]
    return name if _IDENTIFIER.fullmatch(name) else "vcf"


def sample_payload(
    summary: SampleSummary, scan: ScanResult, run: VcfRun, species: str | None
) -> Payload:
    """The wire payload of one individual's `GenomicSample` (not yet validated)."""
    return {
        "event_id": vcf_event_id(scan.sha256, scan.region, summary.sample),
        "event_time": run.at.isoformat(),
        "schema_version": 2,
        "individual_id": individual_id_of(summary.sample),
        "species": species,
        "cohort_id": run.cohort,
        "called_sites": summary.called_sites,
        "observed_homozygous": summary.observed_homozygous,
        "expected_homozygous": summary.expected_homozygous,
        "observed_heterozygosity": summary.observed_heterozygosity,
        "expected_heterozygosity": summary.expected_heterozygosity,
        "inbreeding_f": summary.inbreeding_f,
        "inbreeding_f_roh": summary.inbreeding_f_roh,
        "missingness": summary.missingness,
        "summary_methods": SUMMARY_METHODS,
        "source_uri": scan.uri,
        "source_sha256": scan.sha256,
        "region": scan.region,
    }


def build_events(scan: ScanResult, run: VcfRun, labels: LabelTable | None = None) -> VcfEvents:
    """The events of a complete scan (`scan.complete`: the shell never builds from a file cut
    short); never raises for a sample, a problem or a label row."""
    out = VcfEvents()
    by_name = {lab.sample: lab for lab in labels.labels.values()} if labels else {}
    published: dict[str, GenomicSample] = {}
    unpublished: dict[str, str] = {}
    with_summary = {s.sample for s in scan.samples}
    for summary in scan.samples:
        label = by_name.get(summary.sample) or by_name.get(individual_id_of(summary.sample))
        event = _sample_event(summary, scan, run, label, out)
        if event is None:
            origin = f"sample {summary.sample!r}: "
            unpublished[summary.sample] = out.rejections[-1].reason.removeprefix(origin)
        else:
            published[summary.sample] = event
    for problem in scan.problems:
        out.rejections.append(problem_rejection(problem, scan, run))
        if problem.sample is None or problem.sample in with_summary:
            out.site_problems += 1
        elif problem.sample not in unpublished:  # one sample, however many letters
            unpublished[problem.sample] = problem.reason
            out.samples_rejected += 1
    if labels is not None:
        _label_events(labels, published, unpublished, scan, run, out)
    return out


def _sample_event(
    summary: SampleSummary, scan: ScanResult, run: VcfRun, label: Label | None, out: VcfEvents
) -> GenomicSample | None:
    species = (label.species if label else None) or run.species
    payload = sample_payload(summary, scan, run, species)
    ident = payload["individual_id"]
    if ident != summary.sample:
        out.renamed.append((summary.sample, ident))
    origin = f"sample {summary.sample!r}: "
    try:
        if species is None:
            raise ValueError("no species: give --species, or a species column in --label-file")
        event = GenomicSample.model_validate(payload)
    except (ValidationError, ValueError) as exc:
        out.rejections.append(
            Rejection(
                stage="producer",
                raw=encode(payload),
                reason=origin + reason_of(exc),
                error_class=type(exc).__name__,
                key=ident,
                file=run.file,
                letter_id=dead_letter_id(f"vcf:{scan.sha256}:{scan.region}", summary.sample),
            )
        )
        out.samples_rejected += 1
        return None
    out.samples.append(event)
    return event


def problem_rejection(problem: VcfProblem, scan: ScanResult, run: VcfRun) -> Rejection:
    """The dead letter of a problem met in the file: its payload names the file, the line and
    the sample (JSON), never the line's genotypes."""
    where = f"sample {problem.sample!r}: " if problem.sample is not None else ""
    payload = {
        "source_uri": scan.uri,
        "source_sha256": scan.sha256,
        "region": scan.region,
        "line": problem.line,
        "sample": problem.sample,
        "reason": problem.reason,
    }
    position = f"{problem.line}|{problem.sample}|{problem.reason}"
    return Rejection(
        stage="producer",
        raw=encode(payload),
        reason=where + problem.reason,
        error_class="VcfProblem",
        key=None if problem.sample is None else individual_id_of(problem.sample),
        file=run.file,
        line=problem.line,
        letter_id=dead_letter_id(f"vcf:{scan.sha256}:{scan.region}", position),
    )


def _label_events(
    labels: LabelTable,
    published: dict[str, GenomicSample],
    unpublished: dict[str, str],
    scan: ScanResult,
    run: VcfRun,
    out: VcfEvents,
) -> None:
    """An outcome per label of a published sample; every other label row dead-lettered (but
    those of samples `--samples` left out)."""
    by_id = {event.individual_id: name for name, event in published.items()}
    selected = None if run.selected is None else set(run.selected)
    for error in labels.errors:
        out.rejections.append(_label_rejection(error.line, error.raw, error.reason, scan, run))
        out.labels_rejected += 1
    for label in labels.labels.values():
        name = label.sample if label.sample in published else by_id.get(label.sample)
        if name is not None:
            event = published[name]
            out.outcomes.append(
                Outcome(
                    event_id=f"{event.event_id}.viability",
                    event_time=run.at,
                    kind=OutcomeKind.VIABILITY,
                    subject=event.individual_id,
                    event_ref=event.event_id,
                    label=label.survived,
                )
            )
            continue
        if selected is not None and label.sample not in selected:
            out.labels_unselected += 1
            continue
        why = unpublished.get(label.sample)
        reason = (
            f"sample {label.sample!r} was not published ({why})"
            if why is not None
            else f"no sample {label.sample!r} in {run.file}"
        )
        out.rejections.append(_label_rejection(label.line, label.raw, reason, scan, run))
        out.labels_rejected += 1


def _label_rejection(
    line: int, raw: bytes, reason: str, scan: ScanResult, run: VcfRun
) -> Rejection:
    return Rejection(
        stage="producer",
        raw=raw,
        reason=reason,
        error_class="LabelError",
        file=run.label_file,
        line=line,
        letter_id=dead_letter_id(f"vcf-labels:{scan.sha256}:{run.label_file}", line),
    )
