"""What the pages show is worded for people: no dataclass reprs or internal keys, and a search with
an empty query says so instead of doing nothing."""

import re
from dataclasses import asdict
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lab.config import ChunkConfig

REPO = Path(__file__).resolve().parent.parent
REPR = re.compile(r"\b[A-Z]\w*(Config|Table|Inputs|Settings|Info|Report)\(")  # ChunkConfig(size=256, ...)


def shown(at: AppTest) -> list[str]:
    """Every text a viewer reads on the page: markdown, captions, alerts, titles, headers."""
    kinds = ("markdown", "caption", "info", "warning", "error", "success", "title", "header", "subheader")
    return [str(e.value) for kind in kinds for e in getattr(at, kind)]


def test_chunking_reads_as_words():
    from lab.index.store import CollectionInfo

    assert ChunkConfig(256, 32).text == "chunks of 256 tokens, 32 overlap"
    assert CollectionInfo("c", 3, "e", ChunkConfig(512, 64)).chunking == "chunks of 512 tokens, 64 overlap"
    assert CollectionInfo("c", 3, "e", None).chunking == "chunking not recorded"


def test_leakage_thresholds_read_as_words():
    from lab.experiments.leakage import LeakageReport

    text = LeakageReport("train.jsonl", 10, 5).thresholds_text
    assert text.startswith("word 5-gram containment >= 0.5") and "{" not in text and "ngram_n" not in text


def corpus_page(collection: str) -> AppTest:
    at = AppTest.from_file(str(REPO / "pages/corpus.py"), default_timeout=120)
    at.session_state["collection"] = collection
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.mark.usefixtures("show_error_details")
def test_corpus_page_words_the_chunking(fake_app):
    at = corpus_page(fake_app)
    assert any("chunks of 256 tokens, 32 overlap" in c.value for c in at.caption)
    assert not [t for t in shown(at) if REPR.search(t)], "a dataclass repr is shown"


@pytest.mark.usefixtures("show_error_details")
def test_an_empty_search_says_to_type_a_query(fake_app):
    at = corpus_page(fake_app)
    at.button(key="search").click().run()  # the query box is empty
    assert not at.exception, [e.value for e in at.exception]
    assert [w.value for w in at.warning] == ["Type a query first: the search box is empty."]
    assert "search_results" not in at.session_state


def test_no_page_formats_a_config_object_into_text():
    """An f-string that interpolates a config object shows its repr ("chunking ChunkConfig(size=256, ...)")."""
    pattern = re.compile(r"\{[\w.]*(chunk_config|[a-z_]*config|thresholds|manifest)(\)|!r)?\}")
    offenders = [f"{p.relative_to(REPO)}:{n}" for p in sorted((REPO / "pages").rglob("*.py"))
                 for n, line in enumerate(p.read_text().splitlines(), 1) if pattern.search(line)]
    assert offenders == []


def test_brief_setup_and_results_comparability_are_worded(tmp_path, monkeypatch):
    from lab.decision.report import brief_for_run
    from lab.experiments.run_store import RunStore
    from tests.test_report import synthetic_run

    monkeypatch.setenv("LAB_DATA_DIR", str(tmp_path / "data"))
    runs = RunStore()
    extra = {"chunk_config": asdict(ChunkConfig()), "retrieval": {"rrf_k": 60, "candidates": 20, "reranker": None}}
    run_id = synthetic_run(runs, ("prompt", "rag"), n=4, **extra)
    html = brief_for_run(runs.get(run_id), runs.answers(run_id))
    assert "<td>chunking</td><td>chunks of 256 tokens, 32 overlap</td>" in html
    assert "<td>decoding</td><td>max new tokens 8, temperature 0.0</td>" in html
    assert "<td>retrieval</td><td>candidates 20, reranker none, rrf k 60</td>" in html
    assert "{&#x27;" not in html, "a dict repr in the brief"
    synthetic_run(runs, ("prompt", "rag"), n=4, **{**extra, "chunk_config": asdict(ChunkConfig(512, 64))})
    at = AppTest.from_file(str(REPO / "pages/results.py"), default_timeout=120)
    at.run()
    at.selectbox(key="results_other").select_index(1).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.error[0].value == "Not comparable as-is: these settings differ: chunking"
    assert any(c.startswith("mean accuracy (alias match) difference") for d in at.dataframe for c in d.value.columns)
