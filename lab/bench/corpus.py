"""Benchmark figures of the corpus side: ingestion, BM25, hybrid retrieval at 1k and 50k chunks (see `lab.bench.suite`)."""

from __future__ import annotations

import re
import statistics
import tempfile
import time

import numpy as np

from lab.bench.figure import Figure, data_dir_env, figure, paired_p50_ms


def bench_ingestion(embedder, quick: bool, repeats: int) -> Figure:
    """The whole pipeline (parse, chunk, embed, write, commit) vs encoding the same chunks alone, interleaved."""
    from lab.config import SAMPLE_DOCS, ChunkConfig
    from lab.corpus.chunking import chunk_document
    from lab.corpus.parsing import parse
    from lab.index.ingest import collect_files, ingest
    from lab.index.store import Store

    files, _ = collect_files([SAMPLE_DOCS])
    files = files[:8] if quick else files
    texts = [c.text for p in files for c in chunk_document(parse(p), ChunkConfig(), embedder.count_tokens)]
    embedder.encode(texts[:16])  # warm-up: first-call costs belong to neither side
    raw, pipeline, stages = [], [], []
    with tempfile.TemporaryDirectory() as folder, data_dir_env(folder):
        store = Store()
        for run in range(repeats):
            start = time.perf_counter()
            embedder.encode(texts)
            raw.append(len(texts) / (time.perf_counter() - start))
            start = time.perf_counter()
            report = ingest(files, f"bench-ingest-{run}", embedder, store)
            pipeline.append(report.chunks_added / (time.perf_counter() - start))
            stages.append({k: round(v, 2) for k, v in report.seconds.items()})
    return figure("ingestion", statistics.median(pipeline), statistics.median(raw), "chunks/s", ">= 0.8",
                  files=len(files), chunks=len(texts), repeats=repeats, stage_seconds=stages)


def corpus_rows(store, collection: str, n: int) -> tuple[list[str], list[str]]:
    """`n` (text, source) rows: the collection's chunks, then synthetic variants (same vocabulary, sentences
    shuffled) attributed to `synthetic-N.md` sources so they never count as gold."""
    rows = store.chunks(collection)
    texts, sources = [r["text"] for r in rows], [r["meta"]["source"] for r in rows]
    rng = np.random.default_rng(0)
    while len(texts) < n:
        base = rows[int(rng.integers(len(rows)))]["text"].split(". ")
        rng.shuffle(base)
        texts.append(". ".join(base))
        sources.append(f"synthetic-{len(texts) // 50}.md")
    return texts[:n], sources[:n]


def bench_bm25(texts: list[str], queries: list[str], repeats: int) -> Figure:
    from rank_bm25 import BM25Okapi

    from lab.index.bm25 import BM25Index

    index = BM25Index.build([str(i) for i in range(len(texts))], texts, [{} for _ in texts])
    tokenize = lambda s: re.findall(r"\w\w+", s.lower())  # noqa: E731 - same tokens as bm25s' default pattern
    baseline = BM25Okapi([tokenize(t) for t in texts])
    ours, theirs = paired_p50_ms(lambda q: index.search(q, 10),
                                 lambda q: np.argsort(baseline.get_scores(tokenize(q)))[-10:], queries, repeats)
    return figure("bm25", ours, theirs, "ms/query", "<= 0.1", chunks=len(texts), queries=len(queries))


def bench_hybrid(store, collection: str, embedder, queries: list[str], repeats: int) -> Figure:
    from lab.index.retrieval import retrievers_for

    chunks = store.info(collection).chunks
    modes = retrievers_for(store, collection, embedder)
    modes["hybrid"].search(queries[0], 4)  # warm-up
    hybrid, dense = paired_p50_ms(lambda q: modes["hybrid"].search(q, 4), lambda q: modes["dense"].search(q, 4),
                                  queries, repeats)
    name = f"hybrid_{chunks // 1000}k" if chunks >= 1000 else f"hybrid_{chunks}"
    return figure(name, hybrid, dense, "ms/query", "<= 1.5", chunks=chunks, queries=len(queries),
                  note="both embed the query; hybrid fetches 20 candidates per retriever and fuses them (no rerank)")


def synthetic_collection(store, name: str, texts: list[str], sources: list[str], embedder,
                         synthetic_vectors: bool) -> None:
    """A collection of `texts`; random unit vectors (`synthetic_vectors`) keep a 50k build fast."""
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
        collection.upsert(ids=[f"s{start + i}" for i in range(len(part))], embeddings=vectors, documents=part,
                          metadatas=[{"source": s, "doc_sha256": "0"} for s in sources[start:start + len(part)]])


def retrieval_figures(embedder, questions, quick: bool, repeats: int, only: set[str]) -> list[Figure]:
    from lab.config import SAMPLE_DOCS
    from lab.index.ingest import ingest
    from lab.index.store import Store

    figures = []
    with tempfile.TemporaryDirectory() as folder, data_dir_env(folder):
        store = Store()
        ingest([SAMPLE_DOCS], "bench-sample", embedder, store)
        texts_1k, sources_1k = corpus_rows(store, "bench-sample", 1000)
        if "bm25" in only:
            figures.append(bench_bm25(texts_1k, [q.question for q in questions[:20]], repeats))
        synthetic_collection(store, "bench-1k", texts_1k, sources_1k, embedder, synthetic_vectors=False)
        queries = [q.question for q in questions[:20]]
        collections = ["bench-sample", "bench-1k"]
        if not quick and only & {"hybrid", "peer_langchain"}:  # 50k chunks: random vectors keep the build quick
            texts, sources = corpus_rows(store, "bench-sample", 50_000)
            synthetic_collection(store, "bench-50k", texts, sources, embedder, synthetic_vectors=True)
            collections.append("bench-50k")
        if "hybrid" in only:
            figures += [bench_hybrid(store, name, embedder, queries, repeats) for name in collections[1:]]
        if "peer_langchain" in only:
            from lab.bench.peer import bench_peer_langchain

            figures.append(bench_peer_langchain(store, collections, embedder, questions, 4, repeats))
    return figures
