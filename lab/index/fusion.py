"""Fusing the rankings of several retrievers by chunk id (never by text).

`leaders` (the default of hybrid retrieval): each retriever's scores become z-scores over its own candidates
(a chunk a retriever did not return gets that retriever's lowest), the z-scores are added, and then each
retriever's first hit is kept among the fused top places (the first two, for dense + BM25), in fused order. A
near-tie decides the fused order (BM25 ahead by 7% on the exact file name while dense ranks it ninth), but no
retriever's best hit falls behind chunks that both rank middling. Measured on two real corpora with passage-level
gold (tests/test_real_quality.py), passage MRR@5: licence texts 0.616 (BM25 alone 0.608, dense 0.528, convex
0.597, RRF 0.483); two PDF manuals 0.938 (BM25 0.938, dense 0.661, convex 0.919, RRF 0.856); passage hit@4 1.0 on
both. Without the kept leaders, no fixed weighting reached max(dense, BM25) on both: the licences want BM25 at half
weight, the PDFs at 70% or more. On the sample corpus (answer-holding chunks as gold) it gives 0.738 against
convex's 0.760 (BM25 0.676): the price of keeping a leader that is wrong.

>>> dense, bm25 = [("a", .62), ("b", .61), ("c", .60), ("x", .40)], [("x", 7.0), ("c", 6.9), ("b", 6.8), ("e", 1.0)]
>>> [i for i, _ in zscore([dense, bm25])], [i for i, _ in leaders([dense, bm25])]
(['b', 'c', 'a', 'x', 'e'], ['a', 'x', 'b', 'c', 'e'])

`convex`: each retriever's scores are min-max normalised over its own candidates
(its best hit scores 1, its last 0) and the normalised scores are added, equally weighted; a chunk a retriever did
not return gets 0 from it. A hit far ahead of the rest in one retriever (BM25 finding the exact identifier) keeps
its lead, where reciprocal rank fusion, which sees ranks only, lets chunks that both retrievers rank mediocre pass
it. Measured on two real corpora with passage-level gold (tests/test_real_quality.py): passage MRR@5 of hybrid
0.483 -> 0.597 on the licence texts (BM25 alone 0.608, dense 0.528) and 0.856 -> 0.919 on two PDF manuals (BM25
alone 0.938, dense 0.661): within one question's rank of the better retriever, no longer far below it.

>>> [(i, round(s, 3)) for i, s in convex([[("a", 9.0), ("b", 2.0), ("c", 1.0)], [("b", .60), ("c", .59), ("a", .10)]])]
[('b', 0.562), ('a', 0.5), ('c', 0.49)]

`rrf`, reciprocal rank fusion: each list contributes weight / (k + rank) to an id's score, ranks from 1.

>>> [i for i, _ in rrf([["a", "b"], ["b", "c"]])]
['b', 'a', 'c']
>>> round(dict(rrf([["a", "b"], ["b", "c"]], k=60))["b"], 6)  # 1/62 + 1/61
0.032522
"""

from __future__ import annotations

from collections.abc import Sequence

FUSIONS = ("leaders", "convex", "rrf")


def _ordered(scores: dict[str, float]) -> list[tuple[str, float]]:
    order = {item: i for i, item in enumerate(scores)}
    return sorted(scores.items(), key=lambda pair: (-pair[1], order[pair[0]]))


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
    return _ordered(scores)


def convex(scored: Sequence[Sequence[tuple[str, float]]],
           weights: Sequence[float] | None = None) -> list[tuple[str, float]]:
    """Fused (id, score) pairs from lists of (id, raw score), best first; ties keep the order of first appearance.
    A list whose scores are all equal gives each of its ids 1."""
    weights = weights or ([1.0 / len(scored)] * len(scored) if scored else [])
    fused: dict[str, float] = {}
    for hits, weight in zip(scored, weights):
        values = [score for _, score in hits]
        if not values:
            continue
        low, high = min(values), max(values)
        for item, score in hits:
            norm = (score - low) / (high - low) if high > low else 1.0
            fused[item] = fused.get(item, 0.0) + weight * norm
    return _ordered(fused)


def zscore(scored: Sequence[Sequence[tuple[str, float]]],
           weights: Sequence[float] | None = None) -> list[tuple[str, float]]:
    """Fused (id, score) pairs: the weighted sum of each list's z-scores, best first; an id a list did not return
    gets that list's lowest z-score (it scored no better than its last candidate)."""
    weights = weights or ([1.0 / len(scored)] * len(scored) if scored else [])
    per_list: list[dict[str, float]] = []
    for hits in scored:
        values = [score for _, score in hits]
        if not values:
            continue
        mean = sum(values) / len(values)
        spread = (sum((v - mean) ** 2 for v in values) / len(values)) ** 0.5 or 1.0
        per_list.append({item: (score - mean) / spread for item, score in hits})
    fused: dict[str, float] = {}
    for z in per_list:
        for item in z:
            fused.setdefault(item, 0.0)
    weights = [w for w, hits in zip(weights, scored) if hits]
    for z, weight in zip(per_list, weights):
        floor = min(z.values())
        for item in fused:
            fused[item] += weight * z.get(item, floor)
    return _ordered(fused)


def leaders(scored: Sequence[Sequence[tuple[str, float]]],
            weights: Sequence[float] | None = None) -> list[tuple[str, float]]:
    """`zscore` fusion with every list's first hit moved into the fused top places, in fused order; ids keep
    their fused scores (so a kept leader may show a lower score than the chunk after it)."""
    fused = zscore(scored, weights)
    first = {hits[0][0] for hits in scored if hits}
    return [pair for pair in fused if pair[0] in first] + [pair for pair in fused if pair[0] not in first]
