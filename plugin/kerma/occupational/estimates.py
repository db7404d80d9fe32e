"""Doses of one person over a window (a calendar year, or the 12 months to a date) from their readings: the sums per
dosimeter position, and the estimates the dose limits are about, each with its method.

* **Which readings**: those whose monitoring period *ends* in the window (a period's dose is known when it is over).
* **Effective dose**, per monitoring period (``data/effective_dose_methods.csv``): with a dosimeter under the apron
  and one at the collar over it, the site's two-dosimeter algorithm (NCRP Report 122, or Niklason et al. 1993);
  otherwise one dosimeter's Hp(10), in the table's order (trunk without apron; under the apron, an underestimate;
  over it, an upper bound).  The window's value is the sum over its periods.
* **Lens of the eye**, per period (``data/lens_dose_methods.csv``): Hp(3) of an eye dosimeter, else Hp(0.07) near
  the eye, at the collar or on the trunk outside an apron.
* **Skin** and **extremities**: the largest Hp(0.07) sum of any one body or extremity dosimeter (the limit is on the
  most exposed skin, averaged over 1 cm²).

A reading below the service's recording level counts as 0 (and is counted); a quantity a dosimeter does not measure
is not a 0.  Every value is an estimate for a reference person, not a measurement of the person's organ doses.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from . import vocabulary

EFFECTIVE, LENS, SKIN, EXTREMITY = ("occupational_effective_dose_mSv", "lens_equivalent_dose_mSv",
                                    "skin_equivalent_dose_mSv", "extremity_equivalent_dose_mSv")


@dataclass(frozen=True)
class Window:
    """The days a sum covers, both included."""

    kind: str  # calendar_year or rolling_12_months
    start: dt.date
    end: dt.date

    @classmethod
    def calendar_year(cls, year: int) -> "Window":
        return cls("calendar_year", dt.date(year, 1, 1), dt.date(year, 12, 31))

    @classmethod
    def rolling_12_months(cls, end: dt.date) -> "Window":
        try:
            year_before = end.replace(year=end.year - 1)
        except ValueError:  # 29 February
            year_before = end.replace(year=end.year - 1, day=28)
        return cls("rolling_12_months", year_before + dt.timedelta(days=1), end)

    @classmethod
    def of(cls, kind: str, day: dt.date) -> "Window":
        """The window of ``kind`` that ``day`` ends (rolling) or falls in (calendar year)."""
        return cls.calendar_year(day.year) if kind == "calendar_year" else cls.rolling_12_months(day)

    def holds(self, period_end: dt.date) -> bool:
        return self.start <= period_end <= self.end

    @property
    def label(self) -> str:
        if self.kind == "calendar_year":
            return f"calendar year {self.start.year}"
        return f"12 months from {self.start.isoformat()} to {self.end.isoformat()}"

    def as_json(self) -> dict:
        return {"kind": self.kind, "start": self.start.isoformat(), "end": self.end.isoformat(), "label": self.label}


@dataclass(frozen=True)
class Measured:
    """One dosimeter's reading for a period: doses in mSv (None: not measured), and the quantities below the level."""

    position: str
    doses: dict[str, float | None]
    below: frozenset[str] = frozenset()

    def value(self, quantity: str) -> float | None:
        """The dose, 0 when reported below the recording level, None when the dosimeter does not measure it."""
        if self.doses.get(quantity) is not None:
            return self.doses[quantity]
        return 0.0 if quantity in self.below else None


@dataclass(frozen=True)
class Period:
    """One person's monitoring period: each position's reading."""

    start: dt.date
    end: dt.date
    readings: dict[str, Measured]

    def value(self, position: str, quantity: str) -> float | None:
        reading = self.readings.get(position)
        return None if reading is None else reading.value(quantity)


@dataclass(frozen=True)
class Estimate:
    value: float
    method: str


def effective_dose(period: Period, algorithm: str) -> Estimate | None:
    """E of one period: ``algorithm`` (a two-dosimeter method) when both its dosimeters read Hp(10), else the first
    single-dosimeter method whose dosimeter did; None when no trunk or collar dosimeter read Hp(10)."""
    for code, method in vocabulary.effective_methods().items():
        if method.kind == "two_dosimeter" and code != algorithm:
            continue
        readings = [period.value(position, "hp10_mSv") for position in method.positions]
        if all(r is not None for r in readings):
            return Estimate(sum(c * r for c, r in zip(method.coefficients, readings)), code)
    return None


