"""One target for every ingest: the Corpus page writes where the sidebar points, shows it on the button, and asks
before it puts files from another source into a collection that holds documents or replaces a same-named document
that came from elsewhere. Replayed as a user did it: a data directory that already holds two corpora sharing a
file name (a real licence folder with the user's own faq.html, and the sample), a switch of the active collection,
a visit to Home, back to Corpus, one Ingest click."""

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lab.config import SAMPLE_DOCS
from tests.conftest import need_system_files

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("show_error_details")]
REPO = Path(__file__).resolve().parent.parent
LICENCES = Path("/usr/share/common-licenses")

FRAMED = """
import runpy
import streamlit as st
from pages.ui.frame import login_gate, sidebar

login_gate()
sidebar()
runpy.run_path(st.session_state["_test_page"], run_name="__main__")
"""


def _go(at: AppTest, page: str) -> AppTest:
    at.session_state["_test_page"] = str(REPO / page)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.fixture
def mine(fake_app, fake_embedder, store, tmp_path):
    """The user's collection: real licence texts plus their own faq.html (the sample has a faq.html too)."""
    from lab.index.ingest import ingest

    need_system_files({"base-files": LICENCES})
    folder = tmp_path / "user-docs"
    folder.mkdir()
    for name in ("Apache-2.0", "MPL-2.0", "BSD"):
        shutil.copy(LICENCES / name, folder / name)
    (folder / "faq.html").write_text("<html><body><h1>Our FAQ</h1>" + "".join(
        f"<h2>Question {i}</h2><p>Our own answer number {i}, about our own product's licence terms.</p>"
        for i in range(40)) + "</body></html>")
    if store.exists("mine"):
        store.delete("mine")
    ingest([folder], "mine", fake_embedder, store)
    yield "mine"
    store.delete("mine")


def test_a_switch_then_one_ingest_click_never_writes_the_sample_into_the_users_collection(mine, fake_app, store):
    before = store.source_details(mine)
    at = AppTest.from_string(FRAMED, default_timeout=180)
    at.session_state["lab_framed"] = True
    _go(at, "pages/corpus.py")
    at.sidebar.selectbox(key="collection").set_value(mine).run()
    _go(at, "pages/home.py")
    _go(at, "pages/corpus.py")
    assert at.radio(key="corpus_target").value == "active"
    assert at.button(key="ingest").label == f"Ingest into {mine}"  # the target, next to the button
    assert at.radio(key="corpus_source").value == "Sample corpus"
    at.button(key="ingest").click().run()
    warning = " ".join(w.value for w in at.warning).replace("\\", "")  # (Markdown escapes taken out)
    assert f"{mine} holds" in warning and "faq.html" in warning and "would be replaced" in warning
    assert store.source_details(mine) == before  # nothing written before the confirmation

    at.sidebar.selectbox(key="collection").set_value(fake_app).run()  # a switch drops the waiting ingest
    assert not [b for b in at.button if b.key == "ingest_confirm"]
    assert at.button(key="ingest").label == f"Ingest into {fake_app}"
    assert store.source_details(mine) == before

    at.sidebar.selectbox(key="collection").set_value(mine).run()
    at.button(key="ingest").click().run()
    at.button(key="ingest_confirm").click().run()
    assert not at.exception, [e.value for e in at.exception]
    after = store.source_details(mine)
    assert after["faq.html"]["origin"] == str(SAMPLE_DOCS.resolve())
    replaced = " ".join(i.value for i in at.info).replace("\\", "")
    assert f"faq.html: {before['faq.html']['chunks']} -> {after['faq.html']['chunks']} chunks (was from" in replaced
    assert {"Apache-2.0", "MPL-2.0", "BSD"} <= set(after)


def test_the_command_line_skips_a_same_named_file_from_elsewhere_unless_told(mine, store, fake_embedder, tmp_path):
    from lab.index.ingest import ingest

    before = store.source_details(mine)
    report = ingest([SAMPLE_DOCS / "faq.html"], mine, fake_embedder, store)
    assert report.documents == 0 and "came from" in report.skipped[0].reason
    assert store.source_details(mine) == before
    report = ingest([SAMPLE_DOCS / "faq.html"], mine, fake_embedder, store, replace_elsewhere=True)
    assert report.replaced and report.replaced[0].startswith("faq.html: ")
    # an edited file from its own folder is an ordinary update: replaced, no confirmation
    folder = Path(before["Apache-2.0"]["origin"])
    (folder / "Apache-2.0").write_text((folder / "Apache-2.0").read_text() + "\nEdited by the user.\n")
    report = ingest([folder], mine, fake_embedder, store)
    assert [r.split(":")[0] for r in report.replaced] == ["Apache-2.0"] and "was from" not in report.replaced[0]
