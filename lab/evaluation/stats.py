"""Confidence intervals and paired tests for comparing paths on the same questions.

Every path answers the same questions, so comparisons are paired: resample questions (not answers) and compare
paths question by question.

One mean gets a BCa bootstrap 95% interval (`scipy.stats.bootstrap`, which corrects the plain percentile
interval's bias and skew on small sets of 0/1 scores). A paired difference gets one verdict from one procedure:
the two-sided paired permutation test (flip the sign of each question's difference; the same test as
`scipy.stats.permutation_test(..., permutation_type="samples")`), and its 95% interval is that test inverted:
every shift δ the test would not reject at 5%. So "separable" (p < 0.05) and "the interval excludes 0" are the
same statement and cannot disagree.

Worked examples. Six questions where path a is right and b wrong on every one: all 2^6 sign flips are tried
(exact test), and only the two all-same-sign flips are as extreme, so p = 2/64:

>>> t = compare_pair([1] * 6, [0] * 6, "a", "b")
>>> round(t.p_value, 4), t.separable, t.diff.mean, t.diff.low > 0
(0.0312, True, 1.0, True)

Five wins and one loss out of six is not separable (14 of the 64 flips are as extreme: p = 0.22), and the interval then holds 0:

>>> t = compare_pair([1, 1, 1, 1, 1, 0], [0, 0, 0, 0, 0, 1])
>>> round(t.p_value, 4), t.separable, t.diff.low <= 0 <= t.diff.high
(0.2188, False, True)

A mean of 0/1 scores with its BCa interval:

>>> e = mean_ci([1, 1, 0, 1] * 10); e.mean, e.n, e.low < 0.75 < e.high
(0.75, 40, True)
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import product

import numpy as np

RESAMPLES = 2000
PERMUTATIONS = 10000
EXACT_UP_TO = 14  # questions: up to here every sign flip is tried (2^14 = 16,384)
ALPHA = 0.05


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
    diff: Estimate  # mean of a - b with the 95% interval of the inverted permutation test
    p_value: float  # two-sided paired sign-flip permutation test
    wins: int  # questions where a scored higher than b
    ties: int
    losses: int
    separable: bool  # p < 0.05, which is the same as the interval excluding 0
    questions_needed: int | None  # n at which an effect of this size and spread separates with 80% power (> n)
    p_holm: float | None = None  # the p-value adjusted for reading all the run's pairs together (Holm)
    separable_holm: bool | None = None  # p_holm < 0.05: the verdict when several pairs are read together


def _clean(values: Sequence[float | None]) -> np.ndarray:
    return np.array([v for v in values if v is not None], dtype=float)


def mean_ci(values: Sequence[float | None], seed: int = 0, level: float = 0.95) -> Estimate:
    """Mean with a BCa bootstrap CI over questions (None values are left out). All-equal values have no spread
    to resample: the interval is the value itself."""
    from scipy.stats import bootstrap

    data = _clean(values)
    if data.size == 0:
        return Estimate(float("nan"), float("nan"), float("nan"), 0)
    mean = float(data.mean())
    if data.size == 1 or np.ptp(data) == 0:
        return Estimate(mean, mean, mean, int(data.size))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # BCa's degenerate-distribution warning: handled below
        result = bootstrap((data,), np.mean, confidence_level=level, n_resamples=RESAMPLES, method="BCa",
                           random_state=np.random.default_rng(seed), vectorized=True)
    low, high = float(result.confidence_interval.low), float(result.confidence_interval.high)
    if not (np.isfinite(low) and np.isfinite(high)):  # BCa undefined (e.g. one odd value out): percentile
        means = data[np.random.default_rng(seed).integers(0, data.size, (RESAMPLES, data.size))].mean(axis=1)
        tail = (1 - level) / 2 * 100
        low, high = float(np.percentile(means, tail)), float(np.percentile(means, 100 - tail))
    return Estimate(mean, min(low, mean), max(high, mean), int(data.size))


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


class SignFlipTest:
    """The paired permutation test of "mean difference = δ", for any δ, on one fixed set of sign flips (all of
    them up to `EXACT_UP_TO` questions, else `PERMUTATIONS` random ones), so that p(δ) is one function and its
    inversion is exact.

    It agrees with scipy's own paired permutation test:

    >>> from scipy.stats import permutation_test
    >>> a, b = np.array([3., 1, 4, 1, 5, 9, 2, 6]), np.array([2., 7, 1, 8, 2, 8, 1, 8])
    >>> ref = permutation_test((a, b), lambda x, y: np.mean(x - y), permutation_type="samples")
    >>> bool(np.isclose(SignFlipTest(a - b).p(0.0), ref.pvalue))
    True
    """

    def __init__(self, diffs: np.ndarray, seed: int = 0):
        self.diffs, n = np.asarray(diffs, dtype=float), len(diffs)
        if n <= EXACT_UP_TO:
            signs = np.array(list(product((1.0, -1.0), repeat=n))) if n else np.ones((1, 0))
            self.exact = True
        else:
            signs = np.random.default_rng(seed).choice([-1.0, 1.0], size=(PERMUTATIONS, n))
            signs[0] = 1.0  # the observed assignment is one of the permutations (a valid Monte Carlo p)
            self.exact = False
        self._flipped_sum = signs @ self.diffs  # sum(s * d) per flip
        self._sign_sum = signs.sum(axis=1)  # sum(s) per flip: sum(s * (d - δ)) = sum(s*d) - δ * sum(s)
        self.n = n

    def p(self, delta: float) -> float:
        """Two-sided p-value of "the mean difference is `delta`"."""
        if self.n == 0:
            return 1.0
        observed = abs(self.diffs.sum() - delta * self.n)
        flipped = np.abs(self._flipped_sum - delta * self._sign_sum)
        return float((flipped >= observed - 1e-9 * max(1.0, observed)).mean())

    def interval(self, alpha: float = ALPHA) -> tuple[float, float]:
        """Every δ with p(δ) >= alpha: the inverted test's 1 - alpha interval (found by bisection from the mean
        outwards; then made to agree with p(0) exactly, so 0 is inside if and only if p(0) >= alpha)."""
        mean = float(self.diffs.mean()) if self.n else float("nan")
        spread = float(np.ptp(self.diffs)) if self.n else 0.0
        if self.n == 0:
            return mean, mean

        def edge(direction: float) -> float:
            inside, outside = mean, mean + direction * 2 * spread
            for _ in range(60):  # widen until the test rejects; a few questions may never let it reject
                if self.p(outside) < alpha:
                    break
                outside = mean + 2 * (outside - mean)
            else:  # p(δ) >= alpha for every δ: the data cannot bound δ, so say no more than its own range
                return float(self.diffs.min() if direction < 0 else self.diffs.max())
            for _ in range(50):
                middle = (inside + outside) / 2
                inside, outside = (middle, outside) if self.p(middle) >= alpha else (inside, middle)
            return inside

        low, high = (edge(-1.0), edge(1.0)) if spread > 0 else (mean, mean)
        zero_in = self.p(0.0) >= alpha
        if zero_in:
            low, high = min(low, 0.0), max(high, 0.0)
        elif low <= 0.0 <= high:  # p(δ) is not monotone around 0 here: the test's verdict at 0 decides
            low, high = (np.nextafter(0.0, 1.0), high) if mean > 0 else (low, np.nextafter(0.0, -1.0))
        return float(low), float(high)


def compare_pair(a: Sequence[float | None], b: Sequence[float | None], name_a: str = "a", name_b: str = "b",
                 seed: int = 0) -> PairTest:
    """Paired comparison on the questions both paths scored (None on either side drops the question)."""
    pairs = np.array([(x, y) for x, y in zip(a, b) if x is not None and y is not None], dtype=float)
    if pairs.size == 0:
        nan = Estimate(float("nan"), float("nan"), float("nan"), 0)
        return PairTest(name_a, name_b, nan, float("nan"), 0, 0, 0, False, None)
    diffs = pairs[:, 0] - pairs[:, 1]
    test = SignFlipTest(diffs, seed)
    observed = float(diffs.mean())
    p_value = test.p(0.0) if observed != 0 else 1.0
    low, high = test.interval()
    separable = bool(p_value < ALPHA)
    needed = None
    if not separable and observed != 0:  # only a number above n: "n cannot separate ... fewer would" never reads
        sd = diffs.std(ddof=1) if diffs.size > 1 else 0.0
        needed = questions_needed(abs(observed), sd) if sd > 0 else None
        needed = needed if needed and needed > diffs.size else None
    return PairTest(name_a, name_b, Estimate(observed, low, high, int(diffs.size)), p_value,
                    int((diffs > 0).sum()), int((diffs == 0).sum()), int((diffs < 0).sum()), separable, needed)


def cohen_kappa(a: Sequence[float | None], b: Sequence[float | None], seed: int = 0,
                resamples: int = 2000) -> Estimate:
    """Cohen's κ between two raters' labels on the same items (None on either side drops the item), with a
    percentile bootstrap 95% interval over items. NaN when it is undefined: no items, or both raters gave one
    label throughout (chance agreement is then 1).

    Worked example (Wikipedia's): 50 items, both say yes on 20, both no on 15, they differ on 15. Observed
    agreement 0.7, chance agreement 0.5, so κ = (0.7 - 0.5) / (1 - 0.5) = 0.4:

    >>> a = [1] * 20 + [1] * 5 + [0] * 10 + [0] * 15
    >>> b = [1] * 20 + [0] * 5 + [1] * 10 + [0] * 15
    >>> k = cohen_kappa(a, b); round(k.mean, 3), k.n, k.low < 0.4 < k.high
    (0.4, 50, True)
    >>> cohen_kappa([1, 0, 1], [1, 0, 1]).mean
    1.0
    """
    pairs = np.array([(x, y) for x, y in zip(a, b) if x is not None and y is not None], dtype=float)
    if pairs.size == 0:
        return Estimate(float("nan"), float("nan"), float("nan"), 0)
    labels = np.unique(pairs)

    def kappa(p: np.ndarray) -> float:
        observed = float(np.mean(p[:, 0] == p[:, 1]))
        chance = float(sum(np.mean(p[:, 0] == v) * np.mean(p[:, 1] == v) for v in labels))
        return float("nan") if chance >= 1.0 else (observed - chance) / (1.0 - chance)

    value = kappa(pairs)
    rng = np.random.default_rng(seed)
    draws = [kappa(pairs[rng.integers(0, len(pairs), len(pairs))]) for _ in range(resamples)]
    draws = np.array([d for d in draws if not np.isnan(d)])
    if np.isnan(value) or draws.size == 0:
        return Estimate(value, float("nan"), float("nan"), len(pairs))
    low, high = np.percentile(draws, [2.5, 97.5])
    return Estimate(value, float(min(low, value)), float(max(high, value)), len(pairs))


ASSUMED_SD = 0.7  # sd of paired 0/1 differences when about half the questions split the two paths (no run yet)


def detectable_difference(n: int, sd: float | None = None, alpha: float = 0.05, power: float = 0.8) -> float:
    """The smallest true difference in a mean score (accuracy: a share) that a paired comparison over `n`
    questions detects with `power` at level `alpha`: (z(1 - alpha/2) + z(power)) x sd / sqrt(n), with `sd` the
    standard deviation of the per-question differences (from a previous run; ASSUMED_SD when there is none).

    >>> round(detectable_difference(100, 0.7), 3), round(detectable_difference(16, 0.7), 3)
    (0.196, 0.49)
    """
    from statistics import NormalDist

    if n <= 0:
        return float("inf")
    z = NormalDist().inv_cdf(1 - alpha / 2) + NormalDist().inv_cdf(power)
    return z * (ASSUMED_SD if sd is None else sd) / n ** 0.5


def questions_needed(difference: float, sd: float | None = None, alpha: float = 0.05, power: float = 0.8) -> int:
    """How many questions a paired comparison needs to detect `difference` (the inverse of detectable_difference).

    >>> questions_needed(0.2, 0.7)
    97
    """
    from statistics import NormalDist

    if difference <= 0:
        raise ValueError("difference must be positive")
    z = NormalDist().inv_cdf(1 - alpha / 2) + NormalDist().inv_cdf(power)
    return int(np.ceil((z * (ASSUMED_SD if sd is None else sd) / difference) ** 2))


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjustment of p-values read together (family-wise error at the nominal level), in input
    order: the k-th smallest is multiplied by (m - k + 1), made monotone, capped at 1.

    >>> holm([0.01, 0.04, 0.03, 0.20])
    [0.04, 0.09, 0.09, 0.2]
    """
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted, running = [0.0] * m, 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = round(running, 12)
    return adjusted
