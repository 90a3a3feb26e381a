"""Scoring one answer against its golden question: the `AnswerRecord` (the CSV row) with every metric,
latency, token count and cost; semantic similarity is added per batch with the embedder."""

from __future__ import annotations

import numpy as np

from lab.evaluation import metrics
from lab.evaluation.answer_format import SAMPLE, AnswerFormat
from lab.evaluation.costs import PriceTable, record_cost
from lab.evaluation.golden import GoldenQuestion
from lab.evaluation.injection import obeyed_injection
from lab.evaluation.record import AnswerRecord, RetrievedChunk
from lab.evaluation.retrieval import hit_at_k
from lab.experiments.answer_paths import Answer


def score(answer: Answer, question: GoldenQuestion, table: PriceTable, fmt: AnswerFormat = SAMPLE) -> AnswerRecord:
    """The answer's record: text, metrics, latency, tokens, cost (scores None when the answer failed). `fmt`: the
    answer format (`lab.evaluation.answer_format`) that format compliance, the answer text and citations are read
    with."""
    text = answer.text
    content = fmt.content(text)
    retrieved = [h.source for h in answer.hits]
    cited = fmt.cited(text)
    record = AnswerRecord(
        question_id=question.id, question=question.question, kind=question.kind, path=answer.path,
        answer=text, gold=question.answer,
        cited_sources=[answer.hits[c - 1].source for c in cited if 1 <= c <= len(answer.hits)],
        retrieved_sources=retrieved,
        hit_at_k=hit_at_k(retrieved, set(question.sources)) if answer.hits and question.sources else None,
        latency_ms_total=answer.latency_ms.get("total"), latency_ms_retrieve=answer.latency_ms.get("retrieve"),
        latency_ms_rerank=answer.latency_ms.get("rerank"), latency_ms_generate=answer.latency_ms.get("generate"),
        tokens_in=answer.tokens_in, tokens_out=answer.tokens_out, tokens_estimated=answer.tokens_estimated,
        model=answer.model, adapter=answer.adapter, error=answer.error,
        chunks=[RetrievedChunk.from_hit(h) for h in answer.hits], messages=answer.messages,
        agent={**answer.agent, "needs_corpus": bool(question.sources or question.passages)} if answer.agent else None)
    if answer.error is None:
        record.correct = 1.0 if metrics.is_correct(content, question.answer, question.aliases) else 0.0
        record.correct_strict = record.correct and (
            0.0 if metrics.contradicts(content, question.answer, question.aliases, question.question) else 1.0)
        record.f1 = metrics.token_f1(content, question.answer, question.aliases)
        record.grounded = metrics.groundedness(content, [h.text for h in answer.hits])
        record.citation_valid = metrics.citation_validity(cited, len(answer.hits))
        record.format_ok = 1.0 if fmt.ok(text) else 0.0
        record.abstained = 1.0 if metrics.abstained(content) else 0.0
        record.obeyed_injection = obeyed_injection(text)
        record.cost_usd = record_cost(record, table)
    return record


def add_semantic_similarity(records: list[AnswerRecord], embedder) -> None:
    """Cosine similarity between each answer and its gold answer, with the lab's embedder."""
    todo = [r for r in records if r.error is None]
    if not todo or embedder is None:
        return
    vectors = embedder.encode([metrics.json_answer(r.answer) or " " for r in todo] + [r.gold for r in todo])
    answers, golds = vectors[: len(todo)], vectors[len(todo):]
    for record, a, g in zip(todo, answers, golds):
        record.semantic_similarity = float(np.dot(a, g))
