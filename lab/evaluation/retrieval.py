"""Retrieval evaluation against a golden set's gold sources: hit@k, recall@k and MRR per mode.

A retrieved chunk counts as relevant when its source file is one of the question's `sources`.

>>> hit_at_k(["a.md", "b.md"], {"b.md"}), recall_at_k(["a.md", "b.md"], {"b.md", "c.md"}), mrr(["a.md", "b.md"], {"b.md"})
(1.0, 0.5, 0.5)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from lab.evaluation.golden import GoldenQuestion
from lab.index.retrieval import Retriever


def hit_at_k(retrieved: Sequence[str], gold: set[str]) -> float:
    return 1.0 if any(s in gold for s in retrieved) else 0.0


def recall_at_k(retrieved: Sequence[str], gold: set[str]) -> float:
    return len(gold & set(retrieved)) / len(gold) if gold else 0.0


def mrr(retrieved: Sequence[str], gold: set[str]) -> float:
    return next((1.0 / rank for rank, s in enumerate(retrieved, 1) if s in gold), 0.0)


@dataclass
class ModeScores:
    mode: str
    k: int
    questions: int
    hit_at_k: float
    recall_at_k: float
    mrr: float
    p50_ms: float
    per_question: list[dict] = field(default_factory=list)


def evaluate(modes: dict[str, Retriever], questions: Sequence[GoldenQuestion], k: int = 5,
             progress: Callable[[int, int, str], None] | None = None) -> list[ModeScores]:
    """Score every mode on the questions that have gold sources."""
    scored = [q for q in questions if q.sources]
    results = []
    for step, (mode, retriever) in enumerate(modes.items()):
        rows, times = [], []
        for q in scored:
            start = time.perf_counter()
            sources = [h.source for h in retriever.search(q.question, k)]
            times.append((time.perf_counter() - start) * 1000)
            gold = set(q.sources)
            rows.append({"id": q.id, "kind": q.kind, "hit": hit_at_k(sources, gold),
                         "recall": recall_at_k(sources, gold), "mrr": mrr(sources, gold), "retrieved": sources})
        n = len(rows) or 1
        times.sort()
        results.append(ModeScores(mode, k, len(rows), sum(r["hit"] for r in rows) / n,
                                  sum(r["recall"] for r in rows) / n, sum(r["mrr"] for r in rows) / n,
                                  times[len(times) // 2] if times else 0.0, rows))
        if progress:
            progress(step + 1, len(modes), mode)
    return results
