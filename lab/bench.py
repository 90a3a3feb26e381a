"""`python -m lab bench`: speed as ratios against baselines measured in the same run, so the
figures hold on a noisy machine. Medians over repeats; results written to a JSON file.

| figure | ratio | target |
|---|---|---|
| ingestion | pipeline chunks/s / raw embedder encode chunks/s (same chunks) | >= 0.8 |
| bm25 | bm25s query latency / rank_bm25 query latency (same corpus) | <= 0.1 |
| hybrid_1k, hybrid_50k | hybrid p50 (no rerank) / one dense Chroma query | <= 1.5 |
| batched_generation | batched tokens/s / one-question-at-a-time tokens/s, 16 golden questions | >= 4 |
| comparison | whole golden-set comparison: wall time and peak RSS (reported) | - |
"""

from __future__ import annotations

import platform
import re
import resource
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass
class Figure:
    name: str
    ratio: float | None
    target: str
    met: bool | None
    detail: dict = field(default_factory=dict)


def _median_ms(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def bench_ingestion(embedder, quick: bool) -> Figure:
    from lab.chunking import chunk_document
    from lab.config import SAMPLE_DOCS, ChunkConfig
    from lab.ingest import collect_files, ingest
    from lab.parsing import parse
    from lab.store import Store

    files, _ = collect_files([SAMPLE_DOCS])
    files = files[:8] if quick else files
    chunks = [c.text for p in files for c in chunk_document(parse(p), ChunkConfig(), embedder.count_tokens)]
    start = time.perf_counter()
    embedder.encode(chunks)
    raw = len(chunks) / (time.perf_counter() - start)
    with tempfile.TemporaryDirectory() as folder:
        import os

        previous = os.environ.get("LAB_DATA_DIR")
        os.environ["LAB_DATA_DIR"] = folder
        try:
            start = time.perf_counter()
            report = ingest(files, "bench", embedder, Store())
            pipeline = report.chunks_added / (time.perf_counter() - start)
        finally:
            os.environ.pop("LAB_DATA_DIR") if previous is None else os.environ.__setitem__("LAB_DATA_DIR", previous)
    ratio = pipeline / raw
    return Figure("ingestion", ratio, ">= 0.8", ratio >= 0.8,
                  {"chunks": len(chunks), "pipeline_chunks_per_s": pipeline, "encode_chunks_per_s": raw,
                   "stage_seconds": report.seconds})


def _corpus_texts(store, collection: str, n: int) -> list[str]:
    texts = [r["text"] for r in store.chunks(collection)]
    rng = np.random.default_rng(0)
    out = list(texts)
    while len(out) < n:  # synthetic variants: the same vocabulary, shuffled sentences
        base = texts[int(rng.integers(len(texts)))].split(". ")
        rng.shuffle(base)
        out.append(". ".join(base))
    return out[:n]


def bench_bm25(texts: list[str], queries: list[str], repeats: int) -> Figure:
    from rank_bm25 import BM25Okapi

    from lab.bm25 import BM25Index

    index = BM25Index.build([str(i) for i in range(len(texts))], texts, [{} for _ in texts])
    tokenize = lambda s: re.findall(r"\w\w+", s.lower())  # noqa: E731 - same tokens as bm25s' default pattern
    baseline = BM25Okapi([tokenize(t) for t in texts])
    ours = _median_ms(lambda: [index.search(q, 10) for q in queries], repeats) / len(queries)
    theirs = _median_ms(lambda: [np.argsort(baseline.get_scores(tokenize(q)))[-10:] for q in queries],
                        repeats) / len(queries)
    ratio = ours / theirs
    return Figure("bm25", ratio, "<= 0.1", ratio <= 0.1,
                  {"chunks": len(texts), "bm25s_ms": ours, "rank_bm25_ms": theirs})


def bench_hybrid(store, collection: str, embedder, queries: list[str], size: int, repeats: int) -> Figure:
    from lab.retrieval import retrievers_for

    modes = retrievers_for(store, collection, embedder)
    dense = _median_ms(lambda: [modes["dense"].search(q, 4) for q in queries], repeats) / len(queries)
    hybrid = _median_ms(lambda: [modes["hybrid"].search(q, 4) for q in queries], repeats) / len(queries)
    ratio = hybrid / dense
    return Figure(f"hybrid_{size // 1000}k", ratio, "<= 1.5", ratio <= 1.5,
                  {"chunks": store.info(collection).chunks, "hybrid_p50_ms": hybrid, "dense_query_ms": dense,
                   "note": "both include embedding the query; hybrid fetches 20 candidates per retriever"})


def _synthetic_collection(store, name: str, texts: list[str], embedder, synthetic_vectors: bool) -> None:
    from lab.chunking import Chunk
    from lab.config import ChunkConfig

    collection = store.open(name, embedder.name, ChunkConfig())
    dim = embedder.encode(["x"]).shape[1]
    rng = np.random.default_rng(1)
    for start in range(0, len(texts), 2000):
        part = texts[start:start + 2000]
        if synthetic_vectors:
            vectors = rng.normal(size=(len(part), dim)).astype(np.float32)
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        else:
            vectors = embedder.encode(part)
        chunks = [Chunk(f"s{start + i}", f"synthetic-{(start + i) // 50}.md", t, 0, len(t), "", None, "0", 0)
                  for i, t in enumerate(part)]
        collection.upsert(ids=[c.id for c in chunks], embeddings=vectors.tolist(), documents=part,
                          metadatas=[{"source": c.source, "doc_sha256": "0"} for c in chunks])


def bench_generation(generator, questions: list[str]) -> Figure:
    from lab import prompts
    from lab.config import DecodingConfig

    decoding = DecodingConfig(max_new_tokens=32)
    conversations = [prompts.chat(q) for q in questions]
    start = time.perf_counter()
    single = [generator.generate([c], decoding)[0] for c in conversations]
    one_at_a_time = sum(g.tokens_out for g in single) / (time.perf_counter() - start)
    start = time.perf_counter()
    batched = generator.generate(conversations, decoding)
    together = sum(g.tokens_out for g in batched) / (time.perf_counter() - start)
    ratio = together / one_at_a_time
    return Figure("batched_generation", ratio, ">= 4", ratio >= 4,
                  {"questions": len(questions), "batched_tokens_per_s": together,
                   "single_tokens_per_s": one_at_a_time})


def run(quick: bool = False) -> dict:
    import importlib.metadata
    import os

    from lab.config import SAMPLE_GOLDEN
    from lab.embeddings import SentenceTransformerEmbedder
    from lab.golden import load_golden
    from lab.models import LocalGenerator
    from lab.store import Store

    repeats = 3 if quick else 7
    started = time.perf_counter()
    embedder = SentenceTransformerEmbedder()
    questions = [q.question for q in load_golden(SAMPLE_GOLDEN)]
    figures = [bench_ingestion(embedder, quick)]
    with tempfile.TemporaryDirectory() as folder:
        previous = os.environ.get("LAB_DATA_DIR")
        os.environ["LAB_DATA_DIR"] = folder
        try:
            store = Store()
            from lab.config import SAMPLE_DOCS
            from lab.ingest import ingest

            ingest([SAMPLE_DOCS], "bench-sample", embedder, store)
            texts_1k = _corpus_texts(store, "bench-sample", 1000)
            figures.append(bench_bm25(texts_1k, questions[:20], repeats))
            _synthetic_collection(store, "bench-1k", texts_1k, embedder, synthetic_vectors=False)
            figures.append(bench_hybrid(store, "bench-1k", embedder, questions[:20], 1000, repeats))
            if not quick:
                texts_50k = _corpus_texts(store, "bench-sample", 50_000)
                _synthetic_collection(store, "bench-50k", texts_50k, embedder, synthetic_vectors=True)
                figures.append(bench_hybrid(store, "bench-50k", embedder, questions[:20], 50_000, repeats))
        finally:
            os.environ.pop("LAB_DATA_DIR") if previous is None else os.environ.__setitem__("LAB_DATA_DIR", previous)
    figures.append(bench_generation(LocalGenerator(), questions[:16]))
    versions = {p: importlib.metadata.version(p) for p in ("torch", "transformers", "chromadb", "bm25s",
                                                           "sentence-transformers")}
    return {
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "quick": quick,
        "machine": {"python": platform.python_version(), "platform": platform.platform(),
                    "cpus": os.cpu_count()},
        "versions": versions, "figures": [f.__dict__ for f in figures],
        "wall_seconds": time.perf_counter() - started,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "not_measured": ["LoRA training tokens/s vs a bare forward+backward loop",
                         "whole golden-set comparison wall time (see `python -m lab compare`)",
                         "LangChain EnsembleRetriever peer"],
    }


def write(result: dict, path: str | Path) -> Path:
    import json

    from lab.export import write_atomic

    return write_atomic(path, json.dumps(result, indent=2))
