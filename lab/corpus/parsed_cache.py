"""Parsed documents kept by content: a chunk-size sweep re-chunks them without parsing the files again.

    data/parsed/<sha256 of source name, content, parser version>.json    {"source", "sha256", "title", "sections": [...]}

Ingest saves every document it parses; `load_parsed(source, sha256)` gives it back (None when it was never
saved, e.g. for a collection ingested before this cache existed: ingest it again to fill the cache).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path

from lab.config import data_dir
from lab.corpus.parsing import PARSER_VERSION, Document, Section
from lab.jobs import write_json_atomic


def _path(source: str, sha256: str) -> Path:
    folder = data_dir() / "parsed"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / (hashlib.sha256(f"{source}\0{sha256}\0{PARSER_VERSION}".encode()).hexdigest()[:32] + ".json")


def save_parsed(doc: Document) -> None:
    path = _path(doc.source, doc.sha256)
    if not path.exists():
        write_json_atomic(path, {"source": doc.source, "sha256": doc.sha256, "title": doc.title,
                                 "sections": [asdict(s) for s in doc.sections]})


def load_parsed(source: str, sha256: str) -> Document | None:
    path = _path(source, sha256)
    if not path.is_file():
        return None
    row = json.loads(path.read_text(encoding="utf-8"))
    return Document(row["source"], row["sha256"], [Section(**s) for s in row["sections"]],
                    row.get("title", ""))
