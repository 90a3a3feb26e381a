"""State that survives a refresh and a second tab: the active collection, the loaded adapter and the Decide
wizard's answers live in the URL, so a fresh session (F5, a new tab, a shared link) opens on them."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("show_error_details")]
REPO = Path(__file__).resolve().parent.parent

FRAMED = """
import runpy
import streamlit as st
from pages.ui.frame import login_gate, sidebar

login_gate()
sidebar()
runpy.run_path(st.session_state["_test_page"], run_name="__main__")
"""


def _fresh(page: str, **params) -> AppTest:
    at = AppTest.from_string(FRAMED, default_timeout=120)
    at.session_state["_test_page"] = str(REPO / page)
    at.session_state["lab_framed"] = True
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_a_refresh_keeps_the_active_collection_and_the_adapter(fake_app, fake_embedder, store, tmp_path):
    from lab.index.ingest import ingest

    (tmp_path / "other.md").write_text("# Other\n\nA second corpus.\n")
    ingest([tmp_path / "other.md"], "refresh-other", fake_embedder, store)
    at = _fresh("pages/home.py")
    at.sidebar.selectbox(key="collection").set_value("refresh-other").run()
    assert at.query_params["collection"] == ["refresh-other"] or at.query_params["collection"] == "refresh-other"
    # F5: a new session with the same URL opens on the same collection, not on the sample
    again = _fresh("pages/corpus.py", collection="refresh-other", adapter="/some/adapters/behaviour")
    assert again.sidebar.selectbox(key="collection").value == "refresh-other"
    assert again.button(key="ingest").label == "Ingest into refresh-other"
    assert any("Adapter: behaviour" in c.value for c in again.sidebar.caption)
    # a link naming a collection that is gone opens on one that exists
    gone = _fresh("pages/home.py", collection="no-such-collection")
    assert gone.sidebar.selectbox(key="collection").value in store.names()
    store.delete("refresh-other")


def test_a_refresh_keeps_the_wizards_answers(fake_app):
    at = _fresh("pages/decide.py")
    at.radio(key="decide_knowledge").set_value("Yes").run()
    at.checkbox(key="decide_citations").check().run()
    needs = at.query_params["needs"]
    assert "knowledge" in str(needs) and "citations" in str(needs)
    again = _fresh("pages/decide.py", needs="knowledge,citations")
    assert again.radio(key="decide_knowledge").value == "Yes" and again.checkbox(key="decide_citations").value


def test_the_wizard_starts_unanswered_and_a_refresh_keeps_an_explicit_no(fake_app):
    from lab.decision.decide import WizardAnswers

    at = _fresh("pages/decide.py")
    assert at.radio(key="decide_knowledge").value is None and at.radio(key="decide_behaviour").value is None
    assert at.session_state["decide_answers"] == WizardAnswers()
    at.radio(key="decide_knowledge").set_value("No").run()
    at.radio(key="decide_behaviour").set_value("No: a general improvement").run()
    assert at.session_state["decide_answers"] == WizardAnswers(knowledge=False, behaviour=False)
    assert "no-knowledge,no-behaviour" in str(at.query_params["needs"])
    again = _fresh("pages/decide.py", needs="no-knowledge,no-behaviour")
    assert again.radio(key="decide_knowledge").value == "No"
    assert again.radio(key="decide_behaviour").value == "No: a general improvement"
