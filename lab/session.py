"""One wiring: settings -> store, embedder, retrievers, generators, adapter, endpoint -> a `PathContext`.

The pages and the command line both build what a path needs here, so their defaults cannot drift. They differ
only in how heavy things are loaded: the command line uses `Loader` (loads on first use, keeps for the
process), the pages pass a loader whose methods are Streamlit-cached (`pages/ui/resources.py`).

    settings = Settings(collection="sample", adapter="data/adapters/behaviour")
    ctx = path_context(settings, Loader(), ["prompt", "hybrid"])
    run_path("hybrid", "Which port does the agent use?", ctx)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from lab.config import DEFAULT_COLLECTION, BatchConfig, DecodingConfig, RetrievalConfig
from lab.errors import InputError
from lab.evaluation.costs import PriceTable
from lab.evaluation.golden import GoldenQuestion
from lab.experiments.answer_paths import PathContext, is_endpoint_path
from lab.experiments.batch import CompareJob, collection_manifest, manifest_for

NO_RERANKER = ("rerank skipped: no cross-encoder given. Pass --reranker DIR (or fill in the cross-encoder folder) with "
               "a sentence-transformers CrossEncoder folder (e.g. cross-encoder/ms-marco-MiniLM-L-6-v2 saved on a "
               "machine with hub access).")


@dataclass(frozen=True)
class EndpointSettings:
    """An OpenAI-compatible endpoint for the `...@endpoint` paths; the key is read from the variable NAMED here."""

    base_url: str
    model: str
    api_key_env: str | None = None
    adapter: str | None = None  # the name the server gives the LoRA adapter (finetuned@endpoint, hybrid@endpoint)
    concurrency: int = 8        # requests in flight


@dataclass(frozen=True)
class Settings:
    """Everything that decides how the paths run, as chosen in the sidebar and pages or on the command line."""

    collection: str | None = DEFAULT_COLLECTION
    model: str | None = None  # local model folder or hub id; None: the embedded SmolLM2
    backend: str | None = None  # how the local model runs (lab.generation.models.BACKENDS); None: default_backend()
    adapter: str | None = None  # LoRA adapter folder for the finetuned and hybrid paths
    endpoint: EndpointSettings | None = None
    retrieval: RetrievalConfig = field(default_factory=RetrievalConfig)
    decoding: DecodingConfig = field(default_factory=DecodingConfig)

    def to_dict(self) -> dict:
        """As stored with a run, to resume it (the endpoint's key by its variable's NAME only)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Settings":
        def pick(kind, values):
            known = {f.name for f in dataclasses.fields(kind)}
            return kind(**{k: v for k, v in (values or {}).items() if k in known})

        top = {k: v for k, v in data.items() if k in {f.name for f in dataclasses.fields(cls)}}
        return cls(**{**top, "endpoint": pick(EndpointSettings, top["endpoint"]) if top.get("endpoint") else None,
                      "retrieval": pick(RetrievalConfig, top.get("retrieval")),
                      "decoding": pick(DecodingConfig, top.get("decoding"))})


class Resources(Protocol):
    """How heavy things are obtained; the pages' implementation caches them across reruns and sessions."""

    def store(self): ...

    def embedder(self, spec=None): ...

    def bm25(self, collection: str): ...

    def reranker(self, name_or_path: str): ...

    def generator(self, name: str | None, backend: str | None = None): ...

    def endpoint(self, settings: EndpointSettings): ...


class Loader:
    """Resources for one process (the command line): each loaded on first use and kept."""

    def __init__(self, chroma_host: str | None = None):
        self.chroma_host = chroma_host
        self._kept: dict = {}

    def _keep(self, key, make):
        if key not in self._kept:
            self._kept[key] = make()
        return self._kept[key]

    def store(self):
        from lab.index.store import Store

        return self._keep("store", lambda: Store(self.chroma_host))

    def embedder(self, spec=None):
        """The lab's embedder (the default: scoring and leakage use it), or the one `spec` names (a collection's)."""
        from lab.index.embeddings import EmbedderSpec

        spec = spec or EmbedderSpec()
        return self._keep(("embedder", spec), spec.load)

    def bm25(self, collection: str):
        from lab.index.retrieval import bm25_index

        return self._keep(("bm25", collection), lambda: bm25_index(self.store(), collection))

    def reranker(self, name_or_path: str):
        from lab.index.rerank import CrossEncoderReranker

        return self._keep(("reranker", name_or_path), lambda: CrossEncoderReranker(name_or_path))

    def generator(self, name: str | None, backend: str | None = None):
        from lab.generation.models import LocalGenerator, default_backend

        backend = backend or default_backend()
        return self._keep(("generator", name, backend), lambda: LocalGenerator(name, backend))

    def endpoint(self, settings: EndpointSettings):
        from lab.generation.endpoint import EndpointGenerator

        return self._keep(("endpoint", settings), lambda: EndpointGenerator(
            settings.base_url, settings.model, settings.api_key_env, concurrency=settings.concurrency))


