"""Ingestion: files -> parsed documents -> chunks -> embeddings -> a Chroma collection.

Unchanged files (same content hash as the chunks already stored) are skipped; a changed file
replaces only its own chunks; a file that cannot be parsed is reported with its reason and the
rest of the batch goes on. Every file is parsed in a separate process with time and memory limits
(`lab.corpus.parse_worker`), so a hostile file costs at most that and a per-file reason. Folders are walked
without following links out of them, and special files are never read (`lab.corpus.files`). Each file is then
held to `IngestLimits` (chunks and seconds to chunk and embed it): a file past them is refused with its reason
and the rest of the batch is committed.

A batch is all-or-nothing: its chunks are staged and become visible together at the end (`Store.commit`).
A run killed half-way leaves the collection as it was; running it again reuses the embeddings it had
already staged, so only the rest is embedded.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from lab.config import ChunkConfig, IngestLimits
from lab.corpus import files as corpus_files
from lab.corpus.chunking import Chunk, chunk_document
from lab.corpus.files import Skipped
from lab.corpus.parse_worker import ParseWorker
from lab.corpus.parsed_cache import save_parsed
from lab.corpus.parsing import SUPPORTED, Document, file_kind
from lab.errors import InputError
from lab.index.embeddings import Embedder
from lab.index.lock import writer_lock
from lab.index.store import Store, check_name

Progress = Callable[[int, int, str], None]


_EMBED_BATCH = 32  # chunks embedded between two looks at the file's deadline (sentence-transformers' own batch)


@dataclass
class IngestReport:
    collection: str
    documents: int = 0  # files ingested or updated in this run
    unchanged: list[str] = field(default_factory=list)
    resumed: list[str] = field(default_factory=list)  # staged by an interrupted run: committed without re-embedding
    chunks_added: int = 0
    chunks_total: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)  # "faq.html: 27 -> 6 chunks (was from /other/folder)"
    tokens_estimated: bool = False  # chunk sizes estimated at 4 characters a token (an embeddings server's)
    seconds: dict[str, float] = field(default_factory=lambda: {"parse": 0.0, "chunk": 0.0, "embed": 0.0,
                                                                "write": 0.0, "total": 0.0})


def collect_files(paths: Iterable[str | Path]) -> tuple[list[Path], list[Skipped]]:
    """The supported files under `paths` and every file left out with its reason (`lab.corpus.files`)."""
    return corpus_files.collect_files(paths, lambda path: file_kind(path) is not None)


def check_chunk_count(doc: Document, chunks: list[Chunk], limits: IngestLimits) -> None:
    if len(chunks) > limits.max_chunks_per_file:
        raise InputError(f"{doc.source}: {len(chunks):,} chunks is over the limit of {limits.max_chunks_per_file:,} "
                         "per file (LAB_MAX_CHUNKS_PER_FILE); split the file or raise the limit. Refused; the rest "
                         "of the batch goes on.")


def embed_bounded(doc: Document, chunks: list[Chunk], embedder: Embedder, limits: IngestLimits, started: float):
    """The chunks' vectors, embedded in batches; InputError naming the file when the file's clock (started at
    `started`, before chunking) passes `limits.max_seconds_per_file`."""
    import numpy as np

    parts = []
    for start in range(0, len(chunks), _EMBED_BATCH):
        if time.perf_counter() - started > limits.max_seconds_per_file:
            raise InputError(f"{doc.source}: chunking and embedding took longer than {limits.max_seconds_per_file:g} "
                             f"s ({start:,} of {len(chunks):,} chunks embedded; LAB_MAX_FILE_SECONDS); split the file "
                             "or raise the limit. Refused; the rest of the batch goes on.")
        parts.append(np.asarray(embedder.encode([c.text for c in chunks[start:start + _EMBED_BATCH]])))
    return np.concatenate(parts) if parts else np.zeros((0, 0), dtype=np.float32)


def ingest(paths: Iterable[str | Path], collection: str, embedder: Embedder, store: Store,
           config: ChunkConfig = ChunkConfig(), progress: Progress | None = None,
           names: dict[Path, str] | None = None, limits: IngestLimits | None = None,
           notify: Callable[[str], None] | None = None, replace_elsewhere: bool = False) -> IngestReport:
    """Ingest files or folders into `collection`; `names` maps stored upload paths to their original names. One
    writer per collection at a time: a second one tells `notify` whom it waits for (`lab.index.lock`).

    A changed file replaces the document of the same name when it comes from where that document came from (its
    folder, or the uploads); a same-named file from elsewhere is skipped with the reason unless
    `replace_elsewhere` (the user confirmed). Every replacement is listed in the report's `replaced`."""
    started = time.perf_counter()
    limits = limits or IngestLimits.from_env()
    report = IngestReport(check_name(collection))
    files, report.skipped = collect_files(paths)
    if not files:
        raise InputError("Nothing to ingest: give files or folders with "
                         f"{', '.join(sorted(SUPPORTED))} documents.")
    with writer_lock(collection, "ingest", notify=notify):
        store.writing.add(collection)
        try:
            return _ingest_locked(files, report, collection, embedder, store, config, progress, names, limits,
                                  started, replace_elsewhere)
        finally:
            store.writing.discard(collection)


def origin_of(path: Path, names: dict[Path, str] | None) -> str:
    """Where a file comes from, kept with its chunks: "upload" for an uploaded file, else its folder."""
    return "upload" if names and path in names else str(Path(path).resolve().parent)


