"""The benchmark's plumbing on small inputs (speed itself is claimed by `python -m lab bench`, never here)."""

import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from lab.bench.figure import Figure, figure, meets, paired_p50_ms
from lab.bench.suite import FIGURES, summary_lines
from lab.bench.corpus import bench_bm25, corpus_rows, synthetic_collection
from lab.bench.children import REFERENCE_BATCH, AppData, compare_command, peak_rss_mb, run_measured
from lab.bench.peer import retrieval_quality

REPO = Path(__file__).resolve().parent.parent


def test_meets_reads_the_target_operator():
    assert meets(0.8, ">= 0.8") and not meets(0.79, ">= 0.8")
    assert meets(0.1, "<= 0.1") and not meets(0.1001, "<= 0.1")
    assert meets(4095, "< 4096") and not meets(4096, "< 4096") and meets(5, "> 4") and not meets(4, "> 4")
    assert meets(1.5, " <=1.5 ") and meets(1.49, "<=  1.5")  # spacing is not part of the target
    assert meets(None, ">= 1") is None and meets(1.0, "reported") is None and meets(1.0, "== 1") is None


def test_the_comparison_reference_runs_as_today_and_the_default_with_the_labs_defaults(tmp_path):
    """The reference child runs fixed batches of 8 questions, one path a batch (the default batch size changed
    under it once and flattered the ratio); the default child gets no batching options of its own."""
    app = AppData(tmp_path, {}, "sample", str(tmp_path / "adapter"))
    reference, default = compare_command(app, "transformers", 0), compare_command(app, "bf16", 20)
    assert REFERENCE_BATCH == 8
    assert reference[reference.index("--batch-size") + 1] == "8" and "--no-continuous" in reference
    assert "--batch-size" not in default and "--no-continuous" not in default
    assert default[default.index("--backend") + 1] == "bf16" and default[default.index("--limit") + 1] == "20"
    assert "--limit" not in reference and reference[reference.index("--backend") + 1] == "transformers"


def test_figure_is_lab_over_baseline_checked_against_its_target():
    f = figure("x", 2.0, 4.0, "ms", "<= 1.5", queries=3)
    assert (f.lab, f.baseline, f.ratio, f.met, f.detail) == (2.0, 4.0, 0.5, True, {"queries": 3})
    on_the_bound = figure("x", 6.0, 4.0, "ms", "<= 1.5")
    assert (on_the_bound.ratio, on_the_bound.met) == (1.5, True)
    assert figure("x", 6.1, 4.0, "ms", "<= 1.5").met is False and figure("x", 3.0, 1.0, "x", ">= 4").met is False
    assert figure("x", 1.0, 2.0, "s", "reported").met is None  # no target to meet: reported only
    no_baseline = figure("y", 1.0, 0.0, "ms", "<= 1.5")
    assert (no_baseline.ratio, no_baseline.met) == (None, None)  # never a division by zero, never "met"


def test_paired_p50_alternates_the_two_sides_on_every_query_and_takes_each_sides_median(monkeypatch):
    from lab.bench import figure as figure_module

    now, calls = [0.0], []

    def take(side, seconds):
        def call(q):
            calls.append((side, q))
            now[0] += seconds[q]
        return call

    monkeypatch.setattr(figure_module, "time", SimpleNamespace(perf_counter=lambda: now[0]))
    ours, theirs = paired_p50_ms(take("lab", {"a": 0.001, "b": 0.003, "c": 0.008}),
                                 take("base", {"a": 0.010, "b": 0.010, "c": 0.100}), ["a", "b", "c"], repeats=2)
    assert calls == [("lab", "a"), ("base", "a"), ("lab", "b"), ("base", "b"), ("lab", "c"), ("base", "c")] * 2
    assert (ours, theirs) == (pytest.approx(3.0), pytest.approx(10.0))  # medians in ms, not means (4.0, 40.0)


