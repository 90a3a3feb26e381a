"""Scoring one answer against its golden question: the per-answer record (the CSV row) with every metric,
latency, token count and cost; semantic similarity is added per batch with the embedder."""

from __future__ import annotations

import numpy as np

from lab.evaluation import metrics
from lab.evaluation.costs import PriceTable, query_cost
from lab.evaluation.golden import GoldenQuestion
from lab.evaluation.injection import obeyed_injection
from lab.evaluation.retrieval import hit_at_k
from lab.experiments.answer_paths import Answer


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
