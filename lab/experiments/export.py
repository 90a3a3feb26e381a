"""CSV export: per-question and per-path rows, written atomically and safe to open in a spreadsheet.

>>> safe_cell("=SUM(A1:A9)")
"'=SUM(A1:A9)"
>>> safe_cell(-0.5), safe_cell("plain")
(-0.5, 'plain')
>>> safe_cell("\uff1dSUM(A1)") == "'\uff1dSUM(A1)", safe_cell("  =1+1")
(True, "'  =1+1")
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from lab.evaluation.record import AnswerRecord

QUESTION_COLUMNS = [  # fields of lab.evaluation.record.AnswerRecord, in the order users know
    "run_id", "question_id", "question", "kind", "path", "answer", "gold", "correct", "correct_strict", "judge_correct",
    "f1", "semantic_similarity", "grounded", "citation_valid", "format_ok", "abstained", "obeyed_injection",
    "cited_sources", "retrieved_sources", "hit_at_k", "latency_ms_total", "latency_ms_retrieve", "latency_ms_rerank",
    "latency_ms_generate", "tokens_in",
    "tokens_out", "tokens_estimated", "cost_usd", "model", "adapter", "error",
]
AGENT_COLUMNS = ["searched", "agent_queries"]  # added after them when the run has an agentic path
_FORMULA = ("=", "+", "-", "@", "\t", "\r", "\n",
            "\uff1d", "\uff0b", "\uff0d", "\uff20", "\ufe62", "\ufe63", "\ufe66", "\ufe6b")  # full-width and small forms


def safe_cell(value):
    """Strings that a spreadsheet would run as a formula get a leading quote (also when the formula character is a
    full-width or small form, which some spreadsheets fold to ASCII, or comes after leading whitespace); numbers
    stay numbers."""
    if isinstance(value, list):
        value = "; ".join(map(str, value))
    if isinstance(value, str) and (value.startswith(_FORMULA) or value.lstrip().startswith(_FORMULA)):
        return "'" + value
    return value


def to_csv(rows: list[dict], columns: list[str] | None = None) -> str:
    columns = columns or (list(rows[0]) if rows else [])
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({c: safe_cell(row.get(c)) for c in columns})
    return out.getvalue()


def write_atomic(path: str | Path, text: str) -> Path:
    """Write via a hidden file in the same folder and one rename: readers never see half a file (`lab.atomic`)."""
    from lab.atomic import write_text

    return write_text(path, text)


def question_csv(records: list[AnswerRecord]) -> str:
    """The per-question CSV: one row per answer record, its QUESTION_COLUMNS fields in that order, then (when an
    agentic path answered) whether it searched and its own queries."""
    columns = QUESTION_COLUMNS + (AGENT_COLUMNS if any(r.agent for r in records) else [])

    def row(r: AnswerRecord) -> dict:
        found = {c: getattr(r, c) for c in QUESTION_COLUMNS}
        return {**found, "searched": r.searched, "agent_queries": (r.agent or {}).get("queries")}

    return to_csv([row(r) for r in records], columns)
