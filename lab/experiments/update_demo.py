"""Knowledge-update demo: add a document that changes facts, re-ask the affected questions, compare.

RAG paths read the index at question time, so a re-indexed document changes their answers at once; the
fine-tuned path answers from its weights, which keep the old facts until it is retrained. The demo measures
both sides of that trade: the re-index seconds (measured now) against the adapter's recorded training time.

    questions = load_update_questions(UPDATE_QUESTIONS)
    result = run_update_demo("sample", [UPDATE_DOC], questions, ctx, store, embedder, adapter_dir=...)
    result.summaries     # per path: new-fact and old-fact rates before and after
    undo_update(store, "sample", result.update_sources)   # the collection as it was

The update goes into the given collection (the user's active one): `undo_update` removes its chunks again.
A collection that already holds the update document is refused (its "before" would not be before).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from lab.config import SAMPLE_CORPUS, SAMPLE_DOCS, ChunkConfig
from lab.errors import InputError
from lab.evaluation.golden import GoldenQuestion, parse_golden
from lab.evaluation.metrics import is_correct, json_answer
from lab.experiments.answer_paths import PathContext, available_paths, generate, prepare, retrieves
from lab.jobs import BackgroundJob

UPDATE_DOC = SAMPLE_CORPUS / "update" / "release-notes-5.1.md"
UPDATE_QUESTIONS = SAMPLE_CORPUS / "update" / "questions.jsonl"
Progress = Callable[[str, int, int], None]  # (what is happening, steps done, steps in all)


@dataclass(frozen=True)
class UpdateQuestion:
    id: str
    question: str
    answer: str  # the fact after the update
    answer_before: str  # the fact before it
    aliases: tuple[str, ...] = ()
    aliases_before: tuple[str, ...] = ()


@dataclass
class UpdateAnswer:
    question_id: str
    path: str
    phase: str  # before, after
    text: str
    new_fact: bool
    old_fact: bool
    sources: list[str] = field(default_factory=list)
    error: str | None = None


@dataclass
class PathUpdate:
    path: str
    new_before: float  # share of questions answered with the new fact, before the update
    new_after: float
    old_before: float  # share answered with the old fact
    old_after: float
    update_retrieved: float | None  # share of "after" answers whose chunks include the update (None: no retrieval)
    errors: int


@dataclass
class UpdateDemoResult:
    collection: str
    update_sources: list[str]
    paths: list[str]
    questions: list[UpdateQuestion]
    answers: list[UpdateAnswer]
    reindex_seconds: float  # measured: parse, chunk, embed and write the update
    chunks_added: int
    retrain_seconds: float | None  # the adapter manifest's train_seconds (None without an adapter)
    adapter: str | None
    ask_seconds: dict[str, float]
    summaries: list[PathUpdate]
    replaced: list[str] = field(default_factory=list)  # edited pages the update replaced (Undo restores them)

    def answer(self, question_id: str, path: str, phase: str) -> UpdateAnswer | None:
        return next((a for a in self.answers if (a.question_id, a.path, a.phase) == (question_id, path, phase)), None)


def update_questions(golden: Sequence[GoldenQuestion], name: str = "update questions") -> list[UpdateQuestion]:
    """Golden questions that also carry `answer_before_update` (a file, or a stored golden set) as the update's
    affected questions; every one must have it."""
    missing = [q.id for q in golden if not q.answer_before_update]
    if missing:
        raise InputError(f"{name}: question(s) {', '.join(missing[:10])} lack answer_before_update: give each "
                         "question the answer before the update too.")
    return [UpdateQuestion(q.id, q.question, q.answer, q.answer_before_update, tuple(q.aliases),
                           tuple(q.aliases_before_update)) for q in golden]


def parse_update_questions(text: str, name: str = "update questions") -> list[UpdateQuestion]:
    """Golden-format lines that also carry `answer_before_update` (and optionally `aliases_before_update`)."""
    return update_questions(parse_golden(text, name), name)


def load_update_questions(path: str | Path = UPDATE_QUESTIONS) -> list[UpdateQuestion]:
    path = Path(path)
    if not path.is_file():
        raise InputError(f"Update question file {path} not found.")
    return parse_update_questions(path.read_text(encoding="utf-8"), path.name)


def sample_update_applies(held_sources) -> bool:
    """Whether the built-in update (the sample's release notes and questions) means anything for a collection
    holding `held_sources`: its questions are about the sample corpus, so the collection must hold (nearly all
    of) the sample's documents; any other collection needs the user's own update and questions."""
    sample = {p.name for p in SAMPLE_DOCS.iterdir() if p.is_file()}
    return len(sample & set(held_sources)) >= 0.8 * len(sample)


def choose_update(held_sources, files: Sequence[Path] | None,
                  questions: Sequence[UpdateQuestion] | None) -> tuple[list[Path], list[UpdateQuestion]]:
    """The update documents and affected questions for a collection holding `held_sources` (page and command line
    alike): the user's own document needs the user's own questions; without a document, the built-in update,
    which is only offered where the collection holds the sample corpus."""
    if files and questions is None:
        raise InputError("Give the questions your document affects too (JSONL lines with question, answer and "
                         "answer_before_update): the built-in questions are about the sample's update, not yours.")
    if not files:
        if not sample_update_applies(held_sources):
            raise InputError(f"The built-in update ({UPDATE_DOC.name}) changes facts of the sample corpus, which "
                             "this collection does not hold. Give your edited document and the questions it "
                             "affects, or use a collection that holds the sample corpus.")
        files = [UPDATE_DOC]
    return list(files), list(questions) if questions is not None else load_update_questions()


def facts(text: str, question: UpdateQuestion) -> tuple[bool, bool]:
    """(states the new fact, states the old fact), by lab.evaluation.metrics.is_correct on the answer's content."""
    content = json_answer(text)
    return (is_correct(content, question.answer, question.aliases),
            is_correct(content, question.answer_before, question.aliases_before))


def ask(questions: Sequence[UpdateQuestion], paths: Sequence[str], ctx: PathContext, phase: str,
        progress: Progress | None = None, step: int = 0, steps: int = 0) -> list[UpdateAnswer]:
    """Every question through every path (one generation batch per path), scored for new and old facts."""
    out = []
    for i, path in enumerate(paths):
        if progress:
            progress(f"Asking {len(questions)} questions through {path} ({phase} the update)", step + i, steps)
        prepared = generate([prepare(path, q.question, ctx) for q in questions], ctx)
        for q, a in zip(questions, prepared):
            new, old = facts(a.text, q) if a.error is None else (False, False)
            out.append(UpdateAnswer(q.id, path, phase, a.text, new, old, [h.source for h in a.hits], a.error))
    return out


def refreshed(ctx: PathContext, store, collection: str, embedder) -> PathContext:
    """The same context with retrievers rebuilt (the BM25 index is held in memory, so it must be rebuilt)."""
    from lab.index.retrieval import retrievers_for

    reranker = getattr(ctx.hybrid, "reranker", None)
    modes = retrievers_for(store, collection, embedder, reranker=reranker, rrf_k=getattr(ctx.hybrid, "rrf_k", 60),
                           fusion=getattr(ctx.hybrid, "fusion", "leaders"))
    return replace(ctx, retriever=modes["dense"] if ctx.retriever is not None else None,
                   hybrid=modes["rerank" if reranker is not None else "hybrid"] if ctx.hybrid is not None else None)


def summarize_paths(answers: Sequence[UpdateAnswer], paths: Sequence[str], sources: Sequence[str]) -> list[PathUpdate]:
    def share(rows: list[UpdateAnswer], test) -> float:
        return sum(1 for r in rows if test(r)) / len(rows) if rows else 0.0

    out = []
    for path in paths:
        before = [a for a in answers if a.path == path and a.phase == "before" and a.error is None]
        after = [a for a in answers if a.path == path and a.phase == "after" and a.error is None]
        errors = sum(1 for a in answers if a.path == path and a.error is not None)
        retrieved = share(after, lambda a: bool(set(a.sources) & set(sources))) \
            if retrieves(path) and after else None
        out.append(PathUpdate(path, share(before, lambda a: a.new_fact), share(after, lambda a: a.new_fact),
                              share(before, lambda a: a.old_fact), share(after, lambda a: a.old_fact),
                              retrieved, errors))
    return out


def retrain_seconds(adapter_dir: str | Path | None) -> float | None:
    """What a retrain costs, as measured when the adapter was trained (its manifest's train_seconds)."""
    from lab.generation.adapters import read_manifest

    if not adapter_dir:
        return None
    value = read_manifest(adapter_dir).get("train_seconds")
    return float(value) if value is not None else None


def check_not_held(store, collection: str, files: dict[str, Path]) -> None:
    """The demo's 'before' is the collection without the update (`files` by source name): InputError when it
    already holds one of them as it is. A held document of the same name but other content is allowed: that is an
    edited page, and the update replaces it (Undo puts the original back)."""
    from lab.index.ingest import file_sha256

    held = store.source_hashes(collection)
    present = sorted(s for s, path in files.items() if s in held and file_sha256(path) == held[s])
    if present:
        raise InputError(f"Collection {collection!r} already holds {', '.join(present)}: undo the update first "
                         "(the demo's 'before' must be the collection without it).")


def _records(collection: str) -> Path:
    """Where the updates applied to `collection` are kept: source -> {"sha256", "snapshot"} (the original page's
    chunks, when the update replaced one), so Undo removes only what the demo put there."""
    from lab.config import data_dir

    return data_dir() / "updates" / f"{collection}.json"


def _applied(collection: str) -> dict | None:
    path = _records(collection)
    return json.loads(path.read_text()) if path.is_file() else None


def _keep_applied(collection: str, records: dict) -> None:
    from lab.atomic import write_text

    _records(collection).parent.mkdir(parents=True, exist_ok=True)
    write_text(_records(collection), json.dumps(records, indent=1))


def run_update_demo(collection: str, update_paths: Sequence[str | Path], questions: Sequence[UpdateQuestion],
                    ctx: PathContext, store, embedder, paths: Sequence[str] = tuple(available_paths(adapter=False)),
                    adapter_dir: str | Path | None = None, progress: Progress | None = None,
                    names: dict[Path, str] | None = None) -> UpdateDemoResult:
    """Ask (before), ingest the update into `collection` (timed), ask again (after), score both."""
    from lab.index.ingest import collect_files, ingest

    if not questions:
        raise InputError("No affected questions: give at least one question with answer and answer_before_update.")
    info = store.info(collection)
    files, skipped = collect_files(update_paths)
    if not files:
        raise InputError("No update document: " + "; ".join(f"{s.path}: {s.reason}" for s in skipped))
    sources = [(names or {}).get(f, f.name) for f in files]
    check_not_held(store, collection, dict(zip(sources, files)))
    paths = list(paths)
    steps = 2 * len(paths) + 1
    t0 = time.perf_counter()
    answers = ask(questions, paths, ctx, "before", progress, 0, steps)
    t1 = time.perf_counter()
    if progress:
        progress(f"Re-indexing {', '.join(sources)} into {collection}", len(paths), steps)
    replaced = sorted(set(sources) & set(store.source_hashes(collection)))  # edited pages: keep the originals
    snapshots = {source: store.source_records(collection, source) for source in replaced}
    report = ingest(files, collection, embedder, store, info.chunk_config or ChunkConfig(), names=names,
                    replace_elsewhere=True)
    if not report.documents:
        reasons = "; ".join(f"{s.path}: {s.reason}" for s in report.skipped) or "nothing new to add"
        raise InputError(f"The update was not ingested ({reasons}).")
    _remember(store, collection, sources, snapshots)
    after_ctx = refreshed(ctx, store, collection, embedder)
    t2 = time.perf_counter()
    answers += ask(questions, paths, after_ctx, "after", progress, len(paths) + 1, steps)
    t3 = time.perf_counter()
    if progress:
        progress("Done", steps, steps)
    return UpdateDemoResult(collection, sources, paths, list(questions), answers, report.seconds["total"],
                            report.chunks_added, retrain_seconds(adapter_dir), ctx.adapter,
                            {"before": t1 - t0, "after": t3 - t2}, summarize_paths(answers, paths, sources),
                            replaced)


def _remember(store, collection: str, sources: Sequence[str], snapshots: dict[str, dict]) -> None:
    import hashlib

    from lab.atomic import write_text

    records = _applied(collection) or {}
    held = store.source_hashes(collection)
    for source in sources:
        entry = {"sha256": held.get(source), "snapshot": None}
        if source in snapshots:
            kept = f"{hashlib.sha256(source.encode()).hexdigest()[:16]}.json"
            path = _records(collection).parent / collection / kept
            path.parent.mkdir(parents=True, exist_ok=True)
            write_text(path, json.dumps(snapshots[source]))
            entry["snapshot"] = str(path)
        records[source] = entry
    _keep_applied(collection, records)


def applied_sources(store, collection: str, default: Sequence[str]) -> list[str]:
    """The documents the update demo put into `collection` and that are still as it left them (what Undo would
    take out); where no update was recorded (a collection updated before updates were recorded), those of `default`
    the collection holds."""
    held = store.source_hashes(collection)
    records = _applied(collection)
    if records is None:
        return sorted(set(default) & set(held))
    return sorted(s for s, entry in records.items() if held.get(s) == entry["sha256"])


def undo_update(store, collection: str, sources: Sequence[str]) -> int:
    """Take the update out of the collection: its chunks removed and, where it replaced a page of the same name,
    the original page's chunks put back; returns how many chunks were removed. Only what the demo put there is
    touched: a source it did not add (or already undid) is left alone."""
    records = _applied(collection)
    removed = 0
    for source in sources:
        if records is None:  # applied before updates were recorded: the update is the whole source
            removed += store.remove_source(collection, source)
            continue
        entry = records.pop(source, None)
        if entry is None or store.source_hashes(collection).get(source) != entry["sha256"]:
            continue
        removed += store.remove_source(collection, source)
        if entry["snapshot"]:
            snapshot = Path(entry["snapshot"])
            store.put_records(collection, json.loads(snapshot.read_text()))
            snapshot.unlink(missing_ok=True)
    if records is not None:
        _keep_applied(collection, records)
    return removed


class UpdateDemoJob(BackgroundJob):
    """`run_update_demo` in a background thread (pages): start(), progress, result, error, running."""

    kind = "update"

    def __init__(self, *args, **kwargs):
        super().__init__()
        self.args, self.kwargs = args, kwargs
        self.result: UpdateDemoResult | None = None

    def work(self) -> None:
        self.result = run_update_demo(*self.args, progress=lambda message, done, total: self.advance(done, total, message),
                                      **self.kwargs)
