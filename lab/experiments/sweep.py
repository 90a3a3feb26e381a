"""Chunking tested empirically: one corpus chunked several ways, retrieval quality per size and mode with CIs.

The documents are parsed once (ingest keeps each parsed document, `lab.corpus.parsed_cache`) and re-chunked
at every setting into a sibling collection `<collection>-sweep-<size>-<overlap>` (the collection itself when
its chunking is one of the settings). Each setting records its chunk count and index time (measured now, or the
build time kept with a collection that was already built), and every retrieval mode is scored on the golden
set with `lab.evaluation.retrieval.evaluate` (by file, and by passage where the set names gold passages: those
are judged by overlap of document ranges, so they hold at every chunk size). `verdicts` then says, per mode,
which setting wins on the chosen metric and whether its lead over each other setting is separable (paired
bootstrap 95% CI of the difference over the same questions excludes 0).

    job = SweepJob(store, embedder, "licences", golden_set, [ChunkConfig(256, 32), ChunkConfig(512, 64)])
    job.run(); job.result.verdicts
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from lab.display import signed
from lab.config import ChunkConfig
from lab.corpus.parsed_cache import load_parsed
from lab.errors import InputError
from lab.evaluation.retrieval import ModeScores, chunk_spans, check_sources, evaluate
from lab.evaluation.stats import compare_pair
from lab.jobs import BackgroundJob

DEFAULT_SIZES = (256, 512, 1024)
METRICS = ("hit_at_k", "recall_at_k", "mrr")


def parse_sizes(text: str) -> list[int]:
    """The user's list of chunk sizes: parse_sizes("256, 512,1024") -> [256, 512, 1024]; InputError saying what
    to write for anything else (a word, a repeat, more than eight settings)."""
    sizes = []
    for item in filter(None, (part.strip() for part in str(text).split(","))):
        if not item.isdigit() or len(item) > 6:
            raise InputError(f"Chunk sizes: {item[:20]!r} is not a whole number of tokens; write sizes separated by "
                             "commas, e.g. 256,512,1024.")
        if int(item) in sizes:
            raise InputError(f"Chunk sizes: {item} is given twice; give each size once.")
        sizes.append(int(item))
    if len(sizes) > 8:
        raise InputError(f"Chunk sizes: {len(sizes)} settings; give at most 8 (each rebuilds the collection).")
    return sizes


def settings_for(sizes: Sequence[int] | str, overlap: int | None = None) -> list[ChunkConfig]:
    """One ChunkConfig per size (a list, or the user's text: see parse_sizes); overlap defaults to an eighth of the
    size: settings_for("256") -> [ChunkConfig(256, 32)]."""
    if isinstance(sizes, str):
        sizes = parse_sizes(sizes)
    if not sizes:
        raise InputError("Give at least one chunk size (e.g. 256,512,1024).")
    return [ChunkConfig(int(s), int(s) // 8 if overlap is None else int(overlap)) for s in sizes]


def sweep_name(collection: str, config: ChunkConfig, embedder: str = "") -> str:
    """The rebuilt copy's name: the collection's first 36 characters, then a hash of its whole name and the
    embedder (two collections that share a prefix, or two embedders, never share a copy), then the setting.

    >>> sweep_name("licences", ChunkConfig(512, 64))
    'licences-swe4f54d7a-512-64'
    """
    import hashlib

    digest = hashlib.sha256(f"{collection}\0{embedder}".encode()).hexdigest()[:8]
    return f"{collection[:36]}-sw{digest}-{config.size}-{config.overlap}"


@dataclass
class SweepSetting:
    size: int
    overlap: int
    collection: str
    chunks: int
    index_seconds: float
    measured_now: bool  # built in this sweep (else: the build time kept with an existing collection)
    scores: list[ModeScores] = field(default_factory=list)
    embedder: str = ""  # the embedder the copy was built with (a sweep can compare embedders too)

    def label(self, embedders: bool) -> str:
        return f"{self.size}/{self.overlap}" + (f" {self.embedder}" if embedders else "")


@dataclass
class SweepResult:
    collection: str
    golden: str
    k: int
    questions: int
    settings: list[SweepSetting] = field(default_factory=list)
    verdicts: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def rows(self) -> list[dict]:
        """One row per (setting, mode): metric means with their 95% CIs, chunk count and index time."""
        out = []
        for s in self.settings:
            for m in s.scores:
                row = {"size": s.size, "overlap": s.overlap, "embedder": s.embedder, "mode": m.mode, "chunks": s.chunks,
                       "index_seconds": round(s.index_seconds, 2), "questions": m.questions}
                for metric in METRICS + tuple(f"passage_{x}" for x in METRICS):
                    if metric in m.ci:
                        e = m.ci[metric]
                        row.update({metric: round(e.mean, 4), f"{metric}_low": round(e.low, 4),
                                    f"{metric}_high": round(e.high, 4)})
                out.append(row)
        return out


def verdicts(settings: Sequence[SweepSetting], metric: str = "mrr") -> list[str]:
    """Per mode: the best setting on `metric` and whether it separates from each other setting."""
    lines = []
    modes = [m.mode for m in settings[0].scores] if settings else []
    several = len({s.embedder for s in settings}) > 1
    for mode in modes:
        values = {}
        for s in settings:
            scores = next(m for m in s.scores if m.mode == mode)
            values[s.label(several)] = {r["id"]: r[metric] for r in scores.per_question}
        means = {name: sum(v.values()) / max(len(v), 1) for name, v in values.items()}
        best = max(means, key=means.get)
        parts, separable = [], []
        for other in means:
            if other == best:
                continue
            ids = sorted(set(values[best]) & set(values[other]))
            test = compare_pair([values[best][i] for i in ids], [values[other][i] for i in ids], best, other)
            parts.append(f"vs {other} {signed(test.diff.mean, 3)} [{signed(test.diff.low, 3)}, {signed(test.diff.high, 3)}]")
            separable.append(test.separable)
        if not parts:
            lines.append(f"{mode}: only one setting ({best}), {metric} {means[best]:.3f}.")
            continue
        verdict = ("separably better than every other setting" if all(separable) else
                   "separably better than some settings, not all" if any(separable) else
                   "not separable from the others with these questions: the setting makes no measurable "
                   "difference here; more questions would be needed to tell")
        lines.append(f"{mode}: {best} has the best {metric} ({means[best]:.3f}); {'; '.join(parts)}: {verdict}.")
    return lines


class SweepJob(BackgroundJob):
    """Build the collection at each chunk setting (reusing parsed text) and score retrieval at each."""

    kind = "sweep"

    def __init__(self, store, embedder, collection: str, golden, configs: Sequence[ChunkConfig], k: int = 5,
                 modes_for=None, metric: str = "mrr", embedders: Sequence | None = None):
        """`golden`: a `GoldenSet`; `modes_for(collection) -> {mode: Retriever}` (default: dense, bm25, hybrid);
        `embedders` (default: the collection's own, `embedder`) are compared the way chunk settings are."""
        super().__init__()
        self.store, self.embedder, self.collection, self.golden = store, embedder, collection, golden
        self.configs, self.k, self.metric = list(configs), k, metric
        self.embedders = list(embedders or [embedder])
        self.modes_for = modes_for
        self.result: SweepResult | None = None
        self.progress.total = 2 * len(self.configs) * len(self.embedders)

    def _documents(self) -> list:
        docs, missing = [], []
        for source, sha in sorted(self.store.source_hashes(self.collection).items()):
            doc = load_parsed(source, sha)
            (docs.append(doc) if doc is not None else missing.append(source))
        if missing:
            raise InputError(f"The parsed text of {len(missing)} document(s) of {self.collection!r} is not kept "
                             f"({', '.join(missing[:3])}...): ingest the files into it again once (unchanged files "
                             "are not re-embedded), then run the sweep.")
        return docs

    def _modes(self, name: str, embedder=None) -> dict:
        if self.modes_for is not None:
            return self.modes_for(name)
        from lab.index.retrieval import bm25_index, retrievers_for

        return retrievers_for(self.store, name, embedder or self.embedder, bm25_index(self.store, name))

    def work(self) -> None:
        from lab.index.ingest import ingest_documents

        hashes = self.store.source_hashes(self.collection)
        sources = set(hashes)
        check = check_sources(self.golden.questions, hashes, self.golden.documents)
        message = check.message(self.collection, self.golden.label)
        if not check.ok:
            raise InputError(message)
        docs = self._documents()
        base = self.store.info(self.collection)
        result = SweepResult(self.collection, self.golden.label, self.k, check.matching,
                             notes=[message] if message else [])
        settings = [(embedder, config) for embedder in self.embedders for config in self.configs]
        for step, (embedder, config) in enumerate(settings):
            self.check_cancel()
            self.advance(done=2 * step, message=f"indexing at {config.size}/{config.overlap} with {embedder.name}")
            if base.chunk_config == config and base.embedder == embedder.name:
                name, info = self.collection, base
                seconds, now = (info.build.estimate(info.chunks) if info.build else float("nan")), False
            else:
                name = sweep_name(self.collection, config, embedder.name)
                report = ingest_documents(docs, name, embedder, self.store, config, sweep_of=self.collection)
                info = self.store.info(name)
                now = report.chunks_added > 0
                seconds = report.seconds["total"] if now else (info.build.estimate(info.chunks) if info.build
                                                              else float("nan"))
            self.check_cancel()
            self.advance(done=2 * step + 1, message=f"scoring retrieval at {config.size}/{config.overlap}")
            scores = evaluate(self._modes(name, embedder), self.golden.questions, self.k,
                              spans=chunk_spans(self.store, name), collection_sources=sources)
            result.settings.append(SweepSetting(config.size, config.overlap, name, info.chunks, seconds, now, scores,
                                                embedder.name))
        result.verdicts = verdicts(result.settings, self.metric)
        self.result = result
        self.advance(done=2 * len(settings), message="done")
