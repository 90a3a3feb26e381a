"""What each collection of the embedded Chroma holds, kept outside Chroma, so a damaged database can be rebuilt.

    data/catalogue/<collection>.json   settings (embedder, chunking), and per document: content hash, origin, chunks

Written after every change a writer commits (ingest, rename, delete, removing a document). Every ingested document's
parsed text is kept by content hash (`lab.corpus.parsed_cache`), so `rebuild` can put each collection back as it
was: the damaged Chroma folder is moved aside (kept), a fresh one is made, and each collection is chunked and
embedded again with its own settings and embedder (`lab.index.rebuild`: `python -m lab collections --rebuild`, or
the Rebuild button on the Corpus page). A sweep's copies are not kept: the sweep makes them again.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from lab.config import data_dir


SETTINGS = ("embedder", "chunk_config", "embedder_spec", "embedder_dim")  # what a rebuild needs of a collection


def folder() -> Path:
    return data_dir() / "catalogue"


def note(store, name: str, old: str | None = None, gone: bool = False) -> None:
    """Keep the catalogue in step with a change the store committed: `name` changed, was renamed from `old`, or
    is `gone`."""
    if gone:
        forget(name)
    elif old:
        renamed(old, name)
    else:
        record(store, name)


def record(store, name: str) -> None:
    """Keep what `name` holds now (called by the store after a commit); a sweep's copy is not kept."""
    from lab.jobs import write_json_atomic

    collection = store.client.get_collection(name, embedding_function=None)
    meta = dict(collection.metadata or {})
    if meta.get("sweep_of"):
        return
    kept = {k: v for k, v in meta.items() if k in SETTINGS or k.startswith("build_")}
    entry = {"name": name, "metadata": kept, "sources": store.source_details(name),
             "saved": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    folder().mkdir(parents=True, exist_ok=True)
    write_json_atomic(folder() / f"{name}.json", entry)


def forget(name: str) -> None:
    (folder() / f"{name}.json").unlink(missing_ok=True)


def renamed(old: str, new: str) -> None:
    path = folder() / f"{old}.json"
    if path.is_file():
        entry = json.loads(path.read_text(encoding="utf-8"))
        entry["name"] = new
        from lab.jobs import write_json_atomic

        write_json_atomic(folder() / f"{new}.json", entry)
        path.unlink()


def entries() -> list[dict]:
    """The kept catalogue, one entry per collection (an unreadable entry is left out, and named by `rebuild`)."""
    found = []
    for path in sorted(folder().glob("*.json")) if folder().is_dir() else []:
        try:
            entry = json.loads(path.read_bytes().decode("utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            continue
        if isinstance(entry, dict) and isinstance(entry.get("sources"), dict) and entry.get("name"):
            found.append(entry)
    return found
