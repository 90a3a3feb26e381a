"""Golden question sets (JSONL): load and validate, with line-numbered errors; write back.

One object a line: {"id", "question", "answer", "aliases", "sources", "kind", "passages", "provenance"}; only
`question` and `answer` are required. `passages` name gold passages, so retrieval can be judged by passage
as well as by file: each is {"source", "chunk_id", "start", "end"} (where a chunk of the collection lies in its
document) and/or {"source", "text"} (a span a relevant chunk must contain). `provenance` says who wrote the
question: "written" (a person), "drafted" (a model, accepted by a person), "edited" (drafted, then changed).

>>> q = parse_golden('{"question": "Q?", "answer": "A", "passages": [{"source": "a.md", "start": 0, "end": 9}]}')[0]
>>> q.passages[0].relevant("a.md", 3, 20), q.passages[0].relevant("a.md", 9, 40), q.provenance
(True, False, 'written')
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from lab.corpus.files import decode_text, read_regular
from lab.errors import InputError

KINDS = {"fact", "exact-term", "paraphrased", "multi-hop", "numeric", "negation", "general"}
PROVENANCES = ("written", "drafted", "edited")


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


@dataclass(frozen=True)
class GoldPassage:
    """Where a question's answer lies: a chunk's place in its document, and/or a span of text it contains."""

    source: str
    chunk_id: str = ""
    start: int | None = None
    end: int | None = None
    text: str = ""

    def relevant(self, source: str, start: int | None, end: int | None, text: str = "", chunk_id: str = "") -> bool:
        """Whether a retrieved chunk holds this passage: the same chunk id; or the same document and a
        character range covering at least half of this passage (or half of the chunk, for a chunk inside it),
        so a passage picked at one chunk size is still judged at another; or it contains the text span."""
        if chunk_id and chunk_id == self.chunk_id:
            return True
        if source != self.source:
            return False
        if self.start is not None and self.end is not None and start is not None and end is not None:
            overlap = min(end, self.end) - max(start, self.start)
            if overlap > 0 and (overlap * 2 >= self.end - self.start or overlap * 2 >= end - start):
                return True
        return bool(self.text) and _norm(self.text) in _norm(text)


@dataclass(frozen=True)
class GoldenQuestion:
    id: str
    question: str
    answer: str
    aliases: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    kind: str = "fact"
    passages: list[GoldPassage] = field(default_factory=list)
    provenance: str = "written"
    # what the answer was before a knowledge update (the update demo's "old fact"); empty for other questions
    answer_before_update: str = ""
    aliases_before_update: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        row = asdict(self)
        row["passages"] = [{k: v for k, v in asdict(p).items() if v not in ("", None)} for p in self.passages]
        for key in ("answer_before_update", "aliases_before_update"):
            if not row[key]:
                del row[key]
        return row


def _passages(raw, number: int, problems: list[str]) -> list[GoldPassage] | None:
    if not isinstance(raw, list) or not all(isinstance(p, dict) for p in raw):
        problems.append(f"line {number}: passages must be a list of objects")
        return None
    out = []
    for p in raw:
        if not str(p.get("source", "")).strip():
            problems.append(f"line {number}: every passage needs the source (file name) it lies in")
            return None
        start, end = p.get("start"), p.get("end")
        if (start is None) != (end is None) or (start is not None and not (isinstance(start, int) and
                                                                           isinstance(end, int) and 0 <= start < end)):
            problems.append(f"line {number}: a passage's start and end must be whole numbers with start < end")
            return None
        if start is None and not p.get("chunk_id") and not str(p.get("text", "")).strip():
            problems.append(f"line {number}: a passage needs chunk_id, start and end, or text")
            return None
        out.append(GoldPassage(str(p["source"]), str(p.get("chunk_id") or ""), start, end, str(p.get("text") or "")))
    return out


def question_from_row(row, number: int, ids: set[str], problems: list[str]) -> GoldenQuestion | None:
    """One validated question from one parsed row (a JSON object, or a mapped CSV row); problems name the line."""
    if not isinstance(row, dict):
        problems.append(f"line {number}: expected a JSON object")
        return None
    missing = [k for k in ("question", "answer") if not str(row.get(k) or "").strip()]
    if missing:
        problems.append(f"line {number}: missing {' and '.join(missing)}")
        return None
    wrong = [k for k in ("id", "question", "answer", "kind", "provenance", "answer_before_update")
             if row.get(k) is not None and not isinstance(row[k], (str, int, float))]
    if wrong:
        problems.append(f"line {number}: {', '.join(wrong)} must be text, not a list or an object")
        return None
    qid = str(row.get("id") or f"q{number:03d}")
    if qid in ids:
        problems.append(f"line {number}: duplicate id {qid}")
        return None
    kind = row.get("kind") or "fact"
    if kind not in KINDS:
        problems.append(f"line {number}: kind {kind!r} is not one of {', '.join(sorted(KINDS))}")
        return None
    provenance = row.get("provenance") or "written"
    if provenance not in PROVENANCES:
        problems.append(f"line {number}: provenance {provenance!r} is not one of {', '.join(PROVENANCES)}")
        return None
    aliases, sources = row.get("aliases") or [], row.get("sources") or []
    if not isinstance(aliases, list) or not isinstance(sources, list):
        problems.append(f"line {number}: aliases and sources must be lists of strings")
        return None
    passages = _passages(row.get("passages") or [], number, problems)
    if passages is None:
        return None
    before, before_aliases = str(row.get("answer_before_update") or "").strip(), row.get("aliases_before_update") or []
    if not isinstance(before_aliases, list):
        problems.append(f"line {number}: aliases_before_update must be a list of strings")
        return None
    sources = [str(s) for s in sources] + sorted({p.source for p in passages} - {str(s) for s in sources})
    ids.add(qid)
    return GoldenQuestion(qid, str(row["question"]).strip(), str(row["answer"]).strip(), [str(a) for a in aliases],
                          sources, kind, passages, provenance, before, [str(a) for a in before_aliases])


def raise_problems(problems: list[str], name: str, fmt: str) -> None:
    if problems:
        shown = "; ".join(problems[:10]) + (f"; and {len(problems) - 10} more" if len(problems) > 10 else "")
        raise InputError(f"{name}: {shown}. Fix these lines (format: {fmt}); nothing was imported.")


def parse_golden(text: str, name: str = "golden set") -> list[GoldenQuestion]:
    questions, problems, ids = [], [], set()
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(f"line {number}: not valid JSON ({exc.msg})")
            continue
        question = question_from_row(row, number, ids, problems)
        if question is not None:
            questions.append(question)
    raise_problems(problems, name, 'one JSON object per line with "question" and "answer"')
    if not questions:
        raise InputError(f"{name}: no questions found; add one JSON object per line.")
    return questions


MAX_FILE_BYTES = 64 * 2**20  # a golden set of a million questions is still far below this


def load_golden(path: str | Path) -> list[GoldenQuestion]:
    path = Path(path)
    if not path.is_file():
        raise InputError(f"Question file {path} not found.")
    return parse_golden(decode_text(read_regular(path, MAX_FILE_BYTES), path.name), path.name)


def to_jsonl(questions: list[GoldenQuestion]) -> str:
    """The golden set as JSONL (what `parse_golden` reads back: a round trip)."""
    return "".join(json.dumps(q.to_dict(), ensure_ascii=False) + "\n" for q in questions)
