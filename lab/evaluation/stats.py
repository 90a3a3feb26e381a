"""Confidence intervals and paired tests for comparing paths on the same questions.

Every path answers the same questions, so comparisons are paired: resample questions (not
answers) and compare paths question by question.

>>> mean_ci([1, 1, 0, 1], seed=0).mean
0.75
>>> compare_pair([1, 1, 1, 1, 1, 1], [0, 0, 0, 0, 0, 0], seed=0).p_value < 0.05
True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

RESAMPLES = 2000


@dataclass(frozen=True)
class Estimate:
    mean: float
    low: float
    high: float
    n: int


@dataclass(frozen=True)
class PairTest:
    a: str
    b: str
    diff: Estimate  # mean of a - b with its paired bootstrap 95% CI
    p_value: float  # two-sided paired sign-flip permutation test
    wins: int  # questions where a scored higher than b
    ties: int
    losses: int
    separable: bool  # the CI of the difference excludes 0
    questions_needed: int | None  # rough n at which an effect of this size would separate


def _clean(values: Sequence[float | None]) -> np.ndarray:
    return np.array([v for v in values if v is not None], dtype=float)


def mean_ci(values: Sequence[float | None], seed: int = 0, level: float = 0.95) -> Estimate:
    """Mean with a percentile bootstrap CI over questions (None values are left out)."""
    data = _clean(values)
    if data.size == 0:
        return Estimate(float("nan"), float("nan"), float("nan"), 0)
    rng = np.random.default_rng(seed)
    means = data[rng.integers(0, data.size, (RESAMPLES, data.size))].mean(axis=1)
    tail = (1 - level) / 2 * 100
    return Estimate(float(data.mean()), float(np.percentile(means, tail)), float(np.percentile(means, 100 - tail)),
                    int(data.size))


def wilson_ci(successes: int, n: int, z: float = 1.96) -> Estimate:
    """Wilson score 95% interval for a proportion. For rare events (0 of n) the bootstrap collapses to
    [0, 0]; Wilson still says how high the rate could be.

    >>> e = wilson_ci(0, 12); (e.mean, e.low, round(e.high, 3), e.n)
    (0.0, 0.0, 0.243, 12)
    """
    if n <= 0:
        return Estimate(float("nan"), float("nan"), float("nan"), 0)
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return Estimate(p, float(max(0.0, centre - half)), float(min(1.0, centre + half)), n)


def compare_pair(a: Sequence[float | None], b: Sequence[float | None], name_a: str = "a", name_b: str = "b",
                 seed: int = 0) -> PairTest:
    """Paired comparison on the questions both paths scored (None on either side drops the question)."""
    pairs = np.array([(x, y) for x, y in zip(a, b) if x is not None and y is not None], dtype=float)
    if pairs.size == 0:
        nan = Estimate(float("nan"), float("nan"), float("nan"), 0)
        return PairTest(name_a, name_b, nan, float("nan"), 0, 0, 0, False, None)
    diffs = pairs[:, 0] - pairs[:, 1]
    diff = mean_ci(diffs, seed)
    rng = np.random.default_rng(seed)
    signs = rng.choice([-1.0, 1.0], size=(RESAMPLES, diffs.size))
    observed = abs(diffs.mean())
    p_value = float((np.abs((signs * diffs).mean(axis=1)) >= observed - 1e-12).mean())
    p_value = max(p_value, 1.0 / RESAMPLES) if observed > 0 else 1.0
    separable = bool(diff.low > 0 or diff.high < 0)
    needed = None
    if not separable and observed > 0:
        sd = diffs.std(ddof=1) if diffs.size > 1 else 0.0
        needed = int(np.ceil((1.96 * sd / observed) ** 2)) if sd > 0 else None
    return PairTest(name_a, name_b, diff, p_value, int((diffs > 0).sum()), int((diffs == 0).sum()),
                    int((diffs < 0).sum()), separable, needed)
