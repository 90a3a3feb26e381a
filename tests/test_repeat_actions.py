"""Actions done twice, through the frame and a page together (sign-in gate and sidebar drawn first, as app.py
does), on a data directory that already holds a collection: a widget-owned session key must never be written
after its widget is drawn. (AppTest's switch_page runs a page file alone, without app.py's frame, so the
harness below runs the frame and then the page, in app.py's order.)"""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

pytestmark = pytest.mark.usefixtures("show_error_details")
REPO = Path(__file__).resolve().parent.parent


FRAMED = """
import runpy
import streamlit as st
from pages.ui.frame import login_gate, sidebar

login_gate()
sidebar()
runpy.run_path(st.session_state["_test_page"], run_name="__main__")
"""


def _app(page: str) -> AppTest:
    at = AppTest.from_string(FRAMED, default_timeout=120)
    at.session_state["_test_page"] = str(REPO / page)
    at.session_state["lab_framed"] = True
    at.run()
    _clean(at)
    return at


def _go(at: AppTest, page: str) -> AppTest:
    at.session_state["_test_page"] = str(REPO / page)
    return at.run()


def _clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def test_ingesting_twice_into_an_existing_data_directory_keeps_the_page(fake_app, store):
    at = _app("pages/corpus.py")
    at.radio(key="corpus_target").set_value("new").run()
    at.text_input(key="corpus_collection").set_value("again").run()
    for attempt in range(2):
        at.button(key="ingest").click().run()
        _clean(at)
        assert not at.error, [e.value for e in at.error]
        assert at.sidebar.selectbox(key="collection").value == "again", attempt
    metrics = {m.label: m.value for m in at.metric}
    assert int(metrics["Unchanged (skipped)"]) > 0 and int(metrics["Chunks written"]) == 0  # the second time
    store.delete("again")


def test_renaming_and_deleting_the_active_collection_keeps_the_page(fake_app, store, fake_embedder, tmp_path):
    from lab.index.ingest import ingest

    (tmp_path / "other.md").write_text("# Other\n\nAnother collection stays after the delete.\n")
    ingest([tmp_path / "other.md"], "keep-app", fake_embedder, store)
    at = _app("pages/corpus.py")
    at.sidebar.selectbox(key="collection").set_value(fake_app).run()
    at.text_input(key="rename_to").set_value("renamed-app").run()
    at.button(key="rename").click().run()
    _clean(at)
    assert at.sidebar.selectbox(key="collection").value == "renamed-app"
    assert at.button(key="ingest").label == "Ingest into renamed-app"  # uploads go where the user looks
    at.checkbox(key="delete_confirm").check().run()
    at.button(key="delete").click().run()
    _clean(at)
    assert "renamed-app" not in store.names()
    assert at.sidebar.selectbox(key="collection").value in store.names()
    assert not at.checkbox(key="delete_confirm").value  # the next collection needs its own confirmation
    store.delete("keep-app")


def test_the_sidebar_shows_the_loaded_adapter_and_the_models_page_agrees(fake_app, tmp_path):
    at = _app("pages/models.py")
    if "adapter_pick" in [s.key for s in at.selectbox]:  # adapters from other tests are listed: type a folder
        at.selectbox(key="adapter_pick").set_value("(type a folder)").run()
    at.text_input(key="adapter_folder").set_value(str(tmp_path / "my-adapter")).run()
    at.button(key="load_adapter").click().run()
    _clean(at)
    assert any("my-adapter" in c.value for c in at.sidebar.caption)
    assert any("adapter: " + str(tmp_path / "my-adapter") in c.value for c in at.caption)


def test_the_compare_page_keeps_the_chosen_paths_when_the_user_comes_back(fake_app):
    at = _app("pages/compare.py")
    at.multiselect(key="paths").set_value(["prompt"]).run()
    at.number_input(key="k").set_value(2).run()
    _go(at, "pages/corpus.py")
    _go(at, "pages/compare.py")
    _clean(at)
    assert at.multiselect(key="paths").value == ["prompt"] and at.number_input(key="k").value == 2


def test_pressing_start_batch_run_twice_starts_one_run(fake_app, monkeypatch):
    import time

    from lab.experiments.run_store import RunStore
    from pages.ui import resources

    fast = resources.generator()

    class Slow:
        name = "slow-fake"

        def generate(self, conversations, decoding, adapter=None, **_):
            time.sleep(0.5)
            return fast.generate(conversations, decoding, adapter=adapter)

        def load_adapter(self, folder):
            return fast.load_adapter(folder)

    monkeypatch.setattr(resources, "generator", lambda name=None, backend="transformers": Slow())
    before = {r.run_id for r in RunStore().list()}
    at = _app("pages/compare.py")
    at.multiselect(key="paths").set_value(["prompt"]).run()
    at.number_input(key="batch_limit").set_value(4).run()
    at.number_input(key="batch_size").set_value(1).run()
    at.button(key="batch_start").click().run()
    at.button(key="batch_start").click().run()  # the double click
    _clean(at)
    started = [r for r in RunStore().list() if r.run_id not in before]
    assert len(started) == 1, [r.run_id for r in started]
    job = resources.jobs()[started[0].run_id]
    job.cancel()
    job.wait(30)


def test_the_home_demo_twice_counts_the_collection_it_made(fake_app, store, monkeypatch):
    import lab.config
    from pages.ui import resources

    monkeypatch.setattr(lab.config, "DEFAULT_COLLECTION", "demo-journey")  # the page reads it at each run
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    at.session_state["collection"] = fake_app  # another collection is active when the demo starts
    at.run()
    before = int({m.label: m.value for m in at.metric}["Collections"])
    for _ in range(2):
        at.button(key="demo").click().run()
        _clean(at)
        metrics = {m.label: m.value for m in at.metric}
        assert int(metrics["Collections"]) == before + 1  # counted after the demo made it, not before
        # the one question through all five paths, the fine-tuned two with the sample's shipped adapter
        assert [h.value for h in at.subheader] == ["prompt", "rag", "hybrid-rag", "finetuned", "hybrid"]
        batch = resources.run_store().get(at.session_state["demo_batch"])
        assert batch.manifest.collection == "demo-journey"  # the demo's own collection, not the active one
        resources.jobs()[batch.run_id].wait(60)  # the measured batch, beside the one question
        at.run()
        _clean(at)
        table = next(d.value for d in at.dataframe if "95% CI" in d.value.columns)
        assert list(table["path"]) == ["prompt", "rag", "hybrid-rag"] and table["95% CI"].str.startswith("[").all()
        assert any("separable" in c.value for c in at.caption)
    store.delete("demo-journey")


def test_a_link_to_another_page_outside_the_app_navigation_is_a_caption_not_a_crash():
    """A finished run links to Results; a page run on its own (no st.navigation) must still draw."""
    at = AppTest.from_string("from pages.ui.widgets import link_to\nlink_to('pages/results.py', 'See the results')")
    at.run()
    _clean(at)
    assert any("Results page" in c.value for c in at.caption)
