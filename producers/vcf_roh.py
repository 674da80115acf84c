"""Runs of homozygosity as PLINK 1.9 `--homozyg` finds them, and F_ROH (pure numpy).

PLINK 1.9's scan (`calc_homozyg`/`roh_update` in plink_homozyg.c), with its defaults
(`HomozygParams`), streamed over sites and vectorised over samples:

* per chromosome, a window of `window_snps` consecutive sites slides one site at a time; a
  window is a hit for a sample when it holds at most `window_het` heterozygous and at most
  `window_missing` missing calls (a half-missing call is missing);
* a site is in a run when at least floor(c * threshold + 1 - eps) of the c windows covering
  it are hits (c = 50 inside the chromosome, fewer at its ends): 3 of 50 by default;
* a run ends at a site that is not, at the chromosome's end, and before a gap of more than
  `gap_bp` between consecutive sites (windows span gaps; runs do not);
* a run is kept with at least `min_snps` sites, a length (last - first + 1, bp) of at least
  `min_bp`, and at most `density_bp` per site. A chromosome of fewer than `window_snps`
  sites has no run.

F_ROH (McQuillan et al. 2008) = the length in kept runs / the length covered: the sum over
chromosomes of last - first + 1 of the sites scanned (0 when nothing is covered).

Memory: O(samples x window), whatever the number of sites; the runs found are kept
(`runs`), a few per sample and chromosome.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]
PLINK_EPSILON = 2.0**-21
"""Tolerance of PLINK's hit-count threshold."""


@dataclass(frozen=True)
class HomozygParams:
    """PLINK 1.9 --homozyg's defaults (`--homozyg-window-snp 50`, `-window-het 1`,
    `-window-missing 5`, `-window-threshold 0.05`, `-gap 1000`, `-snp 100`, `-kb 1000`,
    `-density 50`)."""

    window_snps: int = 50
    window_het: int = 1
    window_missing: int = 5
    threshold: float = 0.05
    gap_bp: int = 1_000_000
    min_snps: int = 100
    min_bp: int = 1_000_000
    density_bp: int = 50_000

    def min_hits(self, covering: int) -> int:
        """Hit windows needed among `covering` for a site to be in a run (PLINK's swhit_min).

        >>> HomozygParams().min_hits(50), HomozygParams().min_hits(20)
        (3, 1)
        """
        return int(covering * self.threshold + 1.0 - PLINK_EPSILON)


