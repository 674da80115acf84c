"""A simulated habitat sensor network: sites × sensors, seasons, days, noise, gaps and faults."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from lazarus.producers.ids import Emitted, Stamped, epoch_ms
from lazarus.producers.truth import habitat_logit
from lazarus.schemas import Location, SensorKind

MEASURES_BY_KIND: dict[SensorKind, tuple[str, ...]] = {
    SensorKind.CLIMATE: (
        "temperature_c",
        "relative_humidity",
        "precipitation_mm",
        "wind_speed_m_s",
    ),
    SensorKind.SOIL: ("soil_moisture", "soil_temperature_c", "soil_ph"),
    SensorKind.VEGETATION: ("ndvi", "canopy_cover"),
    SensorKind.ACOUSTIC: ("acoustic_index", "sound_level_db"),
    SensorKind.EDNA: ("edna_copies_per_l",),
}
KINDS = tuple(MEASURES_BY_KIND)
BLOCK = 4096
"""Readings drawn per numpy call (whole ticks)."""


@dataclass(frozen=True)
class Site:
    site_id: str
    location: Location
    warmth_c: float
    wetness: float
    effect: float


@dataclass(frozen=True)
class SimConfig:
    seed: int = 7
    sites: int = 12
    sensors_per_site: int = 5
    interval_s: float = 600.0
    """Simulated seconds between two readings of the same sensor (paced feeds derive it from
    their rate: `producers.clock`)."""
    drift_at: int = 50_000
    """The concept drift starts at this reading (0: from the start; negative: never)."""
    missing_rate: float = 0.05
    fault_rate: float = 0.002
    """Share of readings carrying a faulty value (out of range: downstream dead-letters it)."""
    label_fraction: float = 1.0
    """Share of readings that get an outcome."""
    label_delay_s: float = 5.0
    """Outcome time minus feature time."""


class SensorNetwork:
    """`for key, reading, outcome in SensorNetwork(cfg, start): ...`, values as JSON bytes.

    The key is the site (readings and their outcomes share it, so a site stays
    on one partition); the outcome is the reading's hidden label, or None.

    Each tick (one reading per sensor) is drawn with numpy in one go, then
    rendered to JSON from pre-rendered pieces: the simulator has to outrun the
    broker. tests/unit/test_simulators.py validates the bytes against the
    SensorReading and Outcome contracts.
    """

    def __init__(self, cfg: SimConfig, start: datetime) -> None:
        self.cfg = cfg
        self.start = start
        r = random.Random(cfg.seed)
        self.sites = [self._site(r, i) for i in range(cfg.sites)]

    @staticmethod
    def _site(r: random.Random, i: int) -> Site:
        return Site(
            site_id=f"site-{i:03d}",
            location=Location(
                lat=round(r.uniform(-45, 65), 4),
                lon=round(r.uniform(-170, 170), 4),
                elevation_m=round(r.uniform(0, 2500), 1),
            ),
            warmth_c=r.uniform(6.0, 22.0),
            wetness=r.uniform(0.1, 0.5),
            effect=r.gauss(0.0, 0.7),
        )

    def __iter__(self) -> Iterator[Emitted]:
        for key, reading, outcome, _, _ in self.stamped():
            yield key, reading, outcome

    def stamped(self) -> Iterator[Stamped]:
        """As iteration, with the reading's and the outcome's event times (ms since the epoch).
        Each iteration starts again from the seed."""
        cfg, g = self.cfg, np.random.default_rng(self.cfg.seed)
        sensors = [  # (site, kind, JSON body up to the measurements) in emission order
            (
                site,
                KINDS[s % len(KINDS)],
                f'"site_id":"{site.site_id}","sensor_id":"{site.site_id}-{KINDS[s % len(KINDS)].value}-{s}",'
                f'"kind":"{KINDS[s % len(KINDS)].value}","location":{site.location.model_dump_json()},'
                '"measurements":{',
            )
            for site in self.sites
            for s in range(cfg.sensors_per_site)
        ]
        per_tick = len(sensors)
        ticks = max(1, BLOCK // per_tick)
        size = ticks * per_tick
        kinds = [kind for _, kind, _ in sensors] * ticks
        rows_of = {
            k: np.array([i for i, kind in enumerate(kinds) if kind is k], dtype=np.int64)
            for k in KINDS
        }
        warmth = np.tile([site.warmth_c for site, _, _ in sensors], ticks)
        wetness = np.tile([site.wetness for site, _, _ in sensors], ticks)
        effect = np.tile([site.effect for site, _, _ in sensors], ticks)
        seed, n0, tick0 = cfg.seed, 0, 0
        while True:
            times = [
                self.start + timedelta(seconds=(tick0 + t) * cfg.interval_s) for t in range(ticks)
            ]
            rendered, labels = self._block(g, times, per_tick, n0, rows_of, warmth, wetness, effect)
            for t, at in enumerate(times):
                stamp = f'","event_time":"{at.isoformat()}","schema_version":1,'
                later = at + timedelta(seconds=cfg.label_delay_s)
                outcome_stamp = f'","event_time":"{later.isoformat()}",'
                at_ms, later_ms = epoch_ms(at), epoch_ms(later)
                base = t * per_tick
                for i, (site, _, body) in enumerate(sensors):
                    n = n0 + base + i
                    reading = f'{{"event_id":"sensor-{seed}-{n}{stamp}{body}{rendered[base + i]}}}}}'.encode()
                    label = labels[base + i]
                    outcome = (
                        None
                        if label is None
                        else (
                            f'{{"event_id":"habitat-outcome-{seed}-{n}{outcome_stamp}"schema_version":1,'
                            f'"kind":"habitat_occupancy","subject":"{site.site_id}",'
                            f'"event_ref":"sensor-{seed}-{n}","label":{label}}}'
                        ).encode()
                    )
                    yield site.site_id, reading, outcome, at_ms, later_ms
            n0 += size
            tick0 += ticks

    def _block(
        self,
        g: np.random.Generator,
        times: list[datetime],
        per_tick: int,
        n0: int,
        rows_of: dict[SensorKind, np.ndarray],
        warmth: np.ndarray,
        wetness: np.ndarray,
        effect: np.ndarray,
    ) -> tuple[list[str], list[str | None]]:
        """Each reading's measurements as JSON members, and its label ('true'/'false'/None), for a block.

        The draws from `g` come in a fixed order (noise, precipitation, presence, faults,
        labelling, labels): the same seed gives the same bytes.
        """
        cfg = self.cfg
        size = len(warmth)
        season, diurnal = _cycles(times, per_tick)
        columns = _columns(g, season, diurnal, warmth, wetness)
        present = g.random((4, size)) >= cfg.missing_rate
        faulty = g.random(size) < cfg.fault_rate
        drifted = (np.arange(n0, n0 + size) >= cfg.drift_at) & (cfg.drift_at >= 0)
        logit = effect.copy()
        rendered: list[str] = [""] * size
        for kind, idx in rows_of.items():
            if len(idx):
                _render_kind(kind, idx, columns, present, faulty, drifted, logit, rendered)
        return rendered, _labels(g, logit, cfg.label_fraction)


def _cycles(times: list[datetime], per_tick: int) -> tuple[np.ndarray, np.ndarray]:
    """The seasonal and daily cycles (each in [-1, 1]) of every reading in a block."""
    day = np.repeat([at.timetuple().tm_yday / 365.25 for at in times], per_tick)
    hour = np.repeat([(at.hour + at.minute / 60.0) / 24.0 for at in times], per_tick)
    return np.sin(2 * np.pi * (day - 0.3)), np.sin(2 * np.pi * (hour - 0.35))


def _columns(
    g: np.random.Generator,
    season: np.ndarray,
    diurnal: np.ndarray,
    warmth: np.ndarray,
    wetness: np.ndarray,
) -> dict[str, np.ndarray]:
    """Every measurement's value for every reading of a block, by measurement name."""
    size = len(warmth)
    noise = g.standard_normal((4, size))
    temp = warmth + 9.0 * season + 4.0 * diurnal + 1.2 * noise[0]
    return {
        "temperature_c": temp,
        "relative_humidity": np.clip(70 - 1.2 * (temp - 12) + 5 * noise[1], 5.0, 100.0),
        "precipitation_mm": np.maximum(0.0, g.exponential(1 / 1.5, size) - 0.3),
        "wind_speed_m_s": np.abs(3.0 + 2.0 * noise[2]),
        "soil_moisture": np.clip(wetness + 0.1 * season + 0.03 * noise[1], 0.02, 0.95),
        "soil_temperature_c": temp * 0.8 + 0.8 * noise[2],
        "soil_ph": np.clip(6.5 + 0.6 * noise[3], 3.5, 9.5),
        "ndvi": np.clip(0.45 + 0.25 * season + 0.05 * noise[1], -0.1, 0.95),
        "canopy_cover": np.clip(0.55 + 0.15 * season + 0.05 * noise[2], 0.0, 1.0),
        "acoustic_index": np.clip(0.5 + 0.2 * diurnal + 0.08 * noise[1], 0.0, 1.0),
        "sound_level_db": np.maximum(10.0, 38 + 8 * diurnal + 4 * noise[2]),
        "edna_copies_per_l": 10 ** np.clip(3.0 + 0.8 * season + 0.4 * noise[1], 0.0, 9.0),
    }