def test_bm25_figure_compares_against_rank_bm25_on_the_same_corpus():
    texts = [f"error HX-{i} means thing {i % 7} happened on port {7000 + i}" for i in range(200)]
    f = bench_bm25(texts, ["what does HX-12 mean", "port 7005"], repeats=1)
    assert isinstance(f, Figure) and f.name == "bm25" and f.ratio > 0 and f.unit == "ms/query"
    assert f.detail["chunks"] == 200 and f.met == (f.ratio <= 0.1)


class _Rows:
    def chunks(self, collection):
        return [{"text": f"Fact {i} is here. Another sentence {i}. Third one", "meta": {"source": f"d{i}.md"}}
                for i in range(3)]


def test_corpus_rows_pads_with_synthetic_sources_that_never_count_as_gold():
    texts, sources = corpus_rows(_Rows(), "c", 10)
    assert len(texts) == len(sources) == 10
    assert sources[:3] == ["d0.md", "d1.md", "d2.md"] and all(s.startswith("synthetic-") for s in sources[3:])
    assert corpus_rows(_Rows(), "c", 2) == (texts[:2], sources[:2])


def test_synthetic_collection_keeps_the_sources(store, fake_embedder):
    synthetic_collection(store, "bench-synthetic", ["alpha beta", "gamma delta"], ["a.md", "b.md"], fake_embedder,
                         synthetic_vectors=True)
    assert sorted(r["meta"]["source"] for r in store.chunks("bench-synthetic")) == ["a.md", "b.md"]


def test_summary_lines_show_every_figure_including_reported_ones():
    result = {"figures": [vars(figure("bm25", 0.2, 5.0, "ms/query", "<= 0.1")),
                          vars(Figure("comparison", 2100, None, "MB peak RSS", None, "< 4096", True))],
              "notes": ["first_render skipped"]}
    result["figures"] += [vars(figure("hybrid_1k", 3.0, 1.0, "ms", "<= 1.5")),
                          vars(Figure("first_render", 4.25, None, "s", None, "reported", None))]
    lines = summary_lines(result)
    assert len(lines) == 6 and lines[0].split() == ["figure", "lab", "baseline", "unit", "ratio", "target"]
    assert lines[1].split() == ["bm25", "0.2", "5", "ms/query", "0.04", "<=", "0.1", "(met)"]
    assert lines[2].split() == ["comparison", "2100", "-", "MB", "peak", "RSS", "-", "<", "4096", "(met)"]
    assert lines[3].split() == ["hybrid_1k", "3", "1", "ms", "3", "<=", "1.5", "(MISSED)"]
    assert lines[4].split() == ["first_render", "4.25", "-", "s", "-", "reported", "(reported)"]
    assert lines[5] == "note: first_render skipped"


def test_retrieval_quality_scores_the_first_k_sources():
    q = type("Q", (), {"question": "x", "sources": ["a.md", "b.md"]})
    none = type("Q", (), {"question": "y", "sources": []})
    assert retrieval_quality(lambda _: ["c.md", "a.md", "b.md"], [q, none], k=2) == \
        {"questions": 1, "hit_at_k": 1.0, "recall_at_k": 0.5}


def test_run_measured_reports_the_childs_own_peak_rss_and_exit_code():
    child = run_measured([sys.executable, "-c", "b = bytearray(300 << 20); print('ok')"], env=dict(os.environ))
    assert child.returncode == 0 and child.stdout.strip() == "ok" and child.wall_seconds > 0
    assert 300 <= child.peak_rss_mb < 1000
    small = run_measured([sys.executable, "-c", "import sys; sys.exit(3)"], env=dict(os.environ))
    assert small.returncode == 3 and small.peak_rss_mb < 300  # not the earlier, larger child's peak


def test_a_large_parent_does_not_count_in_its_childs_peak():
    """Linux carries the parent's high-water RSS into a child's `ru_maxrss` through fork and exec: a bench
    parent holding 9 GB reported every child at 9 GB. The child's own peak is what is measured."""
    ballast = b"x" * (800 << 20)  # touched pages: 800 MB resident in this (the parent) process
    small = run_measured([sys.executable, "-c", "print('ok')"], env=dict(os.environ))
    assert small.returncode == 0 and small.peak_rss_mb < 300, small.peak_rss_mb
    del ballast