@dataclass
class RohScanner:
    """Feed diploid sites in file order (`add`), then `finish()`; read `runs_count`,
    `runs_bp`, `covered_bp`, `f_roh()` and `runs` [(sample index, chrom, first, last)].

    A site on a new chromosome, or at a position before the previous one, starts a new block
    (`unsorted` then names the first such site: a sorted file has none)."""

    n_samples: int
    params: HomozygParams = field(default_factory=HomozygParams)
    runs: list[tuple[int, str, int, int]] = field(default_factory=list)
    covered_bp: int = 0
    unsorted: tuple[str, int] | None = None

    def __post_init__(self) -> None:
        k, w = self.n_samples, self.params.window_snps
        self.runs_count = np.zeros(k, dtype=np.int64)
        self.runs_bp = np.zeros(k, dtype=np.int64)
        self._het = np.zeros((w, k), dtype=np.bool_)
        self._miss = np.zeros((w, k), dtype=np.bool_)
        self._hits = np.zeros((w, k), dtype=np.bool_)
        self._pos = np.zeros(w, dtype=np.int64)
        self._het_ct = np.zeros(k, dtype=np.int64)
        self._miss_ct = np.zeros(k, dtype=np.int64)
        self._hit_ct = np.zeros(k, dtype=np.int64)
        self._open = np.zeros(k, dtype=np.bool_)
        self._start_idx = np.zeros(k, dtype=np.int64)
        self._start_pos = np.zeros(k, dtype=np.int64)
        self._chrom: str | None = None
        self._n = 0  # sites in the current block
        self._first_pos = 0
        self._last_pos = 0
        self._prev_scanned: int | None = None  # position of the last site decided

    def add(self, chrom: str, pos: int, het: BoolArray, missing: BoolArray) -> None:
        """One site: its chromosome, 1-based position, and per sample whether the call is
        heterozygous / missing."""
        if chrom != self._chrom or pos < self._last_pos:
            if chrom == self._chrom and self.unsorted is None:
                self.unsorted = (chrom, pos)
            self._end_block()
            self._chrom, self._first_pos = chrom, pos
        w = self.params.window_snps
        slot = self._n % w
        self._het[slot], self._miss[slot], self._pos[slot] = het, missing, pos
        self._het_ct += het
        self._miss_ct += missing
        self._n += 1
        self._last_pos = pos
        if self._n >= w:
            self._window_complete(self._n - w)

    def finish(self) -> None:
        """End of the sites: the last block's tail is decided and its runs closed."""
        self._end_block()

    def f_roh(self) -> npt.NDArray[np.float64]:
        """Per sample: bp in runs / bp covered (0.0 when nothing is covered)."""
        if self.covered_bp == 0:
            return np.zeros(self.n_samples)
        return np.minimum(1.0, self.runs_bp / self.covered_bp)

    def _window_complete(self, start: int) -> None:
        """The window of sites start .. start + w - 1 is full: decide site `start`."""
        p, w = self.params, self.params.window_snps
        slot = start % w
        hit = (self._het_ct <= p.window_het) & (self._miss_ct <= p.window_missing)
        if start >= w:  # the window that started w sites ago no longer covers `start`
            self._hit_ct -= self._hits[slot]
        self._hits[slot] = hit
        self._hit_ct += hit
        self._decide(start, self._hit_ct >= p.min_hits(min(start + 1, w)))
        self._het_ct -= self._het[slot]
        self._miss_ct -= self._miss[slot]

    def _decide(self, index: int, in_run: BoolArray) -> None:
        """Site `index` of the block is (or is not) in a run, per sample."""
        pos = int(self._pos[index % self.params.window_snps])
        prev = self._prev_scanned
        forced_end = prev is not None and pos - prev > self.params.gap_bp
        closing = self._open & (~in_run | forced_end)
        if closing.any() and prev is not None:
            self._close(closing, index, prev)
        starting = in_run & ~self._open
        self._start_idx[starting] = index
        self._start_pos[starting] = pos
        self._open |= in_run
        self._prev_scanned = pos

    def _close(self, closing: BoolArray, end_index: int, last_pos: int) -> None:
        """End the open runs of `closing` before site `end_index`; keep those PLINK keeps."""
        p = self.params
        nsnp = end_index - self._start_idx
        length = last_pos + 1 - self._start_pos
        keep = (
            closing & (nsnp >= p.min_snps) & (length >= p.min_bp) & (nsnp * p.density_bp >= length)
        )
        for i in np.flatnonzero(keep):
            self.runs.append((int(i), str(self._chrom), int(self._start_pos[i]), last_pos))
        self.runs_count += keep
        self.runs_bp += np.where(keep, length, 0)
        self._open &= ~closing

    def _end_block(self) -> None:
        if self._chrom is None:
            return
        n, w, p = self._n, self.params.window_snps, self.params
        self.covered_bp += self._last_pos - self._first_pos + 1
        if n >= w:
            for index in range(n - w + 1, n):  # the last w - 1 sites: fewer windows cover them
                self._hit_ct -= self._hits[index % w]
                self._hits[index % w] = False
                self._decide(index, self._hit_ct >= p.min_hits(n - index))
            self._close(self._open.copy(), n, self._last_pos)
        self._reset_block()

    def _reset_block(self) -> None:
        for array in (self._het, self._miss, self._hits):
            array[:] = False
        for counts in (self._het_ct, self._miss_ct, self._hit_ct):
            counts[:] = 0
        self._open[:] = False
        self._chrom, self._n, self._prev_scanned = None, 0, None
        self._last_pos = 0
