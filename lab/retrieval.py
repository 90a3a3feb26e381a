"""Retrievers: `Retriever.search(query, k) -> list[Hit]`. Dense retrieval over a Chroma collection."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Protocol

from lab.embeddings import Embedder
from lab.store import Store


@dataclass(frozen=True)
class Hit:
    """One retrieved chunk with its score and rank at each stage (stage name -> value)."""

    id: str
    source: str
    text: str
    score: float
    heading: str = ""
    page: int | None = None
    scores: dict[str, float] = field(default_factory=dict)
    ranks: dict[str, int] = field(default_factory=dict)


class Retriever(Protocol):
    name: str

    def search(self, query: str, k: int) -> list[Hit]:
        """The top `k` chunks for `query`, best first."""


class DenseRetriever:
    """Cosine similarity between the query's embedding and the chunks' embeddings, in Chroma."""

    name = "dense"

    def __init__(self, store: Store, collection: str, embedder: Embedder):
        self.store, self.collection, self.embedder = store, collection, embedder
        self.last_timings: dict[str, float] = {}

    def search(self, query: str, k: int) -> list[Hit]:
        start = time.perf_counter()
        vector = self.embedder.encode([query])[0]
        embedded = time.perf_counter()
        rows = self.store.query(self.collection, vector, k)
        self.last_timings = {"embed_ms": (embedded - start) * 1000, "search_ms": (time.perf_counter() - embedded) * 1000}
        hits = []
        for rank, row in enumerate(rows, 1):
            score = 1.0 - float(row["distance"])  # Chroma's cosine distance -> cosine similarity
            meta = row["meta"] or {}
            hits.append(Hit(row["id"], meta.get("source", "?"), row["text"], score, meta.get("heading", ""),
                            meta.get("page") or None, {"dense": score}, {"dense": rank}))
        return hits
