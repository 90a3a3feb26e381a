"""Every page loads without an exception and its main action works (AppTest, real embedded models)."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lab.config import RetrievalConfig

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("show_error_details")]

TIMEOUT = 300
REPO = Path(__file__).resolve().parent.parent


def run(path: str, **state) -> AppTest:
    at = AppTest.from_file(str(REPO / path), default_timeout=TIMEOUT)
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_home_loads_and_runs_the_demo(sample_collection):
    at = run("app.py")
    assert at.title[0].value == "RAG vs Fine-Tuning Lab"
    at.button(key="demo").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    # the first question through all five paths, the fine-tuned two with the sample's shipped adapter
    assert [h.value for h in at.subheader] == ["prompt", "rag", "hybrid-rag", "finetuned", "hybrid"]
    assert any(m.label == "Chunks in collection" and int(m.value) > 0 for m in at.metric)
    from pages.ui import resources

    job = resources.jobs()[at.session_state["demo_batch"]]  # its batch of 8 is measured in the journeys
    job.cancel()
    job.wait(120)


@pytest.mark.model  # the page ingests with the real embedder
def test_corpus_page_ingests_the_sample_corpus_and_browses_it():
    at = run("pages/corpus.py")
    at.radio(key="corpus_target").set_value("new").run()
    at.text_input(key="corpus_collection").set_value("page-test")
    at.button(key="ingest").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    metrics = {m.label: m.value for m in at.metric}
    assert int(metrics["Documents ingested"]) >= 25 and int(metrics["Chunks in collection"]) > 100
    assert at.selectbox(key="browse_source").options, "documents should be listed for browsing"
    table = [d.value for d in at.dataframe if "build seconds (measured)" in d.value.columns][0]
    assert table.set_index("collection").loc["page-test", "build seconds (measured)"] > 0


def test_corpus_page_reports_a_bad_upload_setting():
    at = run("pages/corpus.py")
    at.radio(key="corpus_source").set_value("Upload files").run()
    at.button(key="ingest").click().run()
    assert "Choose one or more files" in at.error[0].value


def test_compare_page_answers_side_by_side(sample_collection):
    at = run("pages/compare.py", collection=sample_collection)
    at.selectbox(key="golden_pick").select_index(1).run()
    at.button(key="ask").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert [h.value for h in at.subheader] == ["prompt", "rag", "hybrid-rag"]
    assert len(at.expander) == 2 * RetrievalConfig.k, "rag and hybrid-rag show their retrieved chunks"
    assert any(c.value.startswith("Gold answer:") for c in at.caption)


def test_compare_page_runs_a_golden_batch_in_the_background(sample_collection):
    import time

    at = run("pages/compare.py", collection=sample_collection)
    at.multiselect(key="paths").set_value(["prompt", "rag"])
    at.number_input(key="batch_limit").set_value(2)
    at.number_input(key="max_new_tokens").set_value(16)
    at.button(key="batch_start").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    run_id = at.session_state["batch_job"]
    from lab.experiments.run_store import RunStore

    deadline = time.time() + 240
    while RunStore().get(run_id).status == "running" and time.time() < deadline:
        time.sleep(1)
    record = RunStore().get(run_id)
    assert record.status == "done" and record.done == 4
    results = run("pages/results.py")
    assert not results.error
    assert len(results.get("plotly_chart")) == 5
    assert any(b.label.startswith("Download per-question CSV") for b in results.get("download_button"))


def test_results_page_says_what_to_do_without_runs(tmp_path, monkeypatch):
    monkeypatch.setenv("LAB_DATA_DIR", str(tmp_path))
    at = run("pages/results.py")
    assert "No runs yet" in at.info[0].value


def test_compare_page_asks_for_a_question():
    at = run("pages/compare.py")
    at.button(key="ask").click().run()
    assert "Type a question" in at.error[0].value


def test_corpus_search_playground_and_retrieval_evaluation(sample_collection):
    at = run("pages/corpus.py", collection=sample_collection)
    at.text_input(key="search_query").set_value("What does HX-3021 mean?")
    at.button(key="search").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert [h.value for h in at.subheader] == ["dense", "bm25", "hybrid"]
    assert "no cross-encoder loaded" in at.info[0].value
    at.button(key="retrieval_eval").click().run()
    assert not at.exception and not at.error
    assert at.get("plotly_chart"), "the retrieval chart is drawn"


def test_corpus_page_renames_and_deletes_a_collection(fake_embedder, store, tmp_path):
    from lab.index.ingest import ingest

    (tmp_path / "a.md").write_text("A small document.")
    ingest([tmp_path], "t-manage", fake_embedder, store)
    at = run("pages/corpus.py", collection="t-manage")
    at.text_input(key="rename_to").set_value("t-managed")
    at.button(key="rename").click().run()
    assert not at.exception and store.exists("t-managed") and not store.exists("t-manage")
    at.checkbox(key="delete_confirm").check().run()
    at.button(key="delete").click().run()
    assert not at.exception and not store.exists("t-managed")
