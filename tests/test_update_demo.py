"""The knowledge-update demo: before/after plumbing with fakes, undo, the background job, and real retrieval."""

import json
import time

import pytest

from lab.experiments import update_demo
from lab.errors import InputError
from lab.experiments.answer_paths import PathContext
from lab.index.retrieval import retrievers_for
from lab.experiments.update_demo import UpdateQuestion

QUESTIONS = [UpdateQuestion("p", "What does the Team plan cost per user per month?", "$15", "$14"),
             UpdateQuestion("r", "What is the default snapshot retention?", "60 days", "45 days")]


class EchoGenerator:
    """Answers with the passages it was given (so a RAG answer states what it retrieved)."""

    name = "echo"

    def generate(self, conversations, decoding, adapter=None, **_):
        from lab.generation.models import Generation

        out = []
        for messages in conversations:
            user = messages[-1]["content"]
            passages = user.rsplit("Question:", 1)[0] if "source:" in user else "I do not know."
            out.append(Generation(passages, 10, 5, 0.001))
        return out


@pytest.fixture
def corpus(tmp_path, fake_embedder, store):
    from lab.index.ingest import ingest

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "pricing.md").write_text("# Pricing\n\nThe Team plan costs $14 per user per month.\n")
    (docs / "retention.md").write_text("# Retention\n\nThe default snapshot retention is 45 days.\n")
    (docs / "other.md").write_text("# Other\n\nThe office is in Dublin and opens at nine.\n")
    update = tmp_path / "update" / "notes-5.1.md"
    update.parent.mkdir()
    update.write_text("# 5.1\n\nThe Team plan now costs $15 per user per month.\n\n"
                      "The default snapshot retention is now 60 days.\n")
    name = f"t-upd-{tmp_path.name[-12:].strip('_')}"
    ingest([docs], name, fake_embedder, store)
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "manifest.json").write_text(json.dumps({"train_seconds": 876.5}))
    yield name, update, adapter
    store.delete(name)


def _ctx(store, name, embedder, adapter="ft"):
    modes = retrievers_for(store, name, embedder)
    return PathContext(EchoGenerator(), modes["dense"], modes["hybrid"], k=2, adapter=adapter)


def test_rag_paths_pick_up_the_update_and_the_finetuned_path_does_not(corpus, store, fake_embedder):
    name, update, adapter = corpus
    ctx = _ctx(store, name, fake_embedder)
    result = update_demo.run_update_demo(name, [update], QUESTIONS, ctx, store, fake_embedder,
                                         paths=["prompt", "rag", "hybrid-rag", "finetuned"], adapter_dir=adapter)
    by_path = {s.path: s for s in result.summaries}
    for path in ("rag", "hybrid-rag"):
        assert by_path[path].new_before == 0.0 and by_path[path].old_before == 1.0
        assert by_path[path].new_after == 1.0 and by_path[path].update_retrieved == 1.0
    assert by_path["prompt"].new_after == 0.0 and by_path["prompt"].update_retrieved is None
    assert by_path["finetuned"].new_after == by_path["finetuned"].new_before == 0.0
    for q in QUESTIONS:
        assert result.answer(q.id, "finetuned", "before").text == result.answer(q.id, "finetuned", "after").text
        assert "notes-5.1.md" in result.answer(q.id, "rag", "after").sources
    assert result.update_sources == ["notes-5.1.md"] and result.chunks_added >= 1
    assert result.reindex_seconds > 0 and result.retrain_seconds == 876.5 and result.adapter == "ft"
    assert set(result.ask_seconds) == {"before", "after"}


def test_the_update_can_be_undone_and_is_not_added_twice(corpus, store, fake_embedder):
    name, update, _ = corpus
    before = store.fingerprint(name)
    ctx = _ctx(store, name, fake_embedder, adapter=None)
    update_demo.run_update_demo(name, [update], QUESTIONS, ctx, store, fake_embedder, paths=["rag"])
    assert "notes-5.1.md" in store.source_hashes(name)
    with pytest.raises(InputError, match="undo the update first"):
        update_demo.run_update_demo(name, [update], QUESTIONS, ctx, store, fake_embedder, paths=["rag"])
    assert update_demo.undo_update(store, name, ["notes-5.1.md"]) >= 1
    assert store.fingerprint(name) == before, "the collection is as it was"
    assert update_demo.undo_update(store, name, ["notes-5.1.md"]) == 0


