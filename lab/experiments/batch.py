"""Batch comparison: golden questions x paths, scored, stored as they finish, cancellable.

`CompareJob` is a `lab.jobs.BackgroundJob`: `run()` works in the foreground (command line, tests), `start()`
in a background thread (pages) with `progress` readable at any time and `cancel()` honoured between batches.
The run store records the outcome (done, cancelled, failed) and the process, so a run whose process died
reads back as interrupted.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict

from lab.experiments.manifest import RunManifest
from lab.evaluation.costs import PriceTable
from lab.evaluation.golden import GoldenQuestion
from lab.experiments.answer_paths import PathContext, generate, prepare
from lab.experiments.run_store import RunStore
from lab.experiments.scoring import add_semantic_similarity, score
from lab.evaluation.sequential import Savings, StopRule
from lab.jobs import BackgroundJob, Cancelled


class Decided(Cancelled):
    """Every pair the stop rule watches is decided: the batch ends, done, with what it answered."""


class CompareJob(BackgroundJob):
    """Golden questions x paths in batches of questions; each answer is scored and stored as it arrives, so a run
    that stops (a cancel, a failure, a killed process) keeps every answer it finished, and `resume_of` builds the
    job that asks only the rest (answers are keyed by question and path; the run's settings are its own)."""

    kind = "compare"

    def __init__(self, questions: Sequence[GoldenQuestion], paths: Sequence[str], ctx: PathContext,
                 runs: RunStore, manifest: RunManifest | dict, embedder=None, table: PriceTable = PriceTable(),
                 batch_size: int = 32, launch: dict | None = None, resume: str | None = None,
                 stop: StopRule | None = None):
        self.questions, self.paths, self.ctx, self.runs = list(questions), list(paths), ctx, runs
        self.embedder, self.table, self.batch_size = embedder, table, max(1, batch_size)
        manifest = manifest if isinstance(manifest, RunManifest) else RunManifest.from_dict(manifest)
        self.manifest = manifest.with_(paths=tuple(self.paths), batch_size=self.batch_size, price_table=table,
                                       questions=len(self.questions))
        total = len(self.questions) * len(self.paths)
        if resume:
            self.run_id = resume
            runs.reopen(resume)
            self.skip = runs.answered(resume)
        else:
            self.run_id = runs.create(self.manifest, total)
            self.skip = set()
            if launch is not None:
                runs.save_launch(self.run_id, launch, [q.to_dict() for q in self.questions])
        super().__init__(self.run_id)
        self.stop, self.decision = stop, None  # the stop rule, and what stopping saved once it decided
        self.scores: dict[str, dict[str, float]] = {}  # question id -> path -> the stop rule's metric
        if stop is not None and resume:
            for record in runs.answers(resume):
                self._note(record)
        self._spent = [time.perf_counter(), 0, 0.0]  # start, answers stored here, their cost
        self.progress.total = total
        self.progress.done = sum(1 for q in self.questions for p in self.paths if (q.id, p) in self.skip)

    @property
    def remaining(self) -> int:
        return self.progress.total - self.progress.done

    def work(self) -> None:
        """Answer every question through every path not answered yet (or until the stop rule decides)."""
        try:
            self._work()
        except Decided:
            pass

    def _work(self) -> None:
        for start in range(0, len(self.questions), self.batch_size):
            self.check_cancel()
            batch = self.questions[start:start + self.batch_size]
            todo = [(q, p) for q in batch for p in self.paths if (q.id, p) not in self.skip]
            if not todo:
                continue
            self.advance(message=f"questions {start + 1}-{start + len(batch)} of {len(self.questions)}")
            asked = {}
            prepared = []
            for q, p in todo:
                answer = prepare(p, q.question, self.ctx)
                asked[id(answer)] = q
                prepared.append(answer)
            generate(prepared, self.ctx, self._answered, lambda answer: self._store(answer, asked[id(answer)]))

    def _store(self, answer, question: GoldenQuestion) -> None:
        record = score(answer, question, self.table, self.ctx.answer_format)
        add_semantic_similarity([record], self.embedder)
        record.run_id = self.run_id
        self.runs.add_answers(self.run_id, [record])
        self.skip.add((question.id, answer.path))
        if self.stop is not None:
            self._spent[1] += 1
            self._spent[2] += record.cost_usd or 0.0
            self._note(record)
            if self.stop.decided(self.scores):
                self._decide()
                raise Decided()

    def states(self):
        """The stop rule's pairs as they stand (empty without a rule)."""
        return self.stop.states(self.scores) if self.stop is not None else []

    def _note(self, record) -> None:
        value = record.metric(self.stop.metric)
        if value is not None and record.error is None:
            self.scores.setdefault(record.question_id, {})[record.path] = float(value)

    def _decide(self) -> None:
        """What stopping now saves against asking every question: answers, time and cost at this run's pace."""
        started, answered, cost = self._spent
        left = self.progress.total - len(self.skip)
        per_answer = (time.perf_counter() - started) / max(answered, 1)
        asked = sum(1 for q in self.questions if all((q.id, p) in self.skip for p in self.paths))
        self.decision = Savings(asked, len(self.questions), left, left * per_answer, left * cost / max(answered, 1),
                                self.states())
        self.runs.save_decision(self.run_id, {**asdict(self.decision), "rule": asdict(self.stop),
                                              "text": self.decision.text(),
                                              "texts": [state.text() for state in self.decision.states]})

    def _answered(self, path: str, n: int) -> None:
        """Progress by answer, as each is stored; a cancel is honoured here too (within one answer): the answers
        still generating are dropped, every stored answer kept."""
        self.advance(done=self.progress.done + n, message=f"{self.progress.message.split(':')[0]}: {path} answered")
        self.check_cancel()

    def finished(self, state: str, error: str | None) -> None:
        self.runs.finish(self.run_id, state, error)


def manifest_for(ctx: PathContext, collection: str | None, questions_name: str,
                 extra: dict | None = None) -> RunManifest:
    """What a run needs to be reproduced and compared fairly with another; `extra` holds more of its fields
    (the index half from `collection_manifest`, the golden set, the leakage check)."""
    import importlib.metadata
    import platform
    from datetime import datetime, timezone

    versions = {}
    for package in ("torch", "transformers", "peft", "sentence-transformers", "chromadb", "bm25s"):
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = None
    return RunManifest.from_dict({
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "collection": collection, "questions_file": questions_name,
        "model": getattr(ctx.generator, "name", None), "model_hash": getattr(ctx.generator, "weights_hash", None),
        "backend": getattr(ctx.generator, "backend", None),
        "endpoint": getattr(ctx.endpoint, "name", None),  # `model @ host` of the ...@endpoint paths, never a key
        **({"endpoint_adapter": ctx.endpoint_adapter} if ctx.endpoint_adapter else {}),
        "adapter": ctx.adapter, "adapter_hash": getattr(ctx.generator, "adapter_hashes", {}).get(ctx.adapter),
        "k": ctx.k, "decoding": asdict(ctx.decoding), "seed": 0,
        **({"passage_context": True} if ctx.passage_context else {}),  # absent when off, as in runs made before it
        **({"answer_format": ctx.answer_format.to_dict()} if ctx.answer_format.schema else {}),  # the user's schema
        "python": platform.python_version(), "packages": versions, **(extra or {}),
    })


# What must be equal for two runs' scores to be compared as they stand, with the words a user reads.
COMPARABLE_ON = {"collection_hash": "corpus contents", "chunk_config": "chunking", "embedder": "embedder",
                 "model": "model", "model_hash": "model weights", "backend": "generation backend",
                 "endpoint": "endpoint", "adapter_hash": "adapter weights", "decoding": "decoding",
                 "k": "chunks per question (k)", "passage_context": "passages shown with their title and heading",
                 "retrieval": "retrieval settings", "questions_file": "golden set",
                 "answer_format": "answer format scored against"}


def differences(one: RunManifest | dict, other: RunManifest | dict) -> list[str]:
    """What differs between two runs' manifests, in words; empty when their scores compare as they stand. A run
    recorded before backends were a setting ran on transformers.

    >>> differences({"model": "m", "backend": "int8", "k": 4}, {"model": "m", "k": 4})
    ['generation backend']
    """
    one, other = (m.to_dict() if isinstance(m, RunManifest) else m for m in (one, other))

    def value(manifest: dict, key: str):
        found = manifest.get(key)
        return "transformers" if key == "backend" and found is None and manifest.get("model") else found

    return [label for key, label in COMPARABLE_ON.items() if value(one, key) != value(other, key)]


def collection_manifest(store, collection: str, retriever=None) -> dict:
    """The index half of a run's manifest: which corpus, chunked how, embedded with what, and how the hybrid
    retriever the run uses fuses and reranks (read from the retriever itself, so it is what ran)."""
    info = store.info(collection)
    reranker = getattr(retriever, "reranker", None)
    return {"collection_hash": store.fingerprint(collection), "embedder": info.embedder,
            "chunk_config": asdict(info.chunk_config) if info.chunk_config else None,
            "retrieval": {"fusion": getattr(retriever, "fusion", None), "rrf_k": getattr(retriever, "rrf_k", None),
                          "candidates": getattr(retriever, "candidates", None),
                          "reranker": getattr(reranker, "name", None) if reranker is not None else None}}
