"""`python -m lab bench`: speed as ratios against baselines measured in the same run, so the
figures hold on a noisy machine. Medians over repeats; results written to a JSON file.

| figure | lab / baseline | target |
|---|---|---|
| ingestion | pipeline chunks/s / raw embedder encode chunks/s (same chunks) | >= 0.8 |
| bm25 | bm25s query latency / rank_bm25 query latency (same corpus) | <= 0.1 |
| hybrid_1k, hybrid_50k | hybrid p50 (no rerank) / one dense Chroma query (both embed the query) | <= 1.5 |
| peer_langchain | lab hybrid p50 / LangChain EnsembleRetriever p50, recall@k side by side | < 1 |
| batched_generation | batched (continuous) tokens/s / one-question-at-a-time tokens/s, 16 golden questions | >= 4 |
| lora_training | lab training-step tokens/s / bare forward+backward loop tokens/s | >= 0.8 |
| comparison | whole golden-set comparison in a child process: wall time, peak RSS | < 4096 MB |
| comparison_speedup | the same comparison as the lab runs it (candidate `--backend`, default bf16; continuous batching) / today's reference (float32 transformers, fixed batches), wall time | <= 0.35 |
| backend_agreement | share of the candidate's answers identical to the reference; paired accuracy difference, 95% CI | CI not below 0 |
| single_question_speedup | one question through prompt, rag, hybrid-rag as the Compare page runs it (decoded together), candidate / today's reference (path after path) | <= 0.35 |
| first_render | seconds from `streamlit run` to Home rendered in Chromium; page switches reported | < 5 s |
| endpoint_throughput | answers/s the endpoint client gets from a server of fixed latency and capacity / what the server allows (one request at a time reported beside it) | >= 0.8 |

The figures live in `lab.bench.corpus` (ingestion, bm25, hybrid), `lab.bench.peer` (LangChain, imported only
there), `lab.bench.models` (generation, LoRA), `lab.bench.children` (comparison in a child process) and
`lab.bench.app`, all built on `lab.bench.figure`.

    result = run(quick=True, only={"bm25"})   # one figure
    write(result, "bench-results.json")
"""

from __future__ import annotations

import contextlib
import os
import platform
import re
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

from lab.bench.figure import Figure

FIGURES = ("ingestion", "bm25", "hybrid", "peer_langchain", "batched_generation", "lora_training", "comparison",
           "comparison_speedup", "single_question_speedup", "first_render", "endpoint_throughput")


def machine() -> dict:
    """CPU count and model, RAM, Python and OS of this run."""
    info = {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count()}
    with contextlib.suppress(OSError):
        cpu = Path("/proc/cpuinfo").read_text()
        info["cpu_model"] = next((line.split(":", 1)[1].strip() for line in cpu.splitlines()
                                  if line.startswith("model name")), platform.processor())
        mem = Path("/proc/meminfo").read_text()
        info["ram_gb"] = round(int(re.search(r"MemTotal:\s+(\d+)", mem).group(1)) / 1024 ** 2, 1)
    with contextlib.suppress(ImportError):
        import torch

        info["torch_threads"] = torch.get_num_threads()
    return info


def _load_average() -> float | None:
    """1-minute load average: above the CPU count, the run shared its cores (torch's threads suffer most)."""
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


def versions() -> dict:
    import importlib.metadata

    out = {}
    for package in ("torch", "transformers", "peft", "sentence-transformers", "chromadb", "bm25s", "rank-bm25",
                    "streamlit", "playwright", "langchain-core", "langchain-classic", "langchain-community",
                    "langchain-chroma"):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            out[package] = importlib.metadata.version(package)
    return out


def run(quick: bool = False, only: set[str] | None = None, adapter: str | None = None, make_context=None,
        backend: str = "bf16") -> dict:
    """Run the figures in `only` (default: all of FIGURES); `adapter` is used by the comparison figure,
    `make_context(collection, backend)` (the session's wiring) by the single-question figure, and `backend` is the
    one the speed-up and agreement figures measure against the transformers reference."""
    import resource

    from lab.config import SAMPLE_GOLDEN
    from lab.evaluation.golden import load_golden
    from lab.index.embeddings import SentenceTransformerEmbedder

    only = set(only or FIGURES)
    repeats = 3 if quick else 7
    load_before = _load_average()
    started = time.perf_counter()
    questions = load_golden(SAMPLE_GOLDEN)
    figures: list[Figure] = []
    notes: list[str] = []
    if only & {"ingestion", "bm25", "hybrid", "peer_langchain"}:
        from lab.bench import corpus as bench_corpus

        embedder = SentenceTransformerEmbedder()
        if "ingestion" in only:
            figures.append(bench_corpus.bench_ingestion(embedder, quick, 1 if quick else 3))
        figures += bench_corpus.retrieval_figures(embedder, questions, quick, repeats, only)
    if only & {"batched_generation", "lora_training"}:
        from lab.bench import models as bench_models

        if "batched_generation" in only:
            figures.append(bench_models.bench_generation([q.question for q in questions[:16]], 1 if quick else 3))
        if "lora_training" in only:
            figures.append(bench_models.bench_lora_training(8 if quick else 12))
    if "endpoint_throughput" in only:
        from lab.bench.endpoint import bench_endpoint_throughput

        figures.append(bench_endpoint_throughput(48 if quick else 96))
    if only & {"comparison", "comparison_speedup", "single_question_speedup", "first_render"}:
        from lab.bench import children as bench_children

        with tempfile.TemporaryDirectory(prefix="lab-bench-app-") as folder:
            app = bench_children.prepare_app_data(Path(folder), adapter,
                                                  train=bool(only & {"comparison", "comparison_speedup"}))
            notes += app.notes
            if "comparison" in only:
                figures.append(bench_children.bench_comparison(app, 4 if quick else 0))
            if "comparison_speedup" in only:
                figures += bench_children.bench_backends(app, 8 if quick else 0, backend)
            if "single_question_speedup" in only and make_context is not None:
                from lab.bench import models as bench_models

                picked = [q.question for q in questions[:3 if quick else 10]]
                figures.append(bench_models.bench_single_question(
                    app.folder, lambda name: make_context(app.collection, name), picked, backend))
            if "first_render" in only and not quick:
                from lab.bench.app import bench_first_render

                figures.append(bench_first_render(app))
            elif "first_render" in only:
                notes.append("first_render skipped with --quick (it starts the app and a browser)")
    return {
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "quick": quick, "versions": versions(),
        "machine": {**machine(), "load_average_1min": {"start": load_before, "end": _load_average()}},
        "figures": [asdict(f) for f in figures], "notes": notes,
        "wall_seconds": round(time.perf_counter() - started, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def summary_lines(result: dict) -> list[str]:
    """One line per figure: lab, baseline, ratio, target, met."""
    def num(x):
        return "-" if x is None else f"{x:.4g}"

    lines = [f"{'figure':20} {'lab':>10} {'baseline':>10} {'unit':12} {'ratio':>7}  target"]
    for f in result["figures"]:
        met = {True: "met", False: "MISSED", None: "reported"}[f["met"]]
        lines.append(f"{f['name']:20} {num(f['lab']):>10} {num(f['baseline']):>10} {f['unit']:12} "
                     f"{num(f['ratio']):>7}  {f['target']} ({met})")
    return lines + [f"note: {n}" for n in result.get("notes", [])]


def write(result: dict, path: str | Path) -> Path:
    import json

    from lab.experiments.export import write_atomic

    return write_atomic(path, json.dumps(result, indent=2))
