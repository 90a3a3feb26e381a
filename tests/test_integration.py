"""End to end on the real embedded models: convert, ingest the sample corpus, answer through rag."""

import json
import os
import subprocess
import sys
import time

import pytest

from lab.config import SAMPLE_GOLDEN, RetrievalConfig
from lab.evaluation.golden import load_golden
from lab.experiments.answer_paths import PathContext, run_path
from lab.index.retrieval import DenseRetriever

pytestmark = pytest.mark.slow


def test_default_generator_loads_from_its_safetensors_cache_fast(real_generator):
    from lab.generation.embedded import default_model_folder
    from lab.generation.models import LocalGenerator

    folder = default_model_folder()
    assert (folder / "model.safetensors").exists() and not list(folder.glob("*.gguf"))
    start = time.perf_counter()
    LocalGenerator()
    assert time.perf_counter() - start < 10, "a cached load reads safetensors, it does not re-convert the GGUF"


def golden(qid: str):
    return next(q for q in load_golden(SAMPLE_GOLDEN) if q.id == qid)


def test_rag_answers_a_golden_question_the_prompt_path_cannot(sample_collection, store, real_embedder,
                                                               real_generator):
    question = golden(os.environ.get("LAB_SMOKE_QUESTION", "a02"))
    ctx = PathContext(real_generator, DenseRetriever(store, sample_collection, real_embedder), k=4)
    rag = run_path("rag", question.question, ctx)
    prompt = run_path("prompt", question.question, ctx)
    assert rag.error is None and prompt.error is None
    assert set(question.sources) & {h.source for h in rag.hits}, "the gold source is retrieved"
    forms = [question.answer] + question.aliases
    assert any(f.lower() in rag.text.lower() for f in forms), rag.text
    assert rag.tokens_in > prompt.tokens_in > 0 and rag.tokens_out > 0
    assert rag.latency_ms["retrieve"] > 0 and rag.latency_ms["generate"] > 0


def cli(*args: str) -> dict:
    out = subprocess.run([sys.executable, "-m", "lab", *args, "--json"], capture_output=True, text=True,
                         timeout=600, env={**os.environ})
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout)


@pytest.mark.model  # the `lab` subprocesses load the real embedder and generator
def test_command_line_ingest_and_ask(tmp_path):
    from lab.config import SAMPLE_DOCS

    report = cli("ingest", str(SAMPLE_DOCS), "--collection", "cli-test")
    assert report["collection"] == "cli-test" and report["documents"] >= 25 and report["chunks_total"] > 100
    again = cli("ingest", str(SAMPLE_DOCS), "--collection", "cli-test")
    assert again["chunks_added"] == 0 and len(again["unchanged"]) == report["documents"]
    answer = cli("ask", golden("a02").question, "--collection", "cli-test", "--paths", "prompt,rag")
    assert [a["path"] for a in answer["answers"]] == ["prompt", "rag"]
    rag = answer["answers"][1]
    assert rag["error"] is None and len(rag["hits"]) == RetrievalConfig.k
    assert {"id", "source", "score", "text"} <= set(rag["hits"][0])


def test_command_line_search_and_retrieval_eval(sample_collection):
    hits = cli("search", "What does error HX-3021 mean?", "--collection", sample_collection, "--mode", "bm25")["hits"]
    assert any("HX-3021" in h["text"] for h in hits[:3])
    fused = cli("search", "SSO assertion expired", "--collection", sample_collection, "--mode", "hybrid", "--k", "3")
    assert {"dense", "bm25", "leaders"} & set(fused["hits"][0]["scores"]) >= {"leaders"}
    report = cli("retrieval-eval", "--questions", str(SAMPLE_GOLDEN), "--collection", sample_collection, "--k", "5")
    scores = {m["mode"]: m for m in report["modes"]}
    assert set(scores) == {"dense", "bm25", "hybrid"}
    assert "rerank skipped" in report["notes"][0]
    for m in scores.values():
        assert 0 <= m["mrr"] <= m["hit_at_k"] <= 1 and m["questions"] >= 60
    assert scores["hybrid"]["hit_at_k"] >= scores["dense"]["hit_at_k"], "hybrid should not lose to dense-only"


def test_command_line_compare_stores_a_run_and_writes_csvs(sample_collection, tmp_path):
    out = tmp_path / "run.csv"
    doc = cli("compare", "--questions", str(SAMPLE_GOLDEN), "--collection", sample_collection, "--paths",
              "prompt,rag,finetuned", "--limit", "2", "--max-new-tokens", "8", "--out", str(out))
    assert doc["status"] == "done" and doc["done"] == doc["total"] == 6
    by_path = {p["path"]: p for p in doc["paths"]}
    assert by_path["finetuned"]["errors"] == 2, "no adapter: reported, not dropped"
    assert by_path["rag"]["quality"]["hit_at_k"]["n"] == 2 and by_path["rag"]["tokens_in"] > by_path["prompt"]["tokens_in"]
    import csv

    assert len(list(csv.DictReader(out.open(newline="")))) == 6 and (tmp_path / "run-summary.csv").exists()
    runs = cli("runs")["runs"]
    assert runs[0]["run_id"] == doc["run_id"] and runs[0]["manifest"]["collection_hash"]


def test_command_line_errors_are_clear_json():
    out = subprocess.run([sys.executable, "-m", "lab", "ask", "Q?", "--collection", "nope-missing", "--json"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 2
    assert "ingest documents into it first" in json.loads(out.stdout)["error"]