def endpoint_settings(url: str | None, model: str | None, key_env: str | None = None, adapter: str | None = None,
                      concurrency: int = 8) -> EndpointSettings | None:
    """Endpoint settings from loose options: both URL and model, or neither."""
    if not (url or model):
        if adapter:
            raise InputError("--endpoint-adapter names an adapter on an endpoint: give --endpoint-url and "
                             "--endpoint-model too.")
        return None
    if not (url and model):
        raise InputError("Give both the endpoint URL and its model name (--endpoint-url and --endpoint-model), and "
                         "the NAME of the variable holding its API key when it needs one (--endpoint-key-env).")
    if not 1 <= int(concurrency) <= 256:
        raise InputError(f"--concurrency must be 1-256 requests in flight, got {concurrency}.")
    return EndpointSettings(url, model, key_env or None, (adapter or "").strip() or None, int(concurrency))


def retrievers(settings: Settings, res: Resources, collection: str | None = None) -> tuple[dict, str | None]:
    """The retrieval modes of the collection (dense, bm25, hybrid; rerank when the cross-encoder loads) and a note
    when rerank was skipped. The collection must exist: a missing one raises NotFoundError saying what to do."""
    from lab.index.retrieval import retrievers_for

    name = collection or settings.collection
    store = res.store()
    store.info(name)  # fail early, with what to do, if the collection is missing
    reranker_path = settings.retrieval.reranker
    reranker = res.reranker(reranker_path) if reranker_path else None
    modes = retrievers_for(store, name, collection_embedder(store, name, res), res.bm25(name), reranker,
                           settings.retrieval.rrf_k,
                           settings.retrieval.fusion)
    return modes, None if reranker else NO_RERANKER


def collection_embedder(store, name: str, res: Resources):
    """The embedder a collection was built with: its queries always use it (a folder that is gone, or a server
    that answers vectors of another size, is refused with what to do)."""
    from lab.index.embeddings import EmbedderSpec

    info = store.info(name)
    embedder = res.embedder(EmbedderSpec.of_collection(info.embedder, info.embedder_spec))
    if info.dim is not None and getattr(embedder, "dim", 0) is None:  # a server: its vectors must keep the size
        embedder.dim = info.dim
    return embedder


def rebuild_collections(res: Resources, progress=None):
    """Put a damaged embedded Chroma's collections back from the catalogue, each with its own embedder
    (`lab.index.catalogue`); the command line and the Corpus page both call this."""
    from lab.index.rebuild import rebuild
    from lab.index.embeddings import EmbedderSpec

    return rebuild(lambda spec, name: res.embedder(EmbedderSpec.of_collection(name, spec)), progress)


def ingest_embedder(store, collection: str, res: Resources, spec=None):
    """The embedder an ingest into `collection` uses: the one the user names (`spec`, checked against an existing
    collection's by the store), else the collection's own, else the lab's default."""
    if spec is None and store.exists(collection):
        return collection_embedder(store, collection, res)
    return res.embedder(spec)


def generators(settings: Settings, res: Resources, paths: Sequence[str] | None = None):
    """(local model, endpoint): the local model only when a local path runs (all paths when `paths` is None),
    the endpoint whenever one is set; an endpoint path without an endpoint is refused with what to pass."""
    paths = list(paths) if paths is not None else None
    if settings.endpoint is None and paths and any(is_endpoint_path(p) for p in paths):
        raise InputError("The ...@endpoint paths need an endpoint: set one on the Models page or pass --endpoint-url "
                         "URL --endpoint-model NAME (and --endpoint-key-env VAR when it needs an API key).")
    remote = res.endpoint(settings.endpoint) if settings.endpoint else None
    local = None
    if paths is None or not all(is_endpoint_path(p) for p in paths):
        local = res.generator(settings.model, settings.backend)
    return local, remote


def path_context(settings: Settings, res: Resources, paths: Sequence[str] | None = None) -> PathContext:
    """The context the paths run in: retrievers when the collection exists (paths that need one say so when it
    does not), the generators `paths` need, and the adapter loaded on the local model when one is chosen."""
    modes: dict = {}
    if settings.collection and res.store().exists(settings.collection):
        modes, _ = retrievers(settings, res)
    local, remote = generators(settings, res, paths)
    adapter = local.load_adapter(settings.adapter) if settings.adapter and local is not None else None
    return PathContext(local, modes.get("dense"), modes.get("rerank") or modes.get("hybrid"), settings.retrieval.k,
                       settings.decoding, adapter, remote, passage_context=settings.retrieval.passage_context,
                       endpoint_adapter=settings.endpoint.adapter if settings.endpoint else None,
                       answer_format=answer_format_of(settings))


