"""Golden sets in and out: import JSONL or CSV (with a column mapping), export JSONL.

A CSV needs a header row. Its columns are mapped to golden-set fields by name (`guess_mapping`: "question",
"q", "prompt" -> question; "answer", "gold", "expected" -> answer; "source", "document", "file" -> sources ...)
or by a mapping the user gives; list fields (aliases, sources) split on "|" or ";". Every problem is reported with
its line number, and nothing is imported unless every line is valid.

>>> text = "Question,Gold answer,Document\\nWho?,Ada,a.md|b.md\\n"
>>> mapping = guess_mapping(csv_header(text))
>>> mapping
{'question': 'Question', 'answer': 'Gold answer', 'sources': 'Document'}
>>> parse_csv(text, mapping)[0].sources
['a.md', 'b.md']
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from lab.corpus.files import decode_text
from lab.errors import InputError
from lab.evaluation.golden import GoldenQuestion, parse_golden, question_from_row, raise_problems

FIELDS = ("id", "question", "answer", "aliases", "sources", "kind", "provenance", "answer_before_update",
          "aliases_before_update")
LIST_FIELDS = {"aliases", "sources", "aliases_before_update"}
_SYNONYMS = {  # the update demo's columns first, so that "answer" does not take them by prefix
    "answer_before_update": ("answer_before_update", "answer_before", "old_answer", "previous_answer"),
    "aliases_before_update": ("aliases_before_update", "aliases_before", "old_aliases"),
    "id": ("id", "qid", "question_id", "key"),
    "question": ("question", "q", "query", "prompt", "input"),
    "answer": ("answer", "a", "gold", "gold_answer", "expected", "expected_answer", "reference", "output"),
    "aliases": ("aliases", "alias", "alternatives", "other_answers"),
    "sources": ("sources", "source", "document", "documents", "doc", "file", "files", "gold_sources"),
    "kind": ("kind", "type", "category"),
    "provenance": ("provenance",),
}


def _key(column: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", column.strip().lower()).strip("_")


def _dialect(text: str):
    try:
        return csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        return csv.excel


def csv_header(text: str) -> list[str]:
    """The header row of a CSV text (empty when there is none)."""
    return next(csv.reader(io.StringIO(text), _dialect(text)), [])


def guess_mapping(header: list[str]) -> dict[str, str]:
    """field -> column, for the columns whose names say what they hold (exact synonyms first, then prefixes)."""
    mapping: dict[str, str] = {}
    keys = {column: _key(column) for column in header}
    for fld, names in _SYNONYMS.items():
        exact = [c for c, k in keys.items() if k in names and c not in mapping.values()]
        loose = [c for c, k in keys.items() if any(k.startswith(n + "_") or k.endswith("_" + n) for n in names)
                 and c not in mapping.values()]
        if exact or loose:
            mapping[fld] = (exact or loose)[0]
    return mapping


def parse_csv(text: str, mapping: dict[str, str], name: str = "golden set (CSV)") -> list[GoldenQuestion]:
    """Questions from CSV rows under `mapping` (field -> column); line numbers count the header as line 1."""
    unknown = set(mapping) - set(FIELDS)
    if unknown:
        raise InputError(f"{name}: cannot map to {', '.join(sorted(unknown))}; fields are {', '.join(FIELDS)}.")
    for required in ("question", "answer"):
        if not mapping.get(required):
            raise InputError(f"{name}: map a column to {required!r} (the CSV's columns are "
                             f"{', '.join(csv_header(text)) or 'none'}).")
    reader = csv.DictReader(io.StringIO(text), dialect=_dialect(text))
    absent = [c for c in mapping.values() if c and c not in (reader.fieldnames or [])]
    if absent:
        raise InputError(f"{name}: no column named {', '.join(map(repr, absent))} in the header "
                         f"({', '.join(reader.fieldnames or []) or 'empty'}).")
    questions, problems, ids = [], [], set()
    rows = iter(reader)
    while True:
        try:
            row = next(rows)
        except StopIteration:
            break
        except csv.Error as exc:  # a cell over the csv module's limit (128 KiB), a broken quote
            raise InputError(f"{name}: line {reader.line_num}: {exc}; a question's cell is far smaller: check the "
                             "file's quoting.") from exc
        number = reader.line_num
        if not any((v or "").strip() for v in row.values() if isinstance(v, str)):
            continue
        mapped = {}
        for fld, column in mapping.items():
            value = (row.get(column) or "").strip()
            mapped[fld] = [v.strip() for v in re.split(r"[|;]", value) if v.strip()] if fld in LIST_FIELDS else value
        question = question_from_row(mapped, number, ids, problems)
        if question is not None:
            questions.append(question)
    raise_problems(problems, name, "a header row, then one question a row")
    if not questions:
        raise InputError(f"{name}: no questions found under the header.")
    return questions


def parse_file(filename: str, data: bytes | str, mapping: dict[str, str] | None = None) -> list[GoldenQuestion]:
    """Questions from an uploaded or local file: JSONL (.jsonl, .json) or CSV (.csv, .tsv, .txt with a header)."""
    text = decode_text(data, filename) if isinstance(data, bytes) else data  # by BOM; binary refused
    suffix = Path(filename).suffix.lower()
    if suffix in (".jsonl", ".json", ".ndjson"):
        return parse_golden(text, filename)
    if suffix in (".csv", ".tsv", ".txt"):
        return parse_csv(text, mapping or guess_mapping(csv_header(text)), filename)
    raise InputError(f"{filename}: import a golden set from .jsonl or .csv (got {suffix or 'no extension'}).")
