"""Reciprocal rank fusion: merge rankings by chunk id (never by text).

Each list contributes 1 / (k + rank) to an id's score, ranks counted from 1.

>>> [i for i, _ in rrf([["a", "b"], ["b", "c"]])]
['b', 'a', 'c']
>>> round(dict(rrf([["a", "b"], ["b", "c"]], k=60))["b"], 6)  # 1/62 + 1/61
0.032522
"""

from __future__ import annotations

from collections.abc import Sequence


def rrf(rankings: Sequence[Sequence[str]], k: int = 60,
        weights: Sequence[float] | None = None) -> list[tuple[str, float]]:
    """Fused (id, score) pairs, best first; ties keep the order of first appearance."""
    if k < 0:
        raise ValueError("rrf k must be non-negative")
    weights = weights or [1.0] * len(rankings)
    scores: dict[str, float] = {}
    for ranking, weight in zip(rankings, weights):
        for rank, item in enumerate(ranking, 1):
            scores[item] = scores.get(item, 0.0) + weight / (k + rank)
    order = {item: i for i, item in enumerate(scores)}
    return sorted(scores.items(), key=lambda pair: (-pair[1], order[pair[0]]))