def _ingest_locked(files, report, collection, embedder, store, config, progress, names, limits,
                   started, replace_elsewhere=False) -> IngestReport:
    spec = getattr(embedder, "spec", None)
    report.tokens_estimated = bool(getattr(embedder, "tokens_estimated", False))
    dim = getattr(embedder, "dim", None)
    if dim is None and hasattr(embedder, "probe"):
        dim = embedder.probe()  # a server: reachable, the model it names, its vectors' size, before any work
    staging = store.begin(collection, embedder.name, config, spec.to_json() if spec else None, dim)
    details = store.source_details(collection) if store.exists(collection) else {}
    known = {source: d["sha256"] for source, d in details.items()}
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
                doc = worker.parse(path, name, limits.max_chars(config), same_place=True)
            except InputError as exc:
                report.skipped.append(Skipped(str(path), str(exc)))
                continue
            t1 = time.perf_counter()
            report.seconds["parse"] += t1 - t0
            save_parsed(doc)  # a chunk-size sweep re-chunks it later without parsing the file again
            if known.get(name) == doc.sha256:
                report.unchanged.append(name)
                continue
            origin, before = origin_of(path, names), details.get(name)
            if before and before["origin"] and before["origin"] != origin and not replace_elsewhere:
                report.skipped.append(Skipped(str(path), f"the collection's {name} ({before['chunks']} chunks) came "
                                                         f"from {before['origin']}, not from {origin}: confirm "
                                                         "replacing it (--replace-elsewhere), or rename the file"))
                continue
            chunks = chunk_document(doc, config, embedder.count_tokens)
            t2 = time.perf_counter()
            report.seconds["chunk"] += t2 - t1
            try:
                check_chunk_count(doc, chunks, limits)
                resumed = store.staged(staging, name) == {c.id: doc.sha256 for c in chunks}
                vectors = None if resumed else embed_bounded(doc, chunks, embedder, limits, t1)
            except InputError as exc:
                report.skipped.append(Skipped(str(path), str(exc)))
                continue
            if resumed:
                report.resumed.append(name)
            else:
                t3 = time.perf_counter()
                store.replace_source(staging.collection, name, chunks, vectors, origin)
                report.seconds["embed"] += t3 - t2
                report.seconds["write"] += time.perf_counter() - t3
            staged.add(name)
            if before:
                moved = f" (was from {before['origin']})" if before["origin"] and before["origin"] != origin else ""
                report.replaced.append(f"{name}: {before['chunks']} -> {len(chunks)} chunks{moved}")
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
                     config: ChunkConfig = ChunkConfig(), progress: Progress | None = None,
                     sweep_of: str | None = None, origins: dict[str, str] | None = None) -> IngestReport:
    """Ingest already parsed documents (a chunk-size sweep re-chunks one parse at several sizes; a rebuild puts a
    damaged store's collections back): the same all-or-nothing staging as `ingest`; a document whose content the
    collection already holds is left as is. `origins`: source -> where it came from, kept with its chunks."""
    started = time.perf_counter()
    report = IngestReport(check_name(collection))
    docs = list(docs)
    if not docs:
        raise InputError("Nothing to ingest: no parsed documents.")
    spec = getattr(embedder, "spec", None)
    staging = store.begin(collection, embedder.name, config, spec.to_json() if spec else None, sweep_of=sweep_of)
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
        store.replace_source(staging.collection, doc.source, chunks, vectors, (origins or {}).get(doc.source, ""))
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


@dataclass
class IngestPlan:
    """What an ingest into an existing collection would do, told before it starts (no file is parsed): the
    collection's size, the origins it holds and the one the files come from, same-named documents from elsewhere."""
    collection: str
    chunks: int = 0
    origins: list[str] = field(default_factory=list)     # where the collection's documents came from
    incoming: list[str] = field(default_factory=list)    # where these files come from
    elsewhere: list[str] = field(default_factory=list)   # "faq.html (27 chunks, from /x)": would be replaced

    @property
    def needs_confirmation(self) -> bool:
        """Files from another source into a collection that holds documents, or same-named ones from elsewhere."""
        return bool(self.elsewhere) or bool(self.chunks and self.origins and not set(self.incoming) & set(self.origins))

    def warning(self) -> str:
        lines = [f"{self.collection} holds {self.chunks} chunks from {', '.join(self.origins)}; these files come "
                 f"from {', '.join(self.incoming)}."]
        if self.elsewhere:
            lines.append("Same-named documents from elsewhere would be replaced: " + ", ".join(self.elsewhere) + ".")
        return " ".join(lines)


def plan_ingest(paths: Iterable[str | Path], collection: str, store: Store,
                names: dict[Path, str] | None = None) -> IngestPlan:
    plan = IngestPlan(check_name(collection))
    if not store.exists(collection):
        return plan
    files, _ = collect_files(paths)
    details = store.source_details(collection)
    plan.chunks = sum(d["chunks"] for d in details.values())
    plan.origins = sorted({d["origin"] for d in details.values() if d["origin"]})
    plan.incoming = sorted({origin_of(f, names) for f in files})
    for f in files:
        name = (names or {}).get(f, f.name)
        before = details.get(name)
        if before and before["origin"] and before["origin"] != origin_of(f, names) \
                and before["sha256"] != _sha256(f):
            plan.elsewhere.append(f"{name} ({before['chunks']} chunks, from {before['origin']})")
    return plan


def file_sha256(path: Path) -> str:
    """The content hash a collection keeps for each document (`doc_sha256`)."""
    return _sha256(Path(path))


def _sha256(path: Path) -> str:
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