def test_paths_that_cannot_run_report_errors_not_crashes(corpus, store, fake_embedder):
    name, update, _ = corpus
    ctx = _ctx(store, name, fake_embedder, adapter=None)
    result = update_demo.run_update_demo(name, [update], QUESTIONS, ctx, store, fake_embedder,
                                         paths=["finetuned"])
    assert result.summaries[0].errors == 4 and result.retrain_seconds is None
    assert "adapter" in result.answers[0].error


@pytest.mark.slow  # two demo runs in background threads
def test_the_background_job_reports_progress_and_the_result(corpus, store, fake_embedder):
    name, update, _ = corpus
    job = update_demo.UpdateDemoJob(name, [update], QUESTIONS, _ctx(store, name, fake_embedder), store,
                                    fake_embedder, paths=["prompt", "rag"]).start()
    job.wait(60)
    assert not job.running and job.error is None
    assert job.result.paths == ["prompt", "rag"] and job.progress.done == job.progress.total == 5
    failed = update_demo.UpdateDemoJob(name, [update], QUESTIONS, _ctx(store, name, fake_embedder), store,
                                       fake_embedder, paths=["rag"]).start()
    failed.wait(60)
    assert "already holds" in failed.error


def test_update_questions_need_the_answer_before_the_update():
    questions = update_demo.load_update_questions()
    assert len(questions) == 8 and questions[0].answer == "60 days" and questions[0].answer_before == "45 days"
    with pytest.raises(InputError, match="answer_before_update"):
        update_demo.parse_update_questions('{"id": "x", "question": "Q?", "answer": "A"}\n')
    assert update_demo.facts('{"answer": "It is 60 days now.", "sources": [], "confidence": "high"}',
                             questions[0]) == (True, False)


@pytest.mark.slow
def test_real_retrieval_finds_the_release_notes_after_the_update(sample_collection, store, real_embedder,
                                                                  fake_generator):
    """Real embedder and index (the generator is a fake): after the update the RAG paths retrieve 5.1's notes."""
    modes = retrievers_for(store, sample_collection, real_embedder)
    ctx = PathContext(fake_generator, modes["dense"], modes["hybrid"], k=4)
    questions = update_demo.load_update_questions()
    started = time.perf_counter()
    try:
        result = update_demo.run_update_demo(sample_collection, [update_demo.UPDATE_DOC], questions, ctx, store,
                                             real_embedder, paths=["rag", "hybrid-rag"])
    finally:
        update_demo.undo_update(store, sample_collection, [update_demo.UPDATE_DOC.name])
    assert update_demo.UPDATE_DOC.name not in store.source_hashes(sample_collection)
    name = update_demo.UPDATE_DOC.name
    assert not any(name in a.sources for a in result.answers if a.phase == "before")
    found = {path: {q.id for q in questions if name in result.answer(q.id, path, "after").sources}
             for path in ("rag", "hybrid-rag")}
    # Measured at k=4: dense finds the notes for 6 of 8 questions, hybrid for 4-5; retention (u01) and file size
    # (u04) lose to the older documents' dedicated chunks. The price and error-code questions rank them first.
    for path, ids in found.items():
        assert {"u02", "u05", "u06", "u08"} <= ids, (path, sorted(ids))
    assert {s.path: s.update_retrieved for s in result.summaries} == {p: len(found[p]) / 8 for p in found}
    assert 0 < result.reindex_seconds < time.perf_counter() - started