def _render_kind(
    kind: SensorKind,
    idx: np.ndarray,
    columns: dict[str, np.ndarray],
    present: np.ndarray,
    faulty: np.ndarray,
    drifted: np.ndarray,
    logit: np.ndarray,
    rendered: list[str],
) -> None:
    """Render the readings at rows `idx` (all of one kind) into `rendered`, and add their
    measurements' habitat effect to `logit`. Updates `present`, `logit` and `rendered`."""
    names = MEASURES_BY_KIND[kind]
    present[0, idx] |= ~present[: len(names), idx].any(axis=0)  # never an empty reading
    fault_due = faulty[idx]
    parts = []
    for j, name in enumerate(names):
        column = np.round(columns[name][idx], 4)
        mask = present[j, idx]
        logit[idx] += np.where(mask, habitat_logit(name, column, drifted[idx]), 0.0)
        # A stuck ADC: the first value of a faulty reading is out of every range.
        first = mask & fault_due
        column[first] = 9999.0
        fault_due = fault_due & ~first
        key = f'"{name}":'
        parts.append(
            [
                key + repr(v) if keep else ""
                for v, keep in zip(column.tolist(), mask.tolist(), strict=True)
            ]
        )
    if len(parts) == 1:
        for row, text in zip(idx.tolist(), parts[0], strict=True):
            rendered[row] = text
    else:
        for row, texts in zip(idx.tolist(), zip(*parts, strict=True), strict=True):
            rendered[row] = ",".join([t for t in texts if t])


def _labels(g: np.random.Generator, logit: np.ndarray, label_fraction: float) -> list[str | None]:
    """Each reading's hidden label as JSON ('true'/'false'), or None for one left unlabelled."""
    size = len(logit)
    p = 1.0 / (1.0 + np.exp(-np.clip(logit, -30, 30)))
    labelled = (g.random(size) < label_fraction).tolist()
    positive = (g.random(size) < p).tolist()
    return [
        ("true" if pos else "false") if lab else None
        for lab, pos in zip(labelled, positive, strict=True)
    ]
