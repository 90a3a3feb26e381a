"""The comparison paths: plain functions in one dict, each answering one question.

Every path uses the same generator, decoding settings and prompt template family
(`lab.prompts`), and records what it sent, what it retrieved and how long each stage took.
Paths added by later work (hybrid retrieval, adapters) register here the same way.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from lab import prompts
from lab.config import DecodingConfig
from lab.errors import InputError, LabError, PathUnavailable
from lab.models import Generator
from lab.retrieval import Hit, Retriever


@dataclass
class PathContext:
    generator: Generator
    retriever: Retriever | None = None  # dense retrieval over the active collection (naive RAG)
    hybrid: Retriever | None = None  # dense + BM25 fused, optionally reranked (production RAG)
    k: int = 4
    decoding: DecodingConfig = field(default_factory=DecodingConfig)


@dataclass
class Answer:
    path: str
    question: str
    text: str = ""
    hits: list[Hit] = field(default_factory=list)
    latency_ms: dict[str, float] = field(default_factory=dict)  # retrieve, generate, total
    tokens_in: int = 0
    tokens_out: int = 0
    messages: list[dict] = field(default_factory=list)
    model: str = ""
    error: str | None = None


def _generate(answer: Answer, ctx: PathContext, hits: list[Hit]) -> Answer:
    answer.hits = hits
    answer.messages = prompts.chat(answer.question, [(h.source, h.text) for h in hits])
    generation = ctx.generator.generate([answer.messages], ctx.decoding)[0]
    answer.text = generation.text
    answer.tokens_in, answer.tokens_out = generation.tokens_in, generation.tokens_out
    answer.latency_ms["generate"] = generation.seconds * 1000
    answer.model = ctx.generator.name
    return answer


def prompt_path(question: str, ctx: PathContext) -> Answer:
    """The base model with no retrieval: the prompt-engineering baseline."""
    return _generate(Answer("prompt", question), ctx, [])


def rag_path(question: str, ctx: PathContext) -> Answer:
    """Naive RAG: dense top-k chunks numbered into the prompt."""
    if ctx.retriever is None:
        raise PathUnavailable("rag needs an index: ingest a corpus and choose its collection.")
    answer = Answer("rag", question)
    start = time.perf_counter()
    hits = ctx.retriever.search(question, ctx.k)
    answer.latency_ms["retrieve"] = (time.perf_counter() - start) * 1000
    return _generate(answer, ctx, hits)


def hybrid_rag_path(question: str, ctx: PathContext) -> Answer:
    """Production RAG: dense + BM25 candidates fused by RRF, reranked when a cross-encoder is loaded."""
    if ctx.hybrid is None:
        raise PathUnavailable("hybrid-rag needs an index: ingest a corpus and choose its collection.")
    answer = Answer("hybrid-rag", question)
    start = time.perf_counter()
    hits = ctx.hybrid.search(question, ctx.k)
    elapsed = (time.perf_counter() - start) * 1000
    rerank = getattr(ctx.hybrid, "last_timings", {}).get("rerank_ms", 0.0)
    answer.latency_ms["retrieve"] = elapsed - rerank
    if rerank:
        answer.latency_ms["rerank"] = rerank
    return _generate(answer, ctx, hits)


PATHS: dict[str, Callable[[str, PathContext], Answer]] = {
    "prompt": prompt_path,
    "rag": rag_path,
    "hybrid-rag": hybrid_rag_path,
}


def parse_paths(text: str) -> list[str]:
    names = [p.strip() for p in text.split(",") if p.strip()]
    unknown = [n for n in names if n not in PATHS]
    if unknown or not names:
        raise InputError(f"Unknown path(s) {', '.join(unknown) or '(none given)'}: choose from {', '.join(PATHS)}.")
    return names


def run_path(name: str, question: str, ctx: PathContext) -> Answer:
    """Run one path; a path that cannot run comes back with its reason in `error`, never dropped."""
    if not question.strip():
        raise InputError("The question is empty: type a question.")
    start = time.perf_counter()
    try:
        answer = PATHS[name](question, ctx)
    except LabError as exc:
        answer = Answer(name, question, error=str(exc))
    answer.latency_ms["total"] = (time.perf_counter() - start) * 1000
    return answer
