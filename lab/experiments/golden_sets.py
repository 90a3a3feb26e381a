"""Golden-set work that the pages and the command line share: import, write a question from search hits,
draft from a collection, review drafts, evaluate retrieval on the collection a set belongs to.

    gs = import_set(GoldenStore(), store, "licences", "q.csv", data, mapping, collection="licences")
    job = draft_job(store, "licences", generator, embedder, n=20, existing=gs.questions).run()
    save_pending(GoldenStore(), "licences", job.drafts)
    review(GoldenStore(), store, "licences", accept={"d001": None, "d004": ("Edited?", "answer")}, reject=["d002"])
"""

from __future__ import annotations

from collections.abc import Sequence

from lab.errors import InputError
from lab.evaluation.drafting import DraftJob, apply_review, load_drafts, sample_chunks, save_drafts
from lab.evaluation.golden import GoldenQuestion
from lab.evaluation.golden_io import parse_file
from lab.evaluation.golden_store import GoldenSet, GoldenStore
from lab.evaluation.retrieval import ModeScores, check_sources, chunk_spans, evaluate


def fingerprint_of(store, collection: str | None) -> str | None:
    return store.fingerprint(collection) if collection and store.exists(collection) else None


def documents_of(store, collection: str | None, questions: Sequence[GoldenQuestion]) -> dict | None:
    """The content hashes of the gold documents the questions cite, as the collection holds them now (kept with
    the version, so a later check knows a same-named file of other content from the one the set was made on)."""
    if not collection or not store.exists(collection):
        return None
    hashes = store.source_hashes(collection)
    cited = {s for q in questions for s in q.sources} | {p.source for q in questions for p in q.passages}
    return {s: hashes[s] for s in sorted(cited) if s in hashes} or None


IMPORT_MODES = {"append": "add them to the latest version's questions",
                "new-version": "a new version holding only the imported questions (earlier versions stay)"}


def import_set(golden: GoldenStore, store, name: str, filename: str, data: bytes | str,
               mapping: dict[str, str] | None = None, collection: str | None = None,
               mode: str | None = None) -> GoldenSet:
    """Parse the whole file first (any bad line: nothing is stored), then store it as the next version. Into an
    existing set, `mode` must say how: "append" (the latest questions, then these; a repeated id gets a suffix) or
    "new-version" (only these); either way every earlier version stays."""
    if mode is not None and mode not in IMPORT_MODES:
        raise InputError(f"Unknown import mode {mode!r}: choose {' or '.join(IMPORT_MODES)}.")
    questions = parse_file(filename, data, mapping)
    with golden.writing(name):
        if golden.exists(name) and mode is None:
            raise InputError(f"Golden set {name!r} already exists: choose whether the import appends to its latest "
                             "version or makes a new version of its own (--append or --new-version), or import "
                             "under another name.")
        if golden.exists(name) and mode == "append":
            current = golden.get(name).questions
            questions = list(current) + _unique_ids(questions, {q.id for q in current})
        note = f"{'appended' if golden.exists(name) and mode == 'append' else 'imported'} from {filename}"
        return golden.save(name, questions, collection, fingerprint_of(store, collection), note,
                           documents_of(store, collection, questions))


def _unique_ids(questions: Sequence[GoldenQuestion], taken: set[str]) -> list[GoldenQuestion]:
    """The questions with ids not in `taken` (h1 -> h1-2, h1-3, ...), in order."""
    from dataclasses import replace

    out = []
    for q in questions:
        qid, n = q.id, 1
        while qid in taken:
            n += 1
            qid = f"{q.id}-{n}"
        taken.add(qid)
        out.append(replace(q, id=qid) if qid != q.id else q)
    return out


def add_questions(golden: GoldenStore, store, name: str, new: Sequence[GoldenQuestion], collection: str | None,
                  note: str) -> GoldenSet:
    """The set's latest questions plus `new`, saved as a new version (a new set when the name is new), under the
    set's writer lock: concurrent additions each land in a version, none overwritten."""
    with golden.writing(name):
        current = golden.get(name).questions if golden.exists(name) else []
        questions = list(current) + list(new)
        return golden.save(name, questions, collection, fingerprint_of(store, collection), note,
                           documents_of(store, collection, questions))


