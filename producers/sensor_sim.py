"""A simulated habitat sensor network: sites × sensors, seasons, days, noise, gaps and faults."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from producers.ids import Payload, event_id
from producers.truth import habitat_occupancy_p
from schemas import Location, SensorKind

MEASURES_BY_KIND: dict[SensorKind, tuple[str, ...]] = {
    SensorKind.CLIMATE: ("temperature_c", "relative_humidity", "precipitation_mm", "wind_speed_m_s"),
    SensorKind.SOIL: ("soil_moisture", "soil_temperature_c", "soil_ph"),
    SensorKind.VEGETATION: ("ndvi", "canopy_cover"),
    SensorKind.ACOUSTIC: ("acoustic_index", "sound_level_db"),
    SensorKind.EDNA: ("edna_copies_per_l",),
}
KINDS = tuple(MEASURES_BY_KIND)


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
    """Simulated seconds between two readings of the same sensor."""
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
    """`for reading, outcome in SensorNetwork(cfg, start): ...`, both as wire-ready dicts.

    The outcome is the reading's hidden label (None for unlabelled readings).
    Dicts, not models: the simulator must outrun the broker, and a contract
    test validates its output against `schemas` (see tests/unit/test_simulators.py).
    """

    def __init__(self, cfg: SimConfig, start: datetime) -> None:
        self.cfg = cfg
        self.start = start
        self.rng = random.Random(cfg.seed)
        self.sites = [self._site(i) for i in range(cfg.sites)]

    def _site(self, i: int) -> Site:
        r = self.rng
        return Site(
            site_id=f"site-{i:03d}",
            location=Location(lat=round(r.uniform(-45, 65), 4), lon=round(r.uniform(-170, 170), 4),
                              elevation_m=round(r.uniform(0, 2500), 1)),
            warmth_c=r.uniform(6.0, 22.0),
            wetness=r.uniform(0.1, 0.5),
            effect=r.gauss(0.0, 0.7),
        )

    def __iter__(self) -> Iterator[tuple[Payload, Payload | None]]:
        cfg, r = self.cfg, self.rng
        locations = {s.site_id: s.location.model_dump() for s in self.sites}
        n = 0
        tick = 0
        while True:
            at = self.start + timedelta(seconds=tick * cfg.interval_s)
            stamp = at.isoformat()
            outcome_stamp = (at + timedelta(seconds=cfg.label_delay_s)).isoformat()
            day = at.timetuple().tm_yday / 365.25
            hour = (at.hour + at.minute / 60.0) / 24.0
            season = math.sin(2 * math.pi * (day - 0.3))
            diurnal = math.sin(2 * math.pi * (hour - 0.35))
            for site in self.sites:
                for s in range(cfg.sensors_per_site):
                    kind = KINDS[s % len(KINDS)]
                    values = self._measure(site, kind, season, diurnal)
                    reading_id = event_id("sensor", cfg.seed, n)
                    reading: Payload = {
                        "event_id": reading_id,
                        "event_time": stamp,
                        "schema_version": 1,
                        "site_id": site.site_id,
                        "sensor_id": f"{site.site_id}-{kind.value}-{s}",
                        "kind": kind.value,
                        "location": locations[site.site_id],
                        "measurements": values,
                    }
                    outcome: Payload | None = None
                    if r.random() < cfg.label_fraction:
                        drifted = 0 <= cfg.drift_at <= n
                        p = habitat_occupancy_p(values, site.effect, drifted)
                        outcome = {
                            "event_id": event_id("habitat-outcome", cfg.seed, n),
                            "event_time": outcome_stamp,
                            "schema_version": 1,
                            "kind": "habitat_occupancy",
                            "subject": site.site_id,
                            "event_ref": reading_id,
                            "label": r.random() < p,
                        }
                    yield reading, outcome
                    n += 1
            tick += 1

    def _measure(self, site: Site, kind: SensorKind, season: float, diurnal: float) -> dict[str, float]:
        r = self.rng
        g = r.gauss
        temp = site.warmth_c + 9.0 * season + 4.0 * diurnal + g(0, 1.2)
        if kind is SensorKind.CLIMATE:
            v = {
                "temperature_c": temp,
                "relative_humidity": min(100.0, max(5.0, 70 - 1.2 * (temp - 12) + g(0, 5))),
                "precipitation_mm": max(0.0, r.expovariate(1.5) - 0.3),
                "wind_speed_m_s": abs(g(3.0, 2.0)),
            }
        elif kind is SensorKind.SOIL:
            v = {
                "soil_moisture": min(0.95, max(0.02, site.wetness + 0.1 * season + g(0, 0.03))),
                "soil_temperature_c": temp * 0.8 + g(0, 0.8),
                "soil_ph": min(9.5, max(3.5, 6.5 + g(0, 0.6))),
            }
        elif kind is SensorKind.VEGETATION:
            v = {
                "ndvi": min(0.95, max(-0.1, 0.45 + 0.25 * season + g(0, 0.05))),
                "canopy_cover": min(1.0, max(0.0, 0.55 + 0.15 * season + g(0, 0.05))),
            }
        elif kind is SensorKind.ACOUSTIC:
            v = {
                "acoustic_index": min(1.0, max(0.0, 0.5 + 0.2 * diurnal + g(0, 0.08))),
                "sound_level_db": max(10.0, 38 + 8 * diurnal + g(0, 4)),
            }
        else:
            v = {"edna_copies_per_l": 10 ** min(9.0, max(0.0, 3.0 + 0.8 * season + g(0, 0.4)))}
        out = {k: round(x, 4) for k, x in v.items() if r.random() >= self.cfg.missing_rate}
        if not out:
            first = next(iter(v))
            out = {first: round(v[first], 4)}
        if r.random() < self.cfg.fault_rate:
            out[next(iter(out))] = 9999.0  # a stuck ADC: out of every range, dead-lettered downstream
        return out
