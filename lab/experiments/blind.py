"""Blind stakeholder mode: answers shown shuffled and unlabeled, votes stored with the run, then a reveal.

Viewers judge answers, not labels: the order is a shuffle seeded by run and question (so reruns and page
changes keep it), each answer is "Answer A", "Answer B", ..., and what would give a path away is left out
until the reveal: retrieved chunks, cited sources, citation markers and the JSON wrapper of the behaviour
format (only its `answer` field is shown). Votes go to `RunStore.add_vote` against the real path, so the
Results page counts them next to the metrics. A one-off question is stored as a small run of its own
(`RunManifest.blind`) so its votes have a run.

>>> blind_order(["prompt", "rag", "hybrid"], "run1:q01") == blind_order(["hybrid", "prompt", "rag"], "run1:q01")
True
>>> letters(3)
['A', 'B', 'C']
>>> blind_text('{"answer": "Port 7443 [1].", "sources": [1], "confidence": "high"}')
'Port 7443.'
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass

from lab.experiments.manifest import RunManifest
from lab.errors import InputError
from lab.evaluation.metrics import json_answer
from lab.evaluation.record import AnswerRecord

_CITATION = re.compile(r"\s*\[\d+(?:\s*,\s*\d+)*\]")


def blind_order(paths: Sequence[str], seed_key: str) -> list[str]:
    """The paths in a shuffled order that depends only on the set of paths and `seed_key`."""
    order = sorted(paths)
    random.Random(int(hashlib.sha256(seed_key.encode()).hexdigest()[:16], 16)).shuffle(order)
    return order


def letters(n: int) -> list[str]:
    if not 0 <= n <= 26:
        raise InputError(f"Blind mode labels up to 26 answers, got {n}: choose fewer paths.")
    return [chr(ord("A") + i) for i in range(n)]


def blind_text(text: str, sources: Sequence[str] = ()) -> str:
    """What a viewer sees: the answer's content without citation markers and without the names of the documents
    it retrieved (both reveal retrieval): blind_text("See faq.html [2].", ["faq.html"]) -> 'See a document.'"""
    shown = _CITATION.sub("", json_answer(text))
    for source in sorted({s for s in sources if s}, key=len, reverse=True):
        shown = re.sub(rf"(?:\bsource:\s*)?{re.escape(source)}", "a document", shown, flags=re.I)
    return re.sub(r"\s+([.,;:])", r"\1", shown).strip()


@dataclass
class BlindAnswer:
    letter: str
    path: str  # hidden until the reveal
    text: str  # as shown (blind_text)
    error: str | None
    record: AnswerRecord  # the full stored record, for the reveal


def blind_answers(records: Sequence[AnswerRecord], run_id: str, question_id: str) -> list[BlindAnswer]:
    """One question's answers from a run, in blind order, lettered."""
    mine = {r.path: r for r in records if r.question_id == question_id}
    if not mine:
        raise InputError(f"Run {run_id} has no answers for question {question_id}: pick another question.")
    order = blind_order(list(mine), f"{run_id}:{question_id}")
    return [BlindAnswer(letter, path, blind_text(mine[path].answer, [c.source for c in mine[path].chunks]),
                        mine[path].error, mine[path])
            for letter, path in zip(letters(len(order)), order)]


def run_questions(records: Sequence[AnswerRecord]) -> list[tuple[str, str]]:
    """(question id, question) of a run's answers, in the order they were answered."""
    seen: dict[str, str] = {}
    for r in records:
        seen.setdefault(r.question_id, r.question)
    return list(seen.items())


def question_id(question: str) -> str:
    """A stable id for a typed question: question_id("Why?") -> 'typed-...' (same text, same id)."""
    return "typed-" + hashlib.sha256(question.strip().encode()).hexdigest()[:8]


def store_answers(answers, question, runs, manifest: RunManifest | dict, embedder=None, table=None,
                  fmt=None) -> str:
    """Store one question's answers (lab.experiments.answer_paths.Answer) as a finished run marked blind; returns its run id.

    `question` is a `lab.evaluation.golden.GoldenQuestion`; with an empty gold answer the gold-based scores are left
    empty (None) instead of counting as wrong.
    """
    from lab.evaluation.costs import PriceTable
    from lab.experiments.scoring import add_semantic_similarity, score

    table = table or PriceTable()
    from lab.evaluation.answer_format import SAMPLE

    records = [score(a, question, table, fmt or SAMPLE) for a in answers]
    if question.answer:
        add_semantic_similarity(records, embedder)
    else:
        for record in records:
            record.correct = record.f1 = record.semantic_similarity = None
    paths = [a.path for a in answers]
    manifest = manifest if isinstance(manifest, RunManifest) else RunManifest.from_dict(manifest)
    run_id = runs.create(manifest.with_(blind=True, paths=tuple(paths), questions=1, price_table=table),
                         len(records))
    for record in records:
        record.run_id = run_id
    runs.add_answers(run_id, records)
    runs.finish(run_id, "done")
    return run_id


def vote(runs, run_id: str, question_id: str, answer: BlindAnswer, voter: str) -> bool:
    """One vote per viewer per question: False (nothing stored) when `voter` has voted on it already."""
    return runs.add_vote(run_id, question_id, answer.path, voter)


def reveal(answers: Sequence[BlindAnswer], question_votes: dict[str, int], run_votes: dict[str, int]) -> list[dict]:
    """The mapping table shown after the reveal: letter, path, votes on this question and in the run."""
    return [{"answer": f"Answer {a.letter}", "path": a.path, "votes (this question)": question_votes.get(a.path, 0),
             "votes (whole run)": run_votes.get(a.path, 0)} for a in answers]