def lens_dose(period: Period) -> Estimate | None:
    """The lens dose of one period by the first method of ``lens_dose_methods.csv`` the readings allow."""
    for method in vocabulary.lens_methods():
        value = period.value(method.position, method.quantity)
        if value is not None:
            return Estimate(value, method.code)
    return None


@dataclass
class Sum:
    """A sum over a window's periods of one estimate or one position's quantity."""

    value: float = 0.0
    periods: int = 0  # periods that gave a value
    below_level: int = 0  # of which reported below the recording level (counted as 0)
    methods: dict[str, int] = field(default_factory=dict)  # method → periods it estimated

    def add(self, value: float, method: str | None = None, below: bool = False) -> None:
        self.value += value
        self.periods += 1
        self.below_level += below
        if method:
            self.methods[method] = self.methods.get(method, 0) + 1

    def as_json(self) -> dict:
        out = {"value_mSv": round(self.value, 6), "periods": self.periods, "below_level": self.below_level}
        return {**out, "methods": self.methods} if self.methods else out


@dataclass
class Summary:
    """One person's doses over a window."""

    window: Window
    algorithm: str
    periods: int = 0
    positions: dict[str, dict[str, Sum]] = field(default_factory=dict)  # position → quantity → sum
    effective: Sum = field(default_factory=Sum)
    lens: Sum = field(default_factory=Sum)

    def estimate(self, quantity: str) -> float | None:
        """The window's value of a person quantity (``vocabulary.person_quantities()``); None: not estimated."""
        if quantity == EFFECTIVE:
            return self.effective.value if self.effective.periods else None
        if quantity == LENS:
            return self.lens.value if self.lens.periods else None
        best = self._largest(quantity)
        return best[1].value if best else None

    def _largest(self, quantity: str) -> tuple[str, Sum] | None:
        region = ("extremity",) if quantity == EXTREMITY else ("trunk", "collar", "eye")
        sums = [(position, by_quantity["hp007_mSv"]) for position, by_quantity in self.positions.items()
                if vocabulary.positions()[position].region in region and "hp007_mSv" in by_quantity]
        return max(sums, key=lambda item: item[1].value, default=None)

    def as_json(self) -> dict:
        estimates = {EFFECTIVE: {**self.effective.as_json(), "not_estimated_periods": self.periods - self.effective.periods},
                     LENS: {**self.lens.as_json(), "not_estimated_periods": self.periods - self.lens.periods}}
        for quantity in (SKIN, EXTREMITY):
            best = self._largest(quantity)
            estimates[quantity] = {**best[1].as_json(), "position": best[0]} if best else None
        for quantity in (EFFECTIVE, LENS):
            if not estimates[quantity]["periods"]:
                estimates[quantity]["value_mSv"] = None
        return {"window": self.window.as_json(), "periods": self.periods, "effective_dose_algorithm": self.algorithm,
                "positions": {p: {q: s.as_json() for q, s in by_q.items()} for p, by_q in sorted(self.positions.items())},
                "estimates": estimates}


def summarise(periods: list[Period], window: Window, algorithm: str) -> Summary:
    """The sums and estimates over ``window`` of one person's ``periods``."""
    summary = Summary(window, algorithm)
    for period in periods:
        if not window.holds(period.end):
            continue
        summary.periods += 1
        for position, reading in period.readings.items():
            for quantity in vocabulary.READING_QUANTITIES:
                value = reading.value(quantity)
                if value is not None:
                    summary.positions.setdefault(position, {}).setdefault(quantity, Sum()).add(
                        value, below=quantity in reading.below)
        effective = effective_dose(period, algorithm)
        if effective is not None:
            summary.effective.add(effective.value, effective.method)
        lens = lens_dose(period)
        if lens is not None:
            summary.lens.add(lens.value, lens.method)
    return summary


def methods_used(summary: Summary) -> dict:
    """The methods behind a summary's estimates, with their sources, verification and uncertainty (for an answer)."""
    effective = vocabulary.effective_methods()
    lens = {m.code: m for m in vocabulary.lens_methods()}
    return {
        EFFECTIVE: [{"code": c, "name": effective[c].name, "source": effective[c].source,
                     "verification": effective[c].verification, "uncertainty": effective[c].uncertainty}
                    for c in summary.effective.methods],
        LENS: [{"code": c, "name": lens[c].name, "source": lens[c].source, "verification": lens[c].verification}
               for c in summary.lens.methods],
    }
