"""Building a golden set by hand: a question, its answer, and gold passages picked from a search; coverage.

    hits = retriever.search("How long is the warranty?", 10)       # the user ticks the chunks that answer it
    q = written_question("How long is the warranty?", "two years", [hits[2]], spans, taken_ids)
    # -> provenance "written", sources [hits[2].source], passages [GoldPassage(source, chunk id, start, end)]

`coverage` says which documents of the collection have questions, and how many of each kind and provenance.

>>> q = GoldenQuestion("q1", "Q?", "A", [], ["a.md"], "numeric", [], "drafted")
>>> [(r.document, r.questions, r.kinds) for r in coverage([q], {"a.md", "b.md"})]
[('a.md', 1, {'numeric': 1}), ('b.md', 0, {})]
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from lab.errors import InputError
from lab.evaluation.golden import KINDS, GoldenQuestion, GoldPassage


def next_id(taken: set[str], prefix: str = "w") -> str:
    n = len(taken) + 1
    while f"{prefix}{n:03d}" in taken:
        n += 1
    return f"{prefix}{n:03d}"


def written_question(question: str, answer: str, picked: Sequence, spans: dict[str, tuple[int, int]],
                     taken: set[str], kind: str = "fact", aliases: Sequence[str] = ()) -> GoldenQuestion:
    """A person's question with the chunks they picked as gold passages (`picked`: `Hit`s of a search)."""
    if not question.strip() or not answer.strip():
        raise InputError("Write both the question and its answer.")
    if not picked:
        raise InputError("Pick at least one gold passage from the search results (the chunk that answers it).")
    if kind not in KINDS:
        raise InputError(f"Kind {kind!r} is not one of {', '.join(sorted(KINDS))}.")
    passages = []
    for hit in picked:
        start, end = spans.get(hit.id, (None, None))
        passages.append(GoldPassage(hit.source, hit.id, start, end))
    sources = list(dict.fromkeys(p.source for p in passages))
    return GoldenQuestion(next_id(taken), question.strip(), answer.strip(), [a.strip() for a in aliases if a.strip()],
                          sources, kind, passages, "written")


@dataclass
class CoverageRow:
    document: str
    questions: int
    kinds: dict[str, int] = field(default_factory=dict)
    provenance: dict[str, int] = field(default_factory=dict)
    with_passages: int = 0
    in_collection: bool = True


def coverage(questions: Sequence[GoldenQuestion], documents: set[str]) -> list[CoverageRow]:
    """One row per document of the collection (and per cited document it lacks), with question counts."""
    rows = {d: CoverageRow(d, 0) for d in sorted(documents)}
    for q in questions:
        for source in dict.fromkeys(q.sources):
            row = rows.setdefault(source, CoverageRow(source, 0, in_collection=False))
            row.questions += 1
            row.kinds = dict(Counter(row.kinds) + Counter({q.kind: 1}))
            row.provenance = dict(Counter(row.provenance) + Counter({q.provenance: 1}))
            row.with_passages += 1 if any(p.source == source for p in q.passages) else 0
    return sorted(rows.values(), key=lambda r: (not r.in_collection, r.document))
