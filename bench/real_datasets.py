"""The real datasets `bench.real_data` replays, written out as the CSV files a user would have.

Each comes from a file a package ships (no download): river's datasets folder, and the
`palmerpenguins` wheel (the `bench` extra: `pip install -e ".[bench]"`). The files are copied
as they are, labels coded as the source codes them; only Bananas, shipped in libsvm format, is
rewritten as CSV (its labels stay -1/1).

| name | task | rows | what it tests |
|---|---|---|---|
| phishing | binary | 1,250 | numeric features, 0/1 labels |
| bananas | binary | 5,300 | labels coded -1/1 |
| segment | multiclass | 2,310 | string classes (path, sky, ...) |
| trump_approval | regression | 1,001 | a float target |
| penguins | multiclass | 344 | categorical columns, "NA" cells, string classes |
"""

from __future__ import annotations

import csv
import gzip
import importlib.util
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

import river.datasets

RIVER = Path(river.datasets.__file__).parent


@dataclass(frozen=True)
class Dataset:
    name: str
    label_column: str
    task: str
    """What `lazarus spec init --task auto` should infer."""
    about: str


DATASETS = (
    Dataset("phishing", "is_phishing", "binary", "binary, numeric features"),
    Dataset("bananas", "label", "binary", "binary, labels coded -1/1"),
    Dataset("segment", "category", "multiclass", "multiclass, string classes"),
    Dataset("trump_approval", "five_thirty_eight", "regression", "regression"),
    Dataset("penguins", "species", "multiclass", "categorical columns and NA cells"),
)


def write(dataset: Dataset, folder: Path) -> Path:
    """Write `dataset` as `folder/<name>.csv`; returns the path."""
    out = folder / f"{dataset.name}.csv"
    writer = _WRITERS[dataset.name]
    writer(out)
    return out


def _phishing(out: Path) -> None:
    with gzip.open(RIVER / "phishing.csv.gz", "rb") as src, out.open("wb") as dst:
        shutil.copyfileobj(src, dst)


def _trump(out: Path) -> None:
    with gzip.open(RIVER / "trump_approval.csv.gz", "rb") as src, out.open("wb") as dst:
        shutil.copyfileobj(src, dst)


def _segment(out: Path) -> None:
    with zipfile.ZipFile(RIVER / "segment.csv.zip") as z:
        out.write_bytes(z.read(z.namelist()[0]))


def _bananas(out: Path) -> None:
    """libsvm (`-1 1:1.61 2:-0.91`) to CSV (x1,x2,label)."""
    with zipfile.ZipFile(RIVER / "banana.zip") as z:
        text = z.read(z.namelist()[0]).decode()
    with out.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["x1", "x2", "label"])
        for line in text.splitlines():
            if not line.strip():
                continue
            label, *pairs = line.split()
            values = dict(p.split(":", 1) for p in pairs)
            w.writerow([values.get("1", ""), values.get("2", ""), label])


def _penguins(out: Path) -> None:
    spec = importlib.util.find_spec("palmerpenguins")  # the file only: importing needs pandas
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(
            "bench.real_data needs the palmerpenguins wheel: pip install -e '.[bench]' "
            "-c requirements/constraints.txt"
        )
    src = Path(next(iter(spec.submodule_search_locations))) / "data" / "penguins.csv"
    out.write_bytes(src.read_bytes())


_WRITERS = {
    "phishing": _phishing,
    "bananas": _bananas,
    "segment": _segment,
    "trump_approval": _trump,
    "penguins": _penguins,
}
