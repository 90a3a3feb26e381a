"""Retrieval evaluation against a golden set: hit@k, recall@k and MRR per mode, by file and by passage.

By file, a retrieved chunk is relevant when its source file is one of the question's `sources`. By passage
(questions that name gold passages), it is relevant when it holds one of them (`GoldPassage.relevant`: the same
chunk, or an overlapping range of the same document, so a passage picked at one chunk size is judged at any
other). Each mean comes with a bootstrap 95% CI, and the scores are split by provenance: model-drafted
questions reuse the words of the chunk they were drafted from, so they are easier for retrieval than questions
people wrote.

>>> hit_at_k(["a.md", "b.md"], {"b.md"}), recall_at_k(["a.md", "b.md"], {"b.md", "c.md"}), mrr(["a.md", "b.md"], {"b.md"})
(1.0, 0.5, 0.5)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from lab.evaluation.golden import GoldenQuestion
from lab.evaluation.stats import Estimate, mean_ci
from lab.index.retrieval import Hit, Retriever

EASIER = ("Model-drafted questions borrow the words of the passage they were drafted from, so retrieval finds "
          "them more easily than questions people write: read the 'written' numbers as the realistic ones.")


def hit_at_k(retrieved: Sequence[str], gold: set[str]) -> float:
    return 1.0 if any(s in gold for s in retrieved) else 0.0


def recall_at_k(retrieved: Sequence[str], gold: set[str]) -> float:
    return len(gold & set(retrieved)) / len(gold) if gold else 0.0


def mrr(retrieved: Sequence[str], gold: set[str]) -> float:
    return next((1.0 / rank for rank, s in enumerate(retrieved, 1) if s in gold), 0.0)


@dataclass(frozen=True)
class SourceCheck:
    """How a golden set's gold sources meet a collection's files."""

    questions: int
    with_sources: int  # questions that name gold sources
    matching: int  # ... of which at least one source is in the collection
    missing: list[str]  # gold sources the collection does not hold

    @property
    def ok(self) -> bool:
        return self.matching > 0

    def message(self, collection: str, set_label: str) -> str | None:
        if self.with_sources == 0:
            return (f"{set_label} names no gold sources, so retrieval cannot be scored: pick gold passages for its "
                    "questions (Golden sets page) or add a 'sources' column with the document file names.")
        if self.matching == 0:
            shown = ", ".join(self.missing[:5]) + (f" and {len(self.missing) - 5} more" if len(self.missing) > 5 else "")
            some = "The question" if self.with_sources == 1 else f"None of the {self.with_sources} questions"
            verb = "does not cite" if self.with_sources == 1 else "cites"
            return (f"{some} of {set_label} {verb} a file of collection {collection!r} (it cites {shown}): the set "
                    "was made for another corpus. Choose the golden set of this collection, or build one for it; "
                    "scores against it would all be zero.")
        if self.matching < self.with_sources:
            return (f"{self.with_sources - self.matching} of {self.with_sources} questions cite only files that "
                    f"collection {collection!r} does not hold ({', '.join(self.missing[:5])}); they are left out.")
        return None


def check_sources(questions: Sequence[GoldenQuestion], collection_sources, documents: dict | None = None
                  ) -> SourceCheck:
    """How the questions' gold sources meet a collection: `collection_sources` maps its file names to their
    content hashes (a set of names also works). Where the set recorded the content of a gold document when it was
    saved (`documents`), a file of the same name but other content does not count as that document: two corpora
    that both hold a faq.html are not one corpus.

    >>> from lab.evaluation.golden import GoldenQuestion
    >>> q = [GoldenQuestion("q1", "Q?", "A", sources=["faq.html"])]
    >>> check_sources(q, {"faq.html": "aaa"}, {"faq.html": "aaa"}).matching, check_sources(q, {"faq.html": "bbb"},
    ...     {"faq.html": "aaa"}).missing
    (1, ['faq.html (other content)'])
    """
    hashes = collection_sources if isinstance(collection_sources, dict) else dict.fromkeys(collection_sources)
    recorded = documents or {}

    def held(source: str) -> bool:
        if source not in hashes:
            return False
        return source not in recorded or hashes[source] is None or hashes[source] == recorded[source]

    cited = [q for q in questions if q.sources]
    matching = [q for q in cited if any(held(s) for s in q.sources)]
    missing = sorted({s if s not in hashes else f"{s} (other content)" for q in cited for s in q.sources
                      if not held(s)}, key=lambda s: (not s.endswith("(other content)"), s))  # the telling ones first
    return SourceCheck(len(questions), len(cited), len(matching), missing)


def chunk_spans(store, collection: str) -> dict[str, tuple[int, int]]:
    """chunk id -> (start, end) in its document, for judging retrieval by passage."""
    return {r["id"]: (int(r["meta"].get("start", 0)), int(r["meta"].get("end", 0)))
            for r in store.chunks(collection) if r["meta"]}


def passage_ranks(hits: Sequence[Hit], question: GoldenQuestion, spans: dict[str, tuple[int, int]]) -> list[int]:
    """For each gold passage, the 1-based rank of the first hit that holds it (0: not retrieved)."""
    ranks = []
    for passage in question.passages:
        rank = 0
        for i, h in enumerate(hits, 1):
            start, end = spans.get(h.id, (None, None))
            if passage.relevant(h.source, start, end, h.text, h.id):
                rank = i
                break
        ranks.append(rank)
    return ranks


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
    ci: dict[str, Estimate] = field(default_factory=dict)  # "hit_at_k", "recall_at_k", "mrr" (and passage_*)
    passage_questions: int = 0
    passage: dict[str, float] = field(default_factory=dict)  # "hit_at_k", "recall_at_k", "mrr" by passage
    by_provenance: dict[str, dict] = field(default_factory=dict)  # provenance -> {"questions", metric: Estimate}


def _means(rows: list[dict], prefix: str = "") -> dict[str, Estimate]:
    return {m: mean_ci([r[prefix + m] for r in rows]) for m in ("hit_at_k", "recall_at_k", "mrr")}


def evaluate(modes: dict[str, Retriever], questions: Sequence[GoldenQuestion], k: int = 5,
             progress: Callable[[int, int, str], None] | None = None,
             spans: dict[str, tuple[int, int]] | None = None,
             collection_sources: set[str] | None = None) -> list[ModeScores]:
    """Score every mode on the questions that have gold sources (those citing a file of the collection, when
    `collection_sources` is given); by passage too for questions with gold passages (`spans`: `chunk_spans`)."""
    scored = [q for q in questions if q.sources and (collection_sources is None or set(q.sources) & collection_sources)]
    results = []
    for step, (mode, retriever) in enumerate(modes.items()):
        rows, times = [], []
        for q in scored:
            start = time.perf_counter()
            hits = retriever.search(q.question, k)
            times.append((time.perf_counter() - start) * 1000)
            sources, gold = [h.source for h in hits], set(q.sources)
            row = {"id": q.id, "kind": q.kind, "provenance": q.provenance, "hit_at_k": hit_at_k(sources, gold),
                   "recall_at_k": recall_at_k(sources, gold), "mrr": mrr(sources, gold), "retrieved": sources,
                   "retrieved_ids": [h.id for h in hits]}
            if q.passages:
                ranks = passage_ranks(hits, q, spans or {})
                row.update({"passage_hit_at_k": 1.0 if any(ranks) else 0.0,
                            "passage_recall_at_k": sum(1 for r in ranks if r) / len(ranks),
                            "passage_mrr": 1.0 / min(r for r in ranks if r) if any(ranks) else 0.0})
            rows.append(row)
        n = len(rows) or 1
        times.sort()
        ci = _means(rows)
        with_passages = [r for r in rows if "passage_mrr" in r]
        passage = {m: sum(r["passage_" + m] for r in with_passages) / len(with_passages)
                   for m in ("hit_at_k", "recall_at_k", "mrr")} if with_passages else {}
        if with_passages:
            ci.update({"passage_" + m: e for m, e in _means(with_passages, "passage_").items()})
        by_provenance = {}
        for prov in sorted({r["provenance"] for r in rows}):
            part = [r for r in rows if r["provenance"] == prov]
            by_provenance[prov] = {"questions": len(part), **_means(part)}
        results.append(ModeScores(mode, k, len(rows), sum(r["hit_at_k"] for r in rows) / n,
                                  sum(r["recall_at_k"] for r in rows) / n, sum(r["mrr"] for r in rows) / n,
                                  times[len(times) // 2] if times else 0.0, rows, ci, len(with_passages), passage,
                                  by_provenance))
        if progress:
            progress(step + 1, len(modes), mode)
    return results


def scores_table(results: Sequence[ModeScores]) -> list[dict]:
    """One row per mode (and per provenance when a set mixes them), with CIs, for pages and the command line."""
    def fmt(e: Estimate) -> str:
        return f"{e.mean:.3f} [{e.low:.3f}, {e.high:.3f}]"

    rows = []
    for r in results:
        row = {"mode": r.mode, "questions": r.questions, **{f"{m} (95% CI)": fmt(r.ci[m]) for m in
                                                          ("hit_at_k", "recall_at_k", "mrr") if m in r.ci}}
        if r.passage_questions:
            row.update({"by passage: questions": r.passage_questions,
                        **{f"by passage: {m}": fmt(r.ci["passage_" + m]) for m in ("hit_at_k", "mrr")}})
        row["p50 ms"] = round(r.p50_ms, 1)
        rows.append(row)
        if len(r.by_provenance) > 1:
            for prov, part in r.by_provenance.items():
                rows.append({"mode": f"{r.mode} ({prov})", "questions": part["questions"],
                             **{f"{m} (95% CI)": fmt(part[m]) for m in ("hit_at_k", "recall_at_k", "mrr")}})
    return rows
