"""Batch comparison: golden questions x paths, scored, stored as they finish, cancellable.

`CompareJob.run()` works synchronously (command line, tests); `start()` runs it in a background
thread (pages) with `progress` readable at any time and `cancel()` honoured between batches.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from lab import metrics
from lab.costs import PriceTable, query_cost
from lab.golden import GoldenQuestion
from lab.injection import obeyed_injection
from lab.paths import Answer, PathContext, generate, prepare
from lab.retrieval_eval import hit_at_k
from lab.runs import RunStore


@dataclass
class Progress:
    done: int = 0
    total: int = 0
    started: float = field(default_factory=time.time)
    message: str = ""

    @property
    def eta_seconds(self) -> float | None:
        if not self.done:
            return None
        return (time.time() - self.started) / self.done * (self.total - self.done)


def score(answer: Answer, question: GoldenQuestion, table: PriceTable) -> dict:
    """The per-answer record (the CSV row): text, metrics, latency, tokens, cost."""
    text = answer.text
    content = metrics.json_answer(text)
    retrieved = [h.source for h in answer.hits]
    cited = metrics.cited(text)
    model_ms = answer.latency_ms.get("generate", 0.0) + answer.latency_ms.get("rerank", 0.0)
    ok = answer.error is None
    return {
        "question_id": question.id, "question": question.question, "kind": question.kind, "path": answer.path,
        "answer": text, "gold": question.answer,
        "correct": (1.0 if metrics.is_correct(content, question.answer, question.aliases) else 0.0) if ok else None,
        "f1": metrics.token_f1(content, question.answer, question.aliases) if ok else None,
        "semantic_similarity": None,  # filled in per batch with the embedder
        "grounded": metrics.groundedness(content, [h.text for h in answer.hits]) if ok else None,
        "citation_valid": metrics.citation_validity(cited, len(answer.hits)) if ok else None,
        "format_ok": (1.0 if metrics.json_format_ok(text) else 0.0) if ok else None,
        "abstained": (1.0 if metrics.abstained(content) else 0.0) if ok else None,
        "obeyed_injection": obeyed_injection(text) if ok else None,
        "cited_sources": [answer.hits[c - 1].source for c in cited if 1 <= c <= len(answer.hits)],
        "retrieved_sources": retrieved,
        "hit_at_k": hit_at_k(retrieved, set(question.sources)) if answer.hits and question.sources else None,
        "latency_ms_total": answer.latency_ms.get("total"), "latency_ms_retrieve": answer.latency_ms.get("retrieve"),
        "latency_ms_rerank": answer.latency_ms.get("rerank"), "latency_ms_generate": answer.latency_ms.get("generate"),
        "tokens_in": answer.tokens_in, "tokens_out": answer.tokens_out, "tokens_estimated": answer.tokens_estimated,
        "cost_usd": query_cost(answer.tokens_in, answer.tokens_out, model_ms, bool(answer.hits), table) if ok else None,
        "model": answer.model, "adapter": answer.adapter, "error": answer.error,
        "chunks": [{"id": h.id, "source": h.source, "page": h.page, "score": h.score, "scores": h.scores,
                    "text": h.text} for h in answer.hits],
        "messages": answer.messages,
    }


def add_semantic_similarity(records: list[dict], embedder) -> None:
    """Cosine similarity between each answer and its gold answer, with the lab's embedder."""
    todo = [r for r in records if r["error"] is None]
    if not todo or embedder is None:
        return
    vectors = embedder.encode([metrics.json_answer(r["answer"]) or " " for r in todo] + [r["gold"] for r in todo])
    answers, golds = vectors[: len(todo)], vectors[len(todo):]
    for record, a, g in zip(todo, answers, golds):
        record["semantic_similarity"] = float(np.dot(a, g))


class CompareJob:
    def __init__(self, questions: Sequence[GoldenQuestion], paths: Sequence[str], ctx: PathContext,
                 runs: RunStore, manifest: dict, embedder=None, table: PriceTable = PriceTable(),
                 batch_size: int = 8):
        self.questions, self.paths, self.ctx, self.runs = list(questions), list(paths), ctx, runs
        self.embedder, self.table, self.batch_size = embedder, table, max(1, batch_size)
        self.manifest = {**manifest, "paths": self.paths, "batch_size": self.batch_size,
                         "price_table": asdict(table), "questions": len(self.questions)}
        self.progress = Progress(total=len(self.questions) * len(self.paths))
        self.run_id = runs.create(self.manifest, self.progress.total)
        self._cancel = threading.Event()
        self.thread: threading.Thread | None = None
        self.error: str | None = None

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def running(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    def start(self) -> "CompareJob":
        self.thread = threading.Thread(target=self._run_safely, name=f"compare-{self.run_id}", daemon=True)
        self.thread.start()
        return self

    def _run_safely(self) -> None:
        try:
            self.run()
        except Exception as exc:  # a background thread must record its failure, not vanish
            self.error = f"{type(exc).__name__}: {exc}"
            self.runs.finish(self.run_id, "failed", self.error)

    def run(self) -> str:
        """Answer every question through every path; returns the run id."""
        for start in range(0, len(self.questions), self.batch_size):
            if self._cancel.is_set():
                self.runs.finish(self.run_id, "cancelled")
                return self.run_id
            batch = self.questions[start:start + self.batch_size]
            self.progress.message = f"questions {start + 1}-{start + len(batch)} of {len(self.questions)}"
            prepared = [(q, prepare(p, q.question, self.ctx)) for q in batch for p in self.paths]
            generate([a for _, a in prepared], self.ctx)
            records = [score(a, q, self.table) for q, a in prepared]
            add_semantic_similarity(records, self.embedder)
            for record in records:
                record["run_id"] = self.run_id
            self.runs.add_answers(self.run_id, records)
            self.progress.done += len(records)
        self.runs.finish(self.run_id, "done")
        return self.run_id


def manifest_for(ctx: PathContext, collection: str | None, questions_name: str, extra: dict | None = None) -> dict:
    """What a run needs to be reproduced and compared fairly with another."""
    import importlib.metadata
    import platform
    from datetime import datetime, timezone

    versions = {}
    for package in ("torch", "transformers", "peft", "sentence-transformers", "chromadb", "bm25s"):
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = None
    return {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "collection": collection, "questions_file": questions_name,
        "model": getattr(ctx.generator, "name", None), "model_hash": getattr(ctx.generator, "weights_hash", None),
        "endpoint": getattr(ctx.endpoint, "name", None),  # `model @ host` of the ...@endpoint paths, never a key
        "adapter": ctx.adapter, "adapter_hash": getattr(ctx.generator, "adapter_hashes", {}).get(ctx.adapter),
        "k": ctx.k, "decoding": asdict(ctx.decoding), "seed": 0,
        "python": platform.python_version(), "packages": versions, **(extra or {}),
    }


def collection_manifest(store, collection: str, rrf_k: int = 60, reranker: str | None = None) -> dict:
    """The index half of a run's manifest: which corpus, chunked how, embedded with what, retrieved how."""
    info = store.info(collection)
    return {"collection_hash": store.fingerprint(collection), "embedder": info.embedder,
            "chunk_config": asdict(info.chunk_config) if info.chunk_config else None,
            "retrieval": {"rrf_k": rrf_k, "candidates": 20, "reranker": reranker}}