def test_peak_rss_of_a_live_process():
    assert peak_rss_mb(os.getpid()) > 10
    assert peak_rss_mb(2 ** 22 + 12345) is None


def test_unknown_figures_are_refused_with_the_choices_before_anything_runs(tmp_path, capsys, monkeypatch):
    from lab.bench import suite
    from lab.cli import main

    monkeypatch.setattr(suite, "run", lambda **kw: pytest.fail(f"the bench ran: {kw}"))
    out = tmp_path / "bench.json"
    assert main(["bench", "--only", "bm25,nope,zzz", "--out", str(out), "--json"]) == 2
    error = json.loads(capsys.readouterr().out)["error"]
    assert error.startswith("Unknown figure(s) nope, zzz: choose from ")  # bm25 is known: not named
    assert error.split("choose from ", 1)[1].rstrip(".").split(", ") == list(FIGURES)
    assert not out.exists()


def test_langchain_adapter_wraps_the_same_embedder(fake_embedder):
    pytest.importorskip("langchain_core")
    from lab.bench.peer import langchain_embeddings

    emb = langchain_embeddings(fake_embedder)
    assert emb.embed_query("error HX-12") == fake_embedder.encode(["error HX-12"])[0].tolist()
    assert emb.embed_documents(["a b", "c"]) == fake_embedder.encode(["a b", "c"]).tolist()


def test_langchain_ensemble_reads_the_same_collection(store, fake_embedder, tmp_path):
    for module in ("langchain_chroma", "langchain_classic", "langchain_community"):
        pytest.importorskip(module)
    from lab.bench.peer import langchain_hybrid
    from lab.index.ingest import ingest

    for i in range(6):
        (tmp_path / f"doc{i}.md").write_text(f"# Doc {i}\n\nError HX-{i} means subsystem {i} failed to start.")
    ingest([tmp_path], "bench-peer", fake_embedder, store)
    docs = langchain_hybrid(store, "bench-peer", fake_embedder, k=2).invoke("What does HX-3 mean?")
    assert docs[0].metadata["source"] == "doc3.md" and len(docs) <= 4


@pytest.mark.slow
@pytest.mark.model  # the bench subprocess loads the real embedder
def test_quick_bench_of_the_retrieval_figures_end_to_end(tmp_path):
    out = tmp_path / "bench.json"
    done = subprocess.run([sys.executable, "-m", "lab", "bench", "--quick", "--only", "bm25,hybrid", "--out",
                           str(out), "--json"], cwd=REPO, capture_output=True, text=True, timeout=900,
                          env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(out.read_text())
    assert [f["name"] for f in result["figures"]] == ["bm25", "hybrid_1k"]
    assert {"cpus", "cpu_model", "ram_gb"} <= set(result["machine"]) and "chromadb" in result["versions"]
    assert all(f["lab"] > 0 and f["baseline"] > 0 and f["met"] in (True, False) for f in result["figures"])


def test_the_backend_agreement_reports_each_paths_accuracy_on_both_sides():
    """The per-path rows of `backend_agreement` (its worked example), so a five-path run's accuracy per path and
    backend is read from the benchmark rather than worked out from differences."""
    import doctest

    import lab.bench.children

    result = doctest.testmod(lab.bench.children)
    assert result.attempted and not result.failed


@pytest.mark.server
def test_the_endpoint_throughput_figure_runs_against_its_local_server():
    """The figure's shape (speed itself is claimed in `python -m lab bench`, not asserted here)."""
    from lab.bench.endpoint import bench_endpoint_throughput

    figure = bench_endpoint_throughput(requests=16, latency=0.02, capacity=4)
    assert figure.name == "endpoint_throughput" and figure.unit == "answers/s" and figure.baseline == 200.0
    assert figure.lab > 0 and figure.detail["one_at_a_time_per_s"] > 0 and figure.target == ">= 0.8"