@pytest.mark.slow  # a background job polled through AppTest reruns
@pytest.mark.usefixtures("show_error_details")
def test_the_knowledge_update_tab_runs_in_the_background_shows_before_after_and_undoes(fake_app, store, tmp_path,
                                                                                      fake_embedder):
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    from lab.config import SAMPLE_DOCS
    from lab.index.ingest import ingest

    adapter = tmp_path / "ft"
    adapter.mkdir()
    (adapter / "manifest.json").write_text(json.dumps({"train_seconds": 876.5}))
    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "pages" / "compare.py"), default_timeout=120)
    at.session_state["collection"], at.session_state["adapter_dir"] = fake_app, str(adapter)
    at.run()
    at.multiselect(key="paths").set_value(["prompt", "rag", "finetuned"])
    at.button(key="update_start").click().run()  # the built-in update is about the sample corpus, not this one
    assert "does not hold" in at.error[0].value and "Give your edited document" in at.error[0].value
    assert update_demo.UPDATE_DOC.name not in store.source_hashes(fake_app)

    sample = "fake-sample"  # the sample's documents, embedded by the fake embedder
    if store.exists(sample):
        store.delete(sample)
    ingest([SAMPLE_DOCS], sample, fake_embedder, store)
    at.session_state["collection"] = sample
    at.run()
    at.button(key="update_start").click().run()
    assert not at.exception and not at.error, [e.value for e in at.exception or at.error]
    deadline = time.time() + 90
    while not any(m.label.startswith("Re-index") for m in at.metric) and time.time() < deadline:
        time.sleep(0.5)
        at.run()
    assert not at.exception and not at.error, [e.value for e in at.exception or at.error]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Retrain the adapter (measured at training)"] == "14.6 min"
    assert float(metrics["Re-index the update (measured now)"].split()[0]) >= 0
    summary = [d.value for d in at.dataframe if "new fact after" in d.value.columns][0]
    assert list(summary["path"]) == ["prompt", "rag", "finetuned"]
    answers = [d.value for d in at.dataframe if "rag after" in d.value.columns][0]
    assert len(answers) == 8 and "finetuned before" in answers.columns
    assert update_demo.UPDATE_DOC.name in store.source_hashes(sample)
    at.button(key="update_undo").click().run()
    assert any("Removed" in s.value for s in at.success)
    assert update_demo.UPDATE_DOC.name not in store.source_hashes(sample)

    # the affected questions from a stored golden set of this collection (sets without old answers are not offered)
    from lab.evaluation.golden import load_golden
    from lab.evaluation.golden_store import GoldenStore

    stored = load_golden(update_demo.UPDATE_QUESTIONS)[:2]
    GoldenStore().save("halyard-update", stored, collection=sample)
    GoldenStore().save("no-old-answers", [stored[0].__class__("x", "Q?", "A")], collection=sample)
    at.run()
    options = at.selectbox(key="update_questions_set").options
    assert options == ["(none)", "halyard-update@v1 (2 questions)"], options
    at.selectbox(key="update_questions_set").set_value(options[1]).run()
    at.button(key="update_start").click().run()
    deadline = time.time() + 90
    while not any(m.label.startswith("Re-index") for m in at.metric) and time.time() < deadline:
        time.sleep(0.5)
        at.run()
    assert not at.exception and not at.error, [e.value for e in at.exception or at.error]
    answers = [d.value for d in at.dataframe if "rag after" in d.value.columns][0]
    assert list(answers["id"]) == [q.id for q in stored]
    at.button(key="update_undo").click().run()


def test_the_built_in_update_applies_only_to_a_collection_holding_the_sample():
    from lab.config import SAMPLE_DOCS

    names = [p.name for p in SAMPLE_DOCS.iterdir() if p.is_file()]
    assert update_demo.sample_update_applies(names + ["notes.md"])
    assert update_demo.sample_update_applies(names[1:])  # one file skipped at ingest
    assert not update_demo.sample_update_applies(["GPL-3", "BSD", names[0]])