def draft_job(store, collection: str, generator, embedder=None, n: int = 20, seed: int = 0,
              existing: Sequence[GoldenQuestion] = (), batch_size: int = 8) -> DraftJob:
    """A (not yet started) job drafting up to `n` questions from chunks sampled across the collection's documents."""
    if n < 1:
        raise InputError("Draft at least one question.")
    chunks = sample_chunks(store.chunks(collection), n, seed)
    return DraftJob(chunks, generator, embedder, [q.question for q in existing], batch_size)


def save_pending(golden: GoldenStore, name: str, drafts) -> None:
    """Keep drafts beside the set for review (added to those still pending)."""
    path = golden.drafts_path(name)
    kept = [d for d in load_drafts(path) if d.status == "pending"]
    taken = {d.id for d in kept}
    for n, d in enumerate(drafts, 1):
        if d.id in taken:
            d.id = f"d{len(taken) + n:03d}"
        taken.add(d.id)
    save_drafts(path, kept + list(drafts))


def pending(golden: GoldenStore, name: str) -> list:
    return [d for d in load_drafts(golden.drafts_path(name)) if d.status == "pending"]


def review(golden: GoldenStore, store, name: str, accept: dict, reject: Sequence[str] = (),
           collection: str | None = None) -> GoldenSet | None:
    """Accept (as is, or edited) and reject drafts; accepted ones join the set as a new version."""
    drafts = load_drafts(golden.drafts_path(name))
    current = golden.get(name).questions if golden.exists(name) else []
    reviewed, questions = apply_review(drafts, current, accept, reject)
    saved = None
    if len(questions) > len(current):
        info = golden.info(name) if golden.exists(name) else None
        tied = collection or (info.collection if info else None)
        saved = golden.save(name, questions, tied, fingerprint_of(store, tied),
                            f"{len(questions) - len(current)} drafted question(s) accepted",
                            documents_of(store, tied, questions))
    save_drafts(golden.drafts_path(name), reviewed)
    return saved


def evaluate_set(modes: dict, store, collection: str, golden_set: GoldenSet, k: int = 5,
                 progress=None) -> tuple[list[ModeScores], list[str]]:
    """Retrieval scores of a golden set on a collection, and notes; refuses, saying why, a set whose gold sources
    are not files of the collection (rather than showing zeros)."""
    hashes = store.source_hashes(collection)
    sources = set(hashes)
    check = check_sources(golden_set.questions, hashes, golden_set.documents)
    message = check.message(collection, golden_set.label)
    if not check.ok:
        raise InputError(message)
    results = evaluate(modes, golden_set.questions, k, progress, chunk_spans(store, collection), sources)
    notes = [message] if message else []
    if golden_set.fingerprint and golden_set.fingerprint != fingerprint_of(store, collection):
        notes.append(f"{golden_set.label} was made on another version of the corpus (fingerprint "
                     f"{golden_set.fingerprint}); its gold passages may have moved.")
    if any(len(r.by_provenance) > 1 for r in results):
        from lab.evaluation.retrieval import EASIER

        notes.append(EASIER)
    return results, notes


def spread_by_kind(questions: Sequence[GoldenQuestion], n: int) -> list[GoldenQuestion]:
    """Up to `n` questions: one of each kind first (in file order), then the rest in file order, so a small sample
    shows every kind.

    >>> qs = [GoldenQuestion(str(i), "q", "a", kind=k) for i, k in enumerate(["fact", "fact", "numeric", "fact"])]
    >>> [q.id for q in spread_by_kind(qs, 3)]
    ['0', '2', '1']
    """
    chosen, kinds = [], set()
    for q in questions:
        if q.kind not in kinds and len(chosen) < n:
            chosen.append(q)
            kinds.add(q.kind)
    return chosen + [q for q in questions if q not in chosen][: n - len(chosen)]
