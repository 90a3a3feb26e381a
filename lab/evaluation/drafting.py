"""Draft golden questions from a collection with a model, check them, and keep them for review.

1. `sample_chunks`: chunks sampled across documents, stratified (round robin over documents in a seeded order),
   so every document gets a question before any gets a second; chunks too short to ask about are left out.
2. The chosen generator (the local model, or an OpenAI-compatible endpoint, which drafts far better) is asked for
   a question the chunk answers (`question_messages`), then for its answer copied from the chunk
   (`answer_messages`): two short steps that even a 135M model can follow.
3. `check_draft` rejects drafts whose answer is not in the chunk (verbatim, or 80% of its content words), whose
   question gives the answer away, or that are empty or too long; `dedupe` rejects near-duplicate questions
   (embedding cosine >= 0.9 with an earlier draft or an existing question).
4. Drafts are stored beside the golden set (`drafts.jsonl`) for a person to accept, edit or reject
   (`apply_review`); accepted ones join the set as a new version, marked "drafted" (or "edited").

>>> check_draft("Which licence covers the files?", "the Apache License", "Licensed under the Apache License, 2.0.")
''
>>> check_draft("What is the colour?", "blue", "The sky was grey.")
'answer not found in its passage'
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace

from lab.config import DecodingConfig
from lab.errors import InputError
from lab.evaluation.golden import GoldenQuestion, GoldPassage
from lab.jobs import BackgroundJob

MIN_WORDS = 25  # a chunk shorter than this is rarely worth a question
DUPLICATE_COSINE = 0.9
SYSTEM = "You write quiz questions about a passage. Reply with one line of JSON and nothing else."
_STOP = set("a an the of to in on for and or is are was were be by with as at from that this it its which what who "
            "when where how why do does did not no".split())


@dataclass
class Draft:
    id: str
    question: str
    answer: str
    source: str
    chunk_id: str
    start: int
    end: int
    chunk_text: str
    model: str = ""
    status: str = "pending"  # pending | accepted | rejected
    reason: str = ""  # why the checks rejected it ("" when it passed them)
    raw: str = ""  # what the model replied

    def to_question(self, qid: str, question: str | None = None, answer: str | None = None) -> GoldenQuestion:
        edited = (question is not None and question.strip() != self.question) or \
                 (answer is not None and answer.strip() != self.answer)
        return GoldenQuestion(qid, (question or self.question).strip(), (answer or self.answer).strip(), [],
                              [self.source], "fact", [GoldPassage(self.source, self.chunk_id, self.start, self.end)],
                              "edited" if edited else "drafted")


def sample_chunks(chunks: Sequence[dict], n: int, seed: int = 0) -> list[dict]:
    """Up to `n` chunks (rows of `Store.chunks`) spread across documents: round robin over the documents, each
    document's chunks in a seeded random order. With n >= documents, every document is covered. Chunks under
    MIN_WORDS words are left out unless a document has nothing longer (under 5 words: always)."""
    by_source: dict[str, list[dict]] = {}
    for c in chunks:
        by_source.setdefault(c["meta"]["source"], []).append(c)
    for source, rows in list(by_source.items()):  # a short document still gets its longer chunks asked about
        long = [c for c in rows if len(c["text"].split()) >= MIN_WORDS]
        by_source[source] = long or [c for c in rows if len(c["text"].split()) >= 5]
    rng = random.Random(seed)
    order = sorted(by_source)
    rng.shuffle(order)
    for source in order:
        by_source[source].sort(key=lambda c: c["meta"].get("start", 0))
        rng.shuffle(by_source[source])
    picked: list[dict] = []
    while len(picked) < n and any(by_source.values()):
        for source in order:
            if by_source[source] and len(picked) < n:
                picked.append(by_source[source].pop())
    return picked


def question_messages(chunk_text: str) -> list[dict]:
    """Step 1: a question the passage answers (asked as a completion: small models follow it best)."""
    return [{"role": "system", "content": SYSTEM},
            {"role": "user", "content": f"Passage:\n{chunk_text.strip()}\n\nWrite one question that this passage "
                                        "answers, about a specific fact in it. Write only the question.\nQuestion:"}]


def answer_messages(chunk_text: str, question: str) -> list[dict]:
    """Step 2: the answer, copied from the passage (checked against it by `check_draft`)."""
    return [{"role": "system", "content": SYSTEM},
            {"role": "user", "content": f"Passage:\n{chunk_text.strip()}\n\nQuestion: {question}\nAnswer with the "
                                        "shortest phrase copied word for word from the passage. Write only the "
                                        "phrase.\nAnswer:"}]


def parse_question(text: str) -> str:
    """The first question in a reply: 'Question: "What is X?" More text' -> 'What is X?'."""
    text = re.sub(r"^\W*(question\s*\d*\s*:)?\s*", "", text.strip(), flags=re.I).lstrip("\"'*")
    end = text.find("?")
    return "" if end < 0 else re.sub(r"\s+", " ", text[:end + 1]).strip()


def parse_answer(text: str) -> str:
    """The first line of a reply, without an 'Answer:' label, quotes or a final full stop."""
    line = next((ln for ln in text.strip().splitlines() if ln.strip()), "")
    line = re.sub(r"^\W*(answer\s*:)?\s*", "", line.strip(), flags=re.I)
    return line.strip().rstrip(".").strip().strip("\"'*").strip()


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"[^\w\s]", " ", text.lower())).strip()


def check_draft(question: str, answer: str, chunk_text: str) -> str:
    """Why a draft is rejected ("" when it passes): the answer must be supported by its chunk."""
    if len(question.split()) < 4 or not answer:
        return "no usable question and answer in the reply"
    if len(answer.split()) > 30:
        return "answer too long for a short gold answer"
    chunk, ans = _norm(chunk_text), _norm(answer)
    if not ans:
        return "no usable question and answer in the reply"
    if ans in _norm(question):
        return "the question gives the answer away"
    if f" {ans} " not in f" {chunk} ":
        words = [w for w in ans.split() if w not in _STOP]
        present = set(chunk.split())
        if not words or sum(w in present for w in words) / len(words) < 0.8:
            return "answer not found in its passage"
    return ""


def dedupe(drafts: list[Draft], embedder, existing: Sequence[str] = (),
           threshold: float = DUPLICATE_COSINE) -> list[Draft]:
    """Reject drafts whose question is a near-duplicate (cosine >= threshold) of an existing question or of an
    earlier surviving draft."""
    import numpy as np

    alive = [d for d in drafts if not d.reason]
    if not alive:
        return drafts
    vectors = np.asarray(embedder.encode([d.question for d in alive] + list(existing)), dtype=float)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True).clip(1e-9)
    mine, theirs = vectors[:len(alive)], vectors[len(alive):]
    kept: list[int] = []
    for i, d in enumerate(alive):
        best = max(((float(mine[i] @ theirs[j]), f"existing question {j + 1}") for j in range(len(theirs))),
                   default=(0.0, ""))
        earlier = max(((float(mine[i] @ mine[j]), f"draft {alive[j].id}") for j in kept), default=(0.0, ""))
        cosine, other = max(best, earlier)
        if cosine >= threshold:
            d.reason = f"near-duplicate of {other} (cosine {cosine:.2f})"
        else:
            kept.append(i)
    return drafts


class DraftJob(BackgroundJob):
    """Draft questions from sampled chunks in batches (progress, cancel), then check and dedupe them.
    `drafts` holds every draft with its verdict; the survivors are those with an empty `reason`."""

    kind = "draft"

    def __init__(self, chunks: Sequence[dict], generator, embedder=None, existing: Sequence[str] = (),
                 batch_size: int = 8, decoding: DecodingConfig = DecodingConfig(max_new_tokens=96)):
        super().__init__()
        if not chunks:
            raise InputError("No chunks to draft from: the collection is empty or its chunks are too short.")
        self.chunks, self.generator, self.embedder = list(chunks), generator, embedder
        self.existing, self.batch_size, self.decoding = list(existing), max(1, batch_size), decoding
        self.drafts: list[Draft] = []
        self.progress.total = len(self.chunks)

    def work(self) -> None:
        for start in range(0, len(self.chunks), self.batch_size):
            self.check_cancel()
            batch = self.chunks[start:start + self.batch_size]
            self.advance(message=f"drafting from chunks {start + 1}-{start + len(batch)} of {len(self.chunks)}")
            asked = self.generator.generate([question_messages(c["text"]) for c in batch], self.decoding)
            questions = [parse_question(r.text) for r in asked]
            answered = self.generator.generate([answer_messages(c["text"], q or "(none)") for c, q in
                                                zip(batch, questions)], self.decoding)
            for c, reply, question, answer_reply in zip(batch, asked, questions, answered):
                answer = parse_answer(answer_reply.text) if question else ""
                meta = c["meta"]
                self.drafts.append(Draft(f"d{len(self.drafts) + 1:03d}", question, answer, meta["source"], c["id"],
                                         int(meta.get("start", 0)), int(meta.get("end", 0)), c["text"],
                                         getattr(self.generator, "name", ""), reason=check_draft(question, answer,
                                                                                                 c["text"]),
                                         raw=reply.text + "\n---\n" + answer_reply.text))
            self.advance(done=min(len(self.chunks), start + len(batch)))
        if self.embedder is not None:
            self.advance(message="removing near-duplicates")
            dedupe(self.drafts, self.embedder, self.existing)
        for d in self.drafts:
            if d.reason:
                d.status = "rejected"

    @property
    def survivors(self) -> list[Draft]:
        return [d for d in self.drafts if not d.reason]


def save_drafts(path, drafts: Sequence[Draft]) -> None:
    from lab.jobs import write_json_atomic

    write_json_atomic(path, {"drafts": [asdict(d) for d in drafts]})


def load_drafts(path) -> list[Draft]:
    from pathlib import Path

    from lab.config import read_json

    path = Path(path)
    if not path.is_file():
        return []
    advice = f"Delete {path.name} (in {path.parent}) and draft again; the set's questions are not affected."
    rows = read_json(path, advice).get("drafts")
    try:
        return [Draft(**row) for row in rows]
    except TypeError as exc:
        raise InputError(f"{path} is damaged: its drafts do not read as drafts ({exc}). {advice}") from exc


def apply_review(drafts: list[Draft], questions: list[GoldenQuestion], accept: dict[str, tuple[str, str] | None],
                 reject: Sequence[str] = ()) -> tuple[list[Draft], list[GoldenQuestion]]:
    """Accept drafts (by id; a (question, answer) pair is an edit, None keeps the draft as is) and reject others:
    returns the drafts with their new status and the questions with the accepted ones appended."""
    by_id = {d.id: d for d in drafts}
    unknown = (set(accept) | set(reject)) - set(by_id)
    if unknown:
        raise InputError(f"No draft with id {', '.join(sorted(unknown))} (drafts: {', '.join(by_id) or 'none'}).")
    taken = {q.id for q in questions}
    out, added = [], []
    for d in drafts:
        if d.id in accept and d.status != "accepted":
            edit = accept[d.id]
            qid = next(f"{d.id}-{n}" if n else d.id for n in range(1000) if (f"{d.id}-{n}" if n else d.id) not in taken)
            taken.add(qid)
            added.append(d.to_question(qid, *(edit or (None, None))))
            d = replace(d, status="accepted")
        elif d.id in reject:
            d = replace(d, status="rejected", reason=d.reason or "rejected in review")
        out.append(d)
    return out, list(questions) + added