@pytest.mark.slow
@pytest.mark.model
def test_the_command_line_twin_runs_your_own_update_on_real_licence_texts_and_leaves_the_collection_as_it_was(
        tmp_path):
    """`python -m lab update-demo` on real documents the project did not write: the user's own edited document and
    the questions it affects; refused with what to do when either is missing; undone afterwards by default."""
    import os
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parent.parent
    env = {**os.environ, "LAB_DATA_DIR": str(tmp_path / "data"), "HF_HUB_OFFLINE": "1"}

    def lab(*args):
        done = subprocess.run([sys.executable, "-m", "lab", *args, "--json"], env=env, cwd=repo, capture_output=True,
                              text=True, timeout=900)
        assert "Traceback" not in done.stderr, done.stderr[-3000:]
        return done.returncode, json.loads(done.stdout)

    docs = tmp_path / "licences"
    docs.mkdir()
    for name in ("GPL-3", "Apache-2.0", "MPL-2.0"):
        shutil.copy(Path("/usr/share/common-licenses") / name, docs / f"{name}.txt")
    assert lab("ingest", str(docs), "--collection", "lic")[0] == 0
    chunks = lambda: next(c["chunks"] for c in lab("collections")[1]["collections"] if c["name"] == "lic")  # noqa: E731
    before = chunks()
    update = tmp_path / "apache-3-notice.md"
    update.write_text("# Apache License, Version 3.0\n\nThe Apache Software Foundation published the Apache License, "
                      "Version 3.0 in March 2031. It replaces the Apache License, Version 2.0 of January 2004.\n")
    questions = tmp_path / "affected.jsonl"
    questions.write_text("".join(json.dumps(q) + "\n" for q in [
        {"id": "version", "question": "Which version of the Apache License is the current one?", "answer": "3.0",
         "answer_before_update": "2.0"},
        {"id": "date", "question": "When was the current Apache License published?", "answer": "March 2031",
         "answer_before_update": "January 2004"}]))

    code, out = lab("update-demo", "--collection", "lic")  # the built-in update is about the sample corpus
    assert code == 2 and "does not hold" in out["error"] and "Give your edited document" in out["error"]
    code, out = lab("update-demo", "--collection", "lic", "--update", str(update))
    assert code == 2 and "Give the questions your document affects" in out["error"]

    code, out = lab("update-demo", "--collection", "lic", "--update", str(update), "--questions", str(questions),
                    "--paths", "prompt,rag", "--max-new-tokens", "12")
    assert code == 0, out
    summaries = {s["path"]: s for s in out["summaries"]}
    assert out["update_sources"] == ["apache-3-notice.md"] and out["chunks_added"] >= 1 and out["reindex_seconds"] > 0
    assert summaries["rag"]["update_retrieved"] == 1.0 and summaries["prompt"]["update_retrieved"] is None
    assert len(out["answers"]) == 2 * 2 * 2 and out["undone_chunks"] == out["chunks_added"]
    assert chunks() == before
    # the affected questions as a stored golden set of the collection (imported once, named in the command)
    assert lab("golden", "import", str(questions), "--name", "apache-update", "--collection", "lic")[0] == 0
    code, out = lab("update-demo", "--collection", "lic", "--update", str(update), "--questions", "apache-update",
                    "--paths", "rag", "--max-new-tokens", "4", "--keep")
    assert code == 0 and out["undone_chunks"] is None and chunks() == before + out["chunks_added"]
    assert [q["answer_before"] for q in out["questions"]] == ["2.0", "January 2004"]
    code, out = lab("update-demo", "--collection", "lic", "--update", str(update), "--questions", str(questions),
                    "--undo")
    assert code == 0 and out["removed_chunks"] >= 1 and chunks() == before


def test_an_edited_page_that_keeps_its_name_is_the_update_and_undo_puts_the_original_back(corpus, store,
                                                                                          fake_embedder, tmp_path):
    """The user edits pricing.md (same file name, new price): the demo takes it as the update, RAG answers the new
    price after, and Undo restores the original page's chunks exactly (the collection's fingerprint as before).
    The very same edited page again is refused until undone."""
    name, _, _ = corpus
    before = store.fingerprint(name)
    original = {c["id"]: c["text"] for c in store.chunks(name, source="pricing.md")}
    edited = tmp_path / "edited" / "pricing.md"
    edited.parent.mkdir()
    edited.write_text("# Pricing\n\nThe Team plan costs $15 per user per month.\n")
    ctx = _ctx(store, name, fake_embedder, adapter=None)
    update_demo.check_not_held(store, name, {"pricing.md": edited})  # other content: allowed
    result = update_demo.run_update_demo(name, [edited], QUESTIONS[:1], ctx, store, fake_embedder, paths=["rag"])
    assert result.update_sources == ["pricing.md"] and result.replaced == ["pricing.md"]
    assert "$15" in " ".join(c["text"] for c in store.chunks(name, source="pricing.md"))
    summary = {s.path: s for s in result.summaries}["rag"]
    assert summary.old_before == 1.0 and summary.new_after == 1.0
    with pytest.raises(InputError, match="undo the update first"):
        update_demo.check_not_held(store, name, {"pricing.md": edited})
    assert update_demo.undo_update(store, name, ["pricing.md"]) >= 1
    assert store.fingerprint(name) == before, "the original page is back, not just the edit removed"
    assert {c["id"]: c["text"] for c in store.chunks(name, source="pricing.md")} == original
    # a second Undo (a double click, the command line after the page) leaves the original page alone
    assert update_demo.undo_update(store, name, ["pricing.md"]) == 0 and store.fingerprint(name) == before