def answer_format_of(settings: Settings):
    """The format answers are scored against: the schema the chosen adapter was trained on (a served adapter's, when
    the lab holds a folder of that name), else the sample's shape (`lab.evaluation.answer_format`)."""
    from lab.evaluation.answer_format import of_adapter

    folder = settings.adapter
    if not folder and settings.endpoint is not None and settings.endpoint.adapter:
        from lab.generation.adapters import adapters_dir

        served = adapters_dir() / settings.endpoint.adapter
        folder = str(served) if (served / "manifest.json").is_file() else None
    return of_adapter(folder)


def compare_job(settings: Settings, res: Resources, questions: Sequence[GoldenQuestion], questions_name: str,
                paths: Sequence[str], batch: BatchConfig = BatchConfig(), extra_manifest: dict | None = None,
                table: PriceTable = PriceTable(), stop=None) -> CompareJob:
    """A batch run of `questions` (already cut with `BatchConfig.pick`) through `paths`, registered in the run store with its full manifest (not yet
    started: call `.run()` in the foreground or `.start()` in the background). `stop`: a
    `lab.evaluation.sequential.StopRule` that ends the run once its pairs are decided."""
    from lab.experiments.run_store import RunStore

    ctx = dataclasses.replace(path_context(settings, res, paths), continuous=batch.continuous)
    extra = {"batching": "continuous" if batch.continuous else "fixed"}
    if settings.collection and ctx.retriever is not None:
        extra.update(collection_manifest(res.store(), settings.collection, ctx.retriever))
    manifest = manifest_for(ctx, settings.collection, questions_name, {**extra, **(extra_manifest or {})})
    launch = {"settings": settings.to_dict(), "questions_name": questions_name, "paths": list(paths),
              "batch": dataclasses.asdict(batch), "extra_manifest": extra_manifest or {},
              "price_table": dataclasses.asdict(table), **({"stop": dataclasses.asdict(stop)} if stop else {})}
    return CompareJob(questions, paths, ctx, RunStore(), manifest, res.embedder(), table, batch.batch_size, launch,
                      stop=stop)


def resume_job(run_id: str, res: Resources) -> CompareJob:
    """The job that finishes a stopped run (interrupted, failed or cancelled): the same settings and questions,
    only the (question, path) pairs not stored yet. Refused, saying what changed, when the run cannot be resumed
    as it was: still running, made before runs kept their launch, or its model, adapter, corpus or settings
    differ now (a new run is then the honest comparison)."""
    from lab.evaluation.costs import PriceTable
    import json

    from lab.evaluation.golden import parse_golden
    from lab.experiments.batch import differences
    from lab.experiments.run_store import RunStore

    runs = RunStore()
    run = runs.get(run_id)
    if run.status == "running":
        raise InputError(f"Run {run_id} is still running: wait for it, or cancel it first.")
    if run.status == "done" and run.done >= run.total:
        raise InputError(f"Run {run_id} is complete ({run.done}/{run.total} answers): nothing to resume.")
    stored = runs.launch(run_id)
    if stored is None:
        raise InputError(f"Run {run_id} was made before runs could be resumed: start it again as a new run.")
    launch, rows = stored
    settings = Settings.from_dict(launch.get("settings") or {})
    batch = BatchConfig(**{k: v for k, v in (launch.get("batch") or {}).items()
                           if k in {f.name for f in dataclasses.fields(BatchConfig)}})
    questions = parse_golden("".join(json.dumps(q) + "\n" for q in rows), f"run {run_id}'s questions")
    paths = launch.get("paths") or list(run.manifest.paths)
    ctx = dataclasses.replace(path_context(settings, res, paths), continuous=batch.continuous)
    extra = {"batching": "continuous" if batch.continuous else "fixed"}
    if settings.collection and ctx.retriever is not None:
        extra.update(collection_manifest(res.store(), settings.collection, ctx.retriever))
    now = manifest_for(ctx, settings.collection, launch.get("questions_name", ""),
                       {**extra, **(launch.get("extra_manifest") or {})})
    changed = differences(run.manifest, now)
    if changed:
        raise InputError(f"Run {run_id} cannot be resumed as it was: {', '.join(changed)} differ now. Start a new "
                         "run to compare with these settings.")
    table = PriceTable.from_dict(launch.get("price_table") or {})
    stop = None
    if launch.get("stop") and runs.decision(run_id) is None:  # a decided run resumed asks the rest, undecided
        from lab.evaluation.sequential import StopRule

        rule = launch["stop"]
        stop = StopRule(tuple(tuple(p) for p in rule["pairs"]), rule["metric"], rule["margin"], rule["alpha"],
                        rule["min_questions"])
    return CompareJob(questions, paths, ctx, runs, run.manifest, res.embedder(), table, batch.batch_size,
                      resume=run_id, stop=stop)
