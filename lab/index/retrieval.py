"""Retrievers: `Retriever.search(query, k) -> list[Hit]`. Dense retrieval over a Chroma collection."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Protocol

from lab.errors import StoreError
from lab.index.embeddings import Embedder
from lab.index.store import Store


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
    title: str = ""  # the document's title (PDF metadata, HTML <title>, first Markdown heading)


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

    def search(self, query: str, k: int, known=None) -> list[Hit]:
        """The `k` nearest chunks. `known(id) -> (text, meta) | None` (a BM25 index's `row`) supplies texts
        held in memory, so Chroma returns only ids and distances; what it does not know is fetched."""
        start = time.perf_counter()
        vector = self.embedder.encode([query])[0]
        embedded = time.perf_counter()
        rows = self.store.query(self.collection, vector, k, texts=known is None)
        if known is not None:
            missing = [r["id"] for r in rows if known(r["id"]) is None]
            fetched = self.store.get_chunks(self.collection, missing) if missing else {}
            for r in rows:
                text, meta = known(r["id"]) or (fetched.get(r["id"], {}).get("text"), fetched.get(r["id"], {}).get("meta"))
                r["text"], r["meta"] = text, meta
        self.last_timings = {"embed_ms": (embedded - start) * 1000, "search_ms": (time.perf_counter() - embedded) * 1000}
        if any(row.get("text") is None for row in rows):
            raise StoreError(f"Collection {self.collection!r} changed while this question was being answered (an "
                             "ingest committed a new version between the search and the fetch of its chunks); ask "
                             "again, or run the comparison again, once the ingest has finished.")
        hits = []
        for rank, row in enumerate(rows, 1):
            score = 1.0 - float(row["distance"])  # Chroma's cosine distance -> cosine similarity
            meta = row["meta"] or {}
            hits.append(Hit(row["id"], meta.get("source", "?"), row["text"], score, meta.get("heading", ""),
                            meta.get("page") or None, {"dense": score}, {"dense": rank}, meta.get("title", "")))
        return hits


def bm25_index(store: Store, collection: str):
    """A BM25 index over every chunk of `collection` (built in memory from what Chroma holds)."""
    from lab.index.bm25 import BM25Index

    rows = store.chunks(collection)
    return BM25Index.build([r["id"] for r in rows], [r["text"] for r in rows], [r["meta"] or {} for r in rows])


class BM25Retriever:
    """Lexical retrieval: exact identifiers (error codes, SKUs, config keys) score by term overlap."""

    name = "bm25"

    def __init__(self, index):
        self.index = index

    def search(self, query: str, k: int) -> list[Hit]:
        hits = []
        for rank, (pos, score) in enumerate(self.index.search(query, k), 1):
            meta = self.index.meta[pos]
            hits.append(Hit(self.index.ids[pos], meta.get("source", "?"), self.index.texts[pos], score,
                            meta.get("heading", ""), meta.get("page") or None, {"bm25": score}, {"bm25": rank},
                            meta.get("title", "")))
        return hits


class HybridRetriever:
    """Dense + BM25 candidates fused by chunk id (`lab.index.fusion`: z-scores added with each retriever's first
    hit kept on top by default, a convex combination of min-max normalised scores, or reciprocal rank fusion),
    optionally reranked."""

    name = "hybrid"

    def __init__(self, dense: Retriever, lexical: Retriever, rrf_k: int = 60, candidates: int = 20,
                 reranker=None, fusion: str = "leaders"):
        self.dense, self.lexical, self.rrf_k, self.candidates, self.reranker = dense, lexical, rrf_k, candidates, reranker
        self.fusion = fusion
        self.last_timings: dict[str, float] = {}

    def search(self, query: str, k: int) -> list[Hit]:
        from lab.index.fusion import convex, leaders, rrf

        start = time.perf_counter()
        n = max(k, self.candidates)
        index = getattr(self.lexical, "index", None)
        if isinstance(self.dense, DenseRetriever) and hasattr(index, "row"):  # texts from memory, not Chroma
            pools = [self.dense.search(query, n, known=index.row), self.lexical.search(query, n)]
        else:
            pools = [self.dense.search(query, n), self.lexical.search(query, n)]
        by_id: dict[str, Hit] = {}
        for hits in pools:
            for hit in hits:
                known = by_id.get(hit.id)
                by_id[hit.id] = hit if known is None else replace(
                    known, scores={**known.scores, **hit.scores}, ranks={**known.ranks, **hit.ranks})
        if self.fusion == "rrf":
            fused = rrf([[h.id for h in hits] for hits in pools], self.rrf_k)
        else:
            fused = (convex if self.fusion == "convex" else leaders)([[(h.id, h.score) for h in hits] for hits in pools])
        retrieved = time.perf_counter()
        out = []
        for rank, (chunk_id, score) in enumerate(fused, 1):
            hit = by_id[chunk_id]
            out.append(replace(hit, score=score, scores={**hit.scores, self.fusion: score},
                               ranks={**hit.ranks, self.fusion: rank}))
        if self.reranker is not None:
            out = self.reranker.rerank(query, out)
        self.last_timings = {"retrieve_ms": (retrieved - start) * 1000,
                             "rerank_ms": (time.perf_counter() - retrieved) * 1000 if self.reranker else 0.0}
        return out[:k]


def retrievers_for(store: Store, collection: str, embedder: Embedder, index=None,
                   reranker=None, rrf_k: int = 60, fusion: str = "leaders") -> dict[str, Retriever]:
    """The retrievers of one collection by mode: dense, bm25, hybrid (and rerank when a reranker is given)."""
    dense = DenseRetriever(store, collection, embedder)
    lexical = BM25Retriever(index if index is not None else bm25_index(store, collection))
    modes: dict[str, Retriever] = {"dense": dense, "bm25": lexical,
                                   "hybrid": HybridRetriever(dense, lexical, rrf_k, fusion=fusion)}
    if reranker is not None:
        modes["rerank"] = HybridRetriever(dense, lexical, rrf_k, reranker=reranker, fusion=fusion)
    return modes
