"""Descriptive statistics of a list of dose values (pure)."""

from __future__ import annotations

import math
import statistics


def percentile(ordered: list[float], fraction: float) -> float:
    """Linear interpolation between closest ranks (numpy's default, "linear")."""
    position = (len(ordered) - 1) * fraction
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _sample_sd(values: list[float]) -> float:
    """Sample standard deviation in floating point (statistics.stdev computes in exact fractions: slow at scale)."""
    mean = math.fsum(values) / len(values)
    return math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (len(values) - 1))


def summarize(values: list[float]) -> dict:
    """n, median, mean, min, max, sd (sample), p25, p75; ``None`` where undefined."""
    ordered = sorted(values)
    n = len(ordered)
    if n == 0:
        return {"n": 0, "median": None, "mean": None, "min": None, "max": None, "sd": None, "p25": None, "p75": None}
    return {
        "n": n,
        "median": statistics.median(ordered),
        "mean": statistics.fmean(ordered),
        "min": ordered[0],
        "max": ordered[-1],
        "sd": _sample_sd(ordered) if n > 1 else None,
        "p25": percentile(ordered, 0.25),
        "p75": percentile(ordered, 0.75),
    }
