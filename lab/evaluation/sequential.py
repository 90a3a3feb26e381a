"""Decisions as early as the data allow: anytime-valid confidence sequences for paired differences.

A fixed-n interval is valid when it is read once, at the planned n. Read after every answer, and stopped the first
time it excludes zero, it is wrong far more often than 5% of the time (`tests/test_sequential.py` measures it). A
confidence sequence is valid however often it is looked at: with probability 1 - alpha it holds the true mean
at every n at once, so a run may stop the moment it is decided.

The sequence here is the predictable plug-in empirical-Bernstein confidence sequence of Waudby-Smith & Ramdas
("Estimating means of bounded random variables by betting", JRSS-B 2024, eq. 26), on the paired per-question
differences d in [-1, 1] mapped to x = (d + 1) / 2 in [0, 1], with the running intersection.

    >>> cs = confidence_sequence([1, 1, 0, 1, 1, 1, 0, 1, 1, 1] * 4)   # 40 questions, one path right 32 more times
    >>> bool(cs.low[-1] > 0), cs.decided(-1)
    (True, True)
    >>> confidence_sequence([1, -1] * 20).decided(-1)                   # evenly split: undecided
    False

A pair is decided when its sequence excludes 0 (one path is better) or lies inside [-margin, margin] (the paths
are equivalent within the difference the user cares about: more questions cannot change the decision).
"""

from __future__ import annotations

import math

from lab.display import signed
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

ALPHA = 0.05
CAP = 0.75  # the largest bet (lambda) on one observation


@dataclass(frozen=True)
class ConfidenceSequence:
    """low[t], high[t]: the interval for the mean difference after t + 1 paired observations."""

    low: np.ndarray
    high: np.ndarray
    mean: np.ndarray

    def decided(self, t: int = -1, margin: float = 0.0) -> bool:
        return bool(self.low[t] > 0 or self.high[t] < 0 or (margin > 0 and -margin < self.low[t] and
                                                              self.high[t] < margin))


def confidence_sequence(diffs: Sequence[float], alpha: float = ALPHA) -> ConfidenceSequence:
    """The anytime-valid (1 - alpha) confidence sequence for the mean of paired differences in [-1, 1]."""
    d = np.clip(np.asarray(diffs, dtype=float), -1.0, 1.0)  # 2-D: each row its own sequence (simulations)
    low, high, mean = _pr_pl_eb((d + 1.0) / 2.0, alpha)
    return ConfidenceSequence(2 * low - 1, 2 * high - 1, 2 * mean - 1)


def _pr_pl_eb(x: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """PrPl-EB for x in [0, 1] along the last axis (rows of a 2-D array are independent sequences)."""
    n = x.shape[-1]
    t = np.arange(1, n + 1, dtype=float)
    # predictable estimates: those used at t are computed from x_1..x_{t-1}
    mu_hat = (0.5 + np.cumsum(x, axis=-1)) / (t + 1)
    sigma2 = (0.25 + np.cumsum((x - mu_hat) ** 2, axis=-1)) / (t + 1)
    mu_prev = np.concatenate([np.full(x.shape[:-1] + (1,), 0.5), mu_hat[..., :-1]], axis=-1)
    sigma2_prev = np.concatenate([np.full(x.shape[:-1] + (1,), 0.25), sigma2[..., :-1]], axis=-1)
    log_term = math.log(2.0 / alpha)
    lam = np.minimum(np.sqrt(2 * log_term / (sigma2_prev * t * np.log1p(t))), CAP)
    v = 4.0 * (x - mu_prev) ** 2
    psi = (-np.log1p(-lam) - lam) / 4.0
    sum_lam = np.cumsum(lam, axis=-1)
    centre = np.cumsum(lam * x, axis=-1) / sum_lam
    width = (log_term + np.cumsum(v * psi, axis=-1)) / sum_lam
    low = np.maximum.accumulate(np.maximum(centre - width, 0.0), axis=-1)   # the running intersection
    high = np.minimum.accumulate(np.minimum(centre + width, 1.0), axis=-1)
    return low, np.maximum(high, low), np.cumsum(x, axis=-1) / t


@dataclass
class PairState:
    a: str
    b: str
    n: int
    mean: float
    low: float
    high: float
    verdict: str  # "a better", "b better", "equivalent", "undecided"

    @property
    def decided(self) -> bool:
        return self.verdict != "undecided"

    def text(self) -> str:
        said = {"a better": f"{self.a} is better", "b better": f"{self.b} is better",
                "equivalent": "equivalent within the margin", "undecided": "not decided yet"}[self.verdict]
        return (f"{self.a} − {self.b}: {signed(self.mean)}, anytime 95% interval [{signed(self.low)}, {signed(self.high)}] "
                f"after {self.n} question{'s' if self.n != 1 else ''}: {said}")


@dataclass(frozen=True)
class StopRule:
    """Stop a batch once every pair in `pairs` is decided on `metric` (a per-answer score in [0, 1]); `margin`: a
    difference smaller than this does not matter to the user (0: only a winner decides)."""

    pairs: tuple[tuple[str, str], ...]
    metric: str = "correct"
    margin: float = 0.1
    alpha: float = ALPHA
    min_questions: int = 5  # never decide on fewer

    def states(self, scores: dict[str, dict[str, float]]) -> list[PairState]:
        """`scores`: question id -> path -> metric value. One state per pair, over the questions both answered."""
        found = []
        for a, b in self.pairs:
            diffs = [row[a] - row[b] for row in scores.values() if row.get(a) is not None and row.get(b) is not None]
            if not diffs:
                found.append(PairState(a, b, 0, 0.0, -1.0, 1.0, "undecided"))
                continue
            cs = confidence_sequence(diffs, self.alpha)
            low, high, mean = float(cs.low[-1]), float(cs.high[-1]), float(cs.mean[-1])
            verdict = "undecided"
            if len(diffs) >= self.min_questions:
                verdict = ("a better" if low > 0 else "b better" if high < 0 else
                           "equivalent" if self.margin > 0 and -self.margin < low and high < self.margin else
                           "undecided")
            found.append(PairState(a, b, len(diffs), mean, low, high, verdict))
        return found

    def decided(self, scores: dict[str, dict[str, float]]) -> bool:
        return all(s.decided for s in self.states(scores))


def parse_pairs(text: str, paths: Sequence[str]) -> tuple[tuple[str, str], ...]:
    """"rag:prompt,hybrid:rag" -> (("rag", "prompt"), ("hybrid", "rag")), each path one of `paths`.

    >>> parse_pairs("rag:prompt", ["prompt", "rag"])
    (('rag', 'prompt'),)
    """
    from lab.errors import InputError

    pairs = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        a, sep, b = item.partition(":")
        if not sep or a == b or a not in paths or b not in paths:
            raise InputError(f"--stop-when {item!r}: write pairs as A:B of the paths in this run "
                             f"({', '.join(paths)}), e.g. rag:prompt.")
        pairs.append((a, b))
    if not pairs:
        raise InputError("--stop-when names no pair: write A:B, e.g. rag:prompt.")
    return tuple(pairs)


@dataclass
class Savings:
    """What stopping early saved, against asking every question."""

    asked: int          # questions answered by every path
    planned: int        # questions in the run
    answers_saved: int
    seconds_saved: float
    cost_saved_usd: float
    states: list[PairState] = field(default_factory=list)

    def text(self) -> str:
        return (f"Decided after {self.asked} of {self.planned} questions: stopping saved {self.answers_saved} "
                f"answers, about {self.seconds_saved:.0f} s and ${self.cost_saved_usd:.4f}.")
