"""Golden question sets (JSONL): load and validate, with line-numbered errors.

One object a line: {"id", "question", "answer", "aliases", "sources", "kind"}; only
`question` and `answer` are required.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from lab.corpus.files import decode_text, read_regular
from lab.errors import InputError

KINDS = {"fact", "exact-term", "paraphrased", "multi-hop", "numeric", "negation", "general"}


@dataclass(frozen=True)
class GoldenQuestion:
    id: str
    question: str
    answer: str
    aliases: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    kind: str = "fact"


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
        if not isinstance(row, dict):
            problems.append(f"line {number}: expected a JSON object")
            continue
        missing = [k for k in ("question", "answer") if not str(row.get(k, "")).strip()]
        if missing:
            problems.append(f"line {number}: missing {' and '.join(missing)}")
            continue
        qid = str(row.get("id") or f"q{number:03d}")
        if qid in ids:
            problems.append(f"line {number}: duplicate id {qid}")
            continue
        ids.add(qid)
        kind = row.get("kind", "fact")
        if kind not in KINDS:
            problems.append(f"line {number}: kind {kind!r} is not one of {', '.join(sorted(KINDS))}")
            continue
        aliases, sources = row.get("aliases", []), row.get("sources", [])
        if not isinstance(aliases, list) or not isinstance(sources, list):
            problems.append(f"line {number}: aliases and sources must be lists of strings")
            continue
        questions.append(GoldenQuestion(qid, str(row["question"]).strip(), str(row["answer"]).strip(),
                                        [str(a) for a in aliases], [str(s) for s in sources], kind))
    if problems:
        shown = "; ".join(problems[:10]) + (f"; and {len(problems) - 10} more" if len(problems) > 10 else "")
        raise InputError(f"{name}: {shown}. Fix these lines (format: one JSON object per line with "
                         '"question" and "answer").')
    if not questions:
        raise InputError(f"{name}: no questions found; add one JSON object per line.")
    return questions


MAX_FILE_BYTES = 64 * 2**20  # a golden set of a million questions is still far below this


def load_golden(path: str | Path) -> list[GoldenQuestion]:
    path = Path(path)
    if not path.is_file():
        raise InputError(f"Question file {path} not found.")
    return parse_golden(decode_text(read_regular(path, MAX_FILE_BYTES), path.name), path.name)
