"""Ingestion: files -> parsed documents -> chunks -> embeddings -> a Chroma collection.

Unchanged files (same content hash as the chunks already stored) are skipped; a changed file
replaces only its own chunks; a file that cannot be parsed is reported with its reason and the
rest of the batch goes on. Every file is parsed in a separate process with time and memory limits
(`lab.corpus.parse_worker`), so a hostile file costs at most that and a per-file reason.

A batch is all-or-nothing: its chunks are staged and become visible together at the end (`Store.commit`).
A run killed half-way leaves the collection as it was; running it again reuses the embeddings it had
already staged, so only the rest is embedded.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from lab.config import ChunkConfig
from lab.corpus.chunking import chunk_document
from lab.corpus.parse_worker import ParseWorker
from lab.corpus.parsed_cache import save_parsed
from lab.corpus.parsing import SUPPORTED, Document, file_kind
from lab.errors import InputError
from lab.index.embeddings import Embedder
from lab.index.store import Store, check_name

Progress = Callable[[int, int, str], None]


@dataclass
class Skipped:
    path: str
    reason: str


@dataclass
class IngestReport:
    collection: str
    documents: int = 0  # files ingested or updated in this run
    unchanged: list[str] = field(default_factory=list)
    resumed: list[str] = field(default_factory=list)  # staged by an interrupted run: committed without re-embedding
    chunks_added: int = 0
    chunks_total: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=lambda: {"parse": 0.0, "chunk": 0.0, "embed": 0.0,
                                                                "write": 0.0, "total": 0.0})


def collect_files(paths: Iterable[str | Path]) -> tuple[list[Path], list[Skipped]]:
    """Expand folders (recursively, hidden files left out) into supported files, in a stable order."""
    files, skipped = [], []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if child.is_file() and not any(p.startswith(".") for p in child.relative_to(path).parts):
                    (files if file_kind(child) else skipped).append(child)
        elif path.is_file():
            files.append(path)
        else:
            skipped.append(Skipped(str(path), "no such file or folder"))
    skipped = [s if isinstance(s, Skipped) else Skipped(str(s), f"unsupported file type {s.suffix or '(none)'}")
               for s in skipped]
    return files, skipped


def ingest(paths: Iterable[str | Path], collection: str, embedder: Embedder, store: Store,
           config: ChunkConfig = ChunkConfig(), progress: Progress | None = None,
           names: dict[Path, str] | None = None) -> IngestReport:
    """Ingest files or folders into `collection`; `names` maps stored upload paths to their original names."""
    started = time.perf_counter()
    report = IngestReport(check_name(collection))
    files, report.skipped = collect_files(paths)
    if not files:
        raise InputError("Nothing to ingest: give files or folders with "
                         f"{', '.join(sorted(SUPPORTED))} documents.")
    staging = store.begin(collection, embedder.name, config)
    known = store.source_hashes(collection) if store.exists(collection) else {}
    seen: dict[str, Path] = {}
    staged: set[str] = set()
    with ParseWorker() as worker:
        for done, path in enumerate(files):
            name = (names or {}).get(path, path.name)
            if progress:
                progress(done, len(files), name)
            if name in seen:
                report.skipped.append(Skipped(str(path), f"another file named {name} is in this batch "
                                                         f"({seen[name]}); sources are identified by file name"))
                continue
            seen[name] = path
            t0 = time.perf_counter()
            try:
                doc = worker.parse(path, name)
            except InputError as exc:
                report.skipped.append(Skipped(str(path), str(exc)))
                continue
            t1 = time.perf_counter()
            report.seconds["parse"] += t1 - t0
            save_parsed(doc)  # a chunk-size sweep re-chunks it later without parsing the file again
            if known.get(name) == doc.sha256:
                report.unchanged.append(name)
                continue
            chunks = chunk_document(doc, config, embedder.count_tokens)
            t2 = time.perf_counter()
            report.seconds["chunk"] += t2 - t1
            if store.staged(staging, name) == {c.id: doc.sha256 for c in chunks}:
                report.resumed.append(name)
            else:
                vectors = embedder.encode([c.text for c in chunks])
                t3 = time.perf_counter()
                store.replace_source(staging.collection, name, chunks, vectors)
                report.seconds["embed"] += t3 - t2
                report.seconds["write"] += time.perf_counter() - t3
            staged.add(name)
            report.documents += 1
            report.chunks_added += len(chunks)
    if progress:
        progress(len(files), len(files), "done")
    t5 = time.perf_counter()
    store.commit(collection, staging, staged)
    report.seconds["write"] += time.perf_counter() - t5
    report.chunks_total = store.info(collection).chunks
    report.seconds["total"] = time.perf_counter() - started
    if report.chunks_added and not report.resumed:  # a resumed ingest's time leaves out what was staged before
        store.record_build(collection, report.seconds["total"], report.chunks_added,
                           report.chunks_added == report.chunks_total)
    return report


def ingest_documents(docs: Iterable[Document], collection: str, embedder: Embedder, store: Store,
                     config: ChunkConfig = ChunkConfig(), progress: Progress | None = None) -> IngestReport:
    """Ingest already parsed documents (a chunk-size sweep re-chunks one parse at several sizes): the same
    all-or-nothing staging as `ingest`; a document whose content the collection already holds is left as is."""
    started = time.perf_counter()
    report = IngestReport(check_name(collection))
    docs = list(docs)
    if not docs:
        raise InputError("Nothing to ingest: no parsed documents.")
    staging = store.begin(collection, embedder.name, config)
    known = store.source_hashes(collection) if store.exists(collection) else {}
    staged: set[str] = set()
    for done, doc in enumerate(docs):
        if progress:
            progress(done, len(docs), doc.source)
        if known.get(doc.source) == doc.sha256:
            report.unchanged.append(doc.source)
            continue
        t1 = time.perf_counter()
        chunks = chunk_document(doc, config, embedder.count_tokens)
        t2 = time.perf_counter()
        vectors = embedder.encode([c.text for c in chunks])
        t3 = time.perf_counter()
        store.replace_source(staging.collection, doc.source, chunks, vectors)
        report.seconds["chunk"] += t2 - t1
        report.seconds["embed"] += t3 - t2
        report.seconds["write"] += time.perf_counter() - t3
        staged.add(doc.source)
        report.documents += 1
        report.chunks_added += len(chunks)
    if progress:
        progress(len(docs), len(docs), "done")
    store.commit(collection, staging, staged)
    report.chunks_total = store.info(collection).chunks
    report.seconds["total"] = time.perf_counter() - started
    if report.chunks_added:
        store.record_build(collection, report.seconds["total"], report.chunks_added,
                           report.chunks_added == report.chunks_total)
    return report
