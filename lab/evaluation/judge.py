"""LLM-as-judge: a model grades each answer against its gold answer, and the lab reports how far to trust it.

Alias containment ("the gold string is in the answer") is transparent but credits an answer that holds the
right words and states the wrong fact; the strict form (`metrics.contradicts`) catches negations only. A
capable model (an OpenAI-compatible endpoint; the embedded 135M model is no judge) reads question, gold and
answer and says CORRECT or INCORRECT. Its verdict is one more metric (`judge_correct`), never a silent
replacement: `agreement` reports Cohen's κ, with a 95% interval, between the judge and containment, the strict
rule, and the stakeholders' blind-mode votes, so a user sees how often the metrics would have decided
differently.

    judge = Judge(endpoint_generator)
    verdicts = judge.grade(records)          # 1.0, 0.0 or None (failed answer, no gold, unreadable verdict)

>>> parse_verdict("INCORRECT: the answer negates it"), parse_verdict("Correct."), parse_verdict("maybe")
(0.0, 1.0, None)
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from lab.config import DecodingConfig
from lab.evaluation.metrics import json_answer
from lab.evaluation.record import AnswerRecord
from lab.evaluation.stats import Estimate, cohen_kappa

SYSTEM = ("You grade a candidate answer against a reference answer to a question. The candidate is CORRECT when it "
          "states the same fact as the reference (other wording, extra detail or citations are fine). It is "
          "INCORRECT when it states a different or opposite fact, negates the reference, hedges between answers, "
          "or does not answer. Reply with one word: CORRECT or INCORRECT.")
_VERDICT = re.compile(r"\b(incorrect|correct)\b", re.IGNORECASE)
DECODING = DecodingConfig(max_new_tokens=8, temperature=0.0)


def messages(question: str, gold: str, answer: str) -> list[dict]:
    """The judge's conversation for one answer (the answer's content: a JSON answer's `answer` field)."""
    return [{"role": "system", "content": SYSTEM},
            {"role": "user", "content": f"Question: {question}\nReference answer: {gold}\n"
                                        f"Candidate answer: {json_answer(answer).strip() or '(empty)'}\nVerdict:"}]


def parse_verdict(text: str) -> float | None:
    """1.0 for CORRECT, 0.0 for INCORRECT (the first of the two words in the reply), None when neither is there."""
    found = _VERDICT.search(text or "")
    return None if found is None else (0.0 if found.group(1).lower() == "incorrect" else 1.0)


def gradable(record: AnswerRecord) -> bool:
    """An answer the judge can grade: it was produced (no error) and its question has a gold answer."""
    return record.error is None and bool(record.gold.strip())


class Judge:
    """Grades answers with a `Generator` (in practice an `EndpointGenerator`), `batch` answers per call."""

    def __init__(self, generator, batch: int = 8):
        self.generator, self.batch = generator, batch
        self.name = getattr(generator, "name", type(generator).__name__)

    def grade(self, records: Sequence[AnswerRecord]) -> list[float | None]:
        """One verdict per record, in order; None where it could not be graded or the reply had no verdict."""
        todo = [i for i, r in enumerate(records) if gradable(r)]
        verdicts: list[float | None] = [None] * len(records)
        for start in range(0, len(todo), self.batch):
            part = todo[start:start + self.batch]
            replies = self.generator.generate([messages(records[i].question, records[i].gold, records[i].answer)
                                               for i in part], DECODING)
            for i, reply in zip(part, replies):
                verdicts[i] = parse_verdict(reply.text)
        return verdicts


@dataclass(frozen=True)
class Agreement:
    """How far two correctness signals agree on the same answers: Cohen's κ with its 95% interval, and the raw
    share of answers where they give the same label."""

    a: str
    b: str
    kappa: Estimate
    agree: float


def _agreement(a: str, b: str, x: Sequence[float | None], y: Sequence[float | None]) -> Agreement:
    pairs = [(p, q) for p, q in zip(x, y) if p is not None and q is not None]
    agree = sum(p == q for p, q in pairs) / len(pairs) if pairs else float("nan")
    return Agreement(a, b, cohen_kappa(x, y), agree)


def agreement(records: Sequence[AnswerRecord], votes: dict[str, dict[str, int]] | None = None) -> list[Agreement]:
    """κ between the correctness signals on a run's answers: the judge against containment and the strict rule
    (when the run was judged), containment against strict, and each against the blind-mode votes.

    `votes` maps question id -> {path: votes}. A vote says which answer a viewer found best, not which are right:
    on a question with votes, an answer counts as approved when it got any, and only those questions count.
    """
    signals = {"containment": [r.correct for r in records], "strict": [r.correct_strict for r in records]}
    if any(r.judge_correct is not None for r in records):
        signals = {"judge": [r.judge_correct for r in records], **signals}
    if votes:
        signals["stakeholder votes"] = [
            (1.0 if votes[r.question_id].get(r.path, 0) > 0 else 0.0)
            if r.question_id in votes and r.error is None else None for r in records]
    names = list(signals)
    return [_agreement(a, b, signals[a], signals[b]) for i, a in enumerate(names) for b in names[i + 1:]]
