"""The Golden sets page and the golden-set selectors of Corpus and Compare (AppTest over fakes: fake embedder,
fake generator, a two-document collection)."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

pytestmark = pytest.mark.usefixtures("show_error_details")
REPO = Path(__file__).resolve().parent.parent


def run(path: str, **state) -> AppTest:
    at = AppTest.from_file(str(REPO / path), default_timeout=120)
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _wait(job_key, at):
    from pages.ui import resources

    job = resources.jobs()[at.session_state[job_key]]
    job.wait(60)
    return job


def test_import_write_draft_review_and_coverage(fake_app, tmp_path):
    from lab.evaluation.golden_store import GoldenStore

    golden = GoldenStore()
    if golden.exists(fake_app):
        golden.delete(fake_app)
    at = run("pages/golden.py", collection=fake_app)
    assert at.title[0].value == "Golden sets"
    # write a question and pick its gold passage from a search
    at.text_input(key="gb_question").set_value("How much is the Team plan?")
    at.text_input(key="gb_answer").set_value("$14 per user per month")
    at.button(key="gb_search").click().run()
    hit = at.session_state["gb_hits"][1][0]
    # each hit's whole chunk is shown, the query's words in bold (not a 160-character preview)
    assert any("**Team** **plan** costs $14 per user per month" in m.value.replace("\\", "") for m in at.markdown), \
        [m.value for m in at.markdown]
    at.checkbox(key=f"gb_pick_{[h for h in at.session_state['gb_hits'][1] if h.source == 'pricing.md'][0].id}").check()
    at.button(key="gb_add").click().run()
    assert not at.error, [e.value for e in at.error]
    saved = golden.get(fake_app)
    assert saved.version == 1 and saved.questions[0].provenance == "written"
    assert saved.questions[0].passages[0].source == "pricing.md" and saved.questions[0].passages[0].start == 0
    assert hit is not None
    # draft with the (fake) local model: its replies are no questions, so every draft is rejected and none waits
    at.number_input(key="gb_draft_n").set_value(2)
    at.button(key="gb_draft_start").click().run()
    job = _wait("gb_draft_job", at)
    assert job.state == "done" and len(job.drafts) == 2 and not job.survivors
    at.run()
    assert not at.exception
    assert any("1 of 2 documents" in c.value for c in at.caption)  # coverage


def test_the_stored_sets_table_lists_the_sample_set(fake_app):
    at = run("pages/golden.py", collection=fake_app)
    assert "sample" in at.selectbox(key="golden_export_name").options  # (AppTest cannot upload files: the
    assert at.get("download_button")  # CSV import itself is tested in test_golden_sets.py)


def test_corpus_evaluation_says_when_the_set_belongs_to_another_corpus(fake_app):
    from lab.evaluation.golden import GoldenQuestion
    from lab.evaluation.golden_store import GoldenStore

    GoldenStore().save("fake-app-set", [GoldenQuestion("a", "How much is the Team plan?", "$14", [], ["pricing.md"])],
                       fake_app)
    at = run("pages/corpus.py", collection=fake_app)
    labels = at.selectbox(key="eval_golden").options
    assert any(o.startswith("fake-app-set@v1") for o in labels) and any(o.startswith("sample@v1") for o in labels)
    assert at.selectbox(key="eval_golden").value.endswith(f"collection {fake_app})"), "a set of this collection first"
    at.selectbox(key="eval_golden").select(next(o for o in labels if o.startswith("fake-app-set@v1"))).run()
    at.button(key="retrieval_eval").click().run()
    assert not at.error and at.get("plotly_chart")
    at.selectbox(key="eval_golden").select(next(o for o in labels if o.startswith("sample@"))).run()
    at.button(key="retrieval_eval").click().run()
    assert "made for another corpus" in at.error[0].value and not at.get("plotly_chart")


def test_compare_picker_lists_any_golden_set(fake_app):
    at = run("pages/compare.py", collection=fake_app)
    assert at.selectbox(key="golden_pick_set").value.endswith(f"collection {fake_app})")
    assert any("Team plan" in o for o in at.selectbox(key="golden_pick").options)


def test_a_golden_set_chosen_for_one_collection_does_not_carry_over_a_switch(fake_app, fake_embedder, store,
                                                                            tmp_path):
    """The batch tab's set was chosen while one collection was active; after a switch to another, the picker starts
    again from a set of the collection now in view (a run never takes the old choice silently)."""
    from lab.evaluation.golden import GoldenQuestion
    from lab.evaluation.golden_store import GoldenStore
    from lab.index.ingest import ingest

    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.md").write_text("# Notes\n\nThe office opens at nine.\n")
    ingest([other], "fake-other", fake_embedder, store)
    GoldenStore().save("other-set", [GoldenQuestion("o1", "When does the office open?", "nine")], "fake-other")
    at = run("pages/compare.py", collection=fake_app)
    stale = next(o for o in at.selectbox(key="batch_golden").options if o.startswith("other-set@"))
    at.selectbox(key="batch_golden").set_value(stale).run()
    at.session_state["collection"] = "sample"
    at.run()
    assert at.selectbox(key="batch_golden").value.startswith("sample@"), at.selectbox(key="batch_golden").value
    store.delete("fake-other")
