"""The Compare page's knowledge-update demo (a UI helper, not a page): add a document that changes facts,
re-ask the affected questions in the background, show before/after per path with timings, undo.
The work is in `lab.experiments.update_demo`."""

from __future__ import annotations

import streamlit as st

from lab.corpus.parsing import SUPPORTED
from lab.display import as_text, count
from lab.errors import LabError
from lab.experiments import update_demo
from pages.ui import resources, state


def _update_sets(collection: str) -> dict[str, object]:
    """Stored golden sets of this collection whose every question carries answer_before_update, by label."""
    from lab.evaluation.golden_store import GoldenStore

    store, found = GoldenStore(), {}
    for info in store.list():
        if info.collection == collection:
            chosen = store.get(info.name)
            if chosen.questions and all(q.answer_before_update for q in chosen.questions):
                found[f"{chosen.label} ({count(len(chosen.questions), 'question')})"] = chosen
    return found


def _start(collection: str, paths: list[str], k: int, max_new: int, doc, questions_file, stored=None) -> str:
    from lab.config import DecodingConfig, RetrievalConfig
    from lab.corpus.uploads import save_upload

    if not paths:
        raise LabError("Choose at least one path.")
    questions = update_demo.parse_update_questions(questions_file.getvalue().decode("utf-8", "replace"),
                                                   questions_file.name) if questions_file else \
        update_demo.update_questions(stored.questions, stored.label) if stored is not None else None
    names = None
    if doc is not None:
        upload, name = save_upload(doc.name, doc.getvalue())
        names = {upload: name}
    files, questions = update_demo.choose_update(resources.store().source_hashes(collection),
                                                 list(names) if names else None, questions)
    sources = [names[f] if names else f.name for f in files]
    update_demo.check_not_held(resources.store(), collection, dict(zip(sources, files)))
    ctx = state.path_context(paths, collection, RetrievalConfig(k=k), DecodingConfig(max_new_tokens=max_new))
    from lab.session import collection_embedder

    embedder = collection_embedder(resources.store(), collection, resources.PageResources)
    job = update_demo.UpdateDemoJob(collection, files, questions, ctx, resources.store(), embedder,
                                    paths=paths, adapter_dir=st.session_state.get("adapter_dir"), names=names)
    resources.jobs()[job.id] = job.start()
    return job.id


def _undo(collection: str, sources: list[str], key: str) -> None:
    if st.button(f"Undo the update ({as_text(', '.join(sources), one_line=True)} in {collection})", key=key,
                 help="Removes the update's chunks; a page it replaced gets its original chunks back."):
        try:
            removed = update_demo.undo_update(resources.store(), collection, sources)
        except LabError as exc:
            st.error(as_text(exc))
            return
        state.done(f"Removed {count(removed, 'chunk')}: {collection} is as it was before the demo.", "update_undo")


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


def show_result(result: update_demo.UpdateDemoResult) -> None:
    a, b, c = st.columns(3)
    a.metric("Re-index the update (measured now)", f"{result.reindex_seconds:.1f} s",
             help=f"{result.chunks_added} chunks of {as_text(', '.join(result.update_sources))} parsed, embedded "
                  "and written")
    if result.retrain_seconds:
        b.metric("Retrain the adapter (measured at training)", f"{result.retrain_seconds / 60:.1f} min",
                 help="train_seconds in the adapter's manifest: what teaching it the new facts would cost again")
        c.metric("Retraining takes", f"{result.retrain_seconds / max(result.reindex_seconds, 1e-9):,.0f}x longer")
    else:
        b.info("No adapter with a recorded training time is loaded: load or train one on the Models page to "
               "compare re-indexing with retraining.")
    st.caption(f"Asking took {result.ask_seconds['before']:.0f} s before and {result.ask_seconds['after']:.0f} s "
               f"after the update. New/old fact = the answer states the value after/before the update.")
    st.dataframe([{"path": s.path, "new fact before": _percent(s.new_before), "new fact after": _percent(s.new_after),
                   "old fact before": _percent(s.old_before), "old fact after": _percent(s.old_after),
                   "update retrieved": _percent(s.update_retrieved), "errors": s.errors} for s in result.summaries],
                 hide_index=True, key="update_summary")
    rows = []
    for q in result.questions:
        row = {"id": q.id, "question": q.question, "new answer": q.answer, "old answer": q.answer_before}
        for path in result.paths:
            for phase in ("before", "after"):
                got = result.answer(q.id, path, phase)
                mark = "" if got is None or got.error else "NEW " if got.new_fact else "OLD " if got.old_fact else ""
                row[f"{path} {phase}"] = "" if got is None else f"(not run: {got.error})" if got.error else \
                    mark + got.text
        rows.append(row)
    st.dataframe(rows, hide_index=True, key="update_answers")


def draw(paths: list[str], k: int, max_new: int) -> None:
    st.caption("Adds a document that changes facts (by default Halyard 5.1's release notes) to the active "
               "collection and asks the affected questions before and after. RAG paths read the index when asked, "
               "so they can pick up the new facts at once; the fine-tuned path answers from its weights, which keep "
               "the old facts until it is retrained.")
    collection = state.active_collection()
    if collection is None:
        st.info("No collection yet: ingest the sample corpus on the Corpus page first.")
        return
    left, right = st.columns(2)
    doc = left.file_uploader("Your edited document (optional)", type=[s.lstrip(".") for s in SUPPORTED],
                             key="update_doc", help=f"Default: {update_demo.UPDATE_DOC.name} from the sample corpus")
    questions_file = right.file_uploader("Affected questions (optional JSONL)", type=["jsonl"],
                                         key="update_questions_file",
                                         help="Golden-set lines with answer (new) and answer_before_update (old); "
                                              "default: sample_corpus/update/questions.jsonl")
    try:
        sets = _update_sets(collection)
    except LabError as exc:
        st.error(as_text(exc))
        sets = {}
    stored = None
    if sets:
        picked = right.selectbox("...or a stored golden set", ["(none)", *sets], key="update_questions_set",
                                 help="Sets of this collection whose questions all carry answer_before_update")
        stored = sets.get(picked)
    if st.button(f"Add the update to {collection} and re-ask", key="update_start", type="primary"):
        try:
            started = _start(collection, paths, k, max_new, doc, questions_file, stored)
            state.keep_for(collection, "update_job", started)
        except LabError as exc:
            st.error(as_text(exc))
    job = resources.jobs().get(state.kept_for(collection, "update_job"))  # the demo run on this collection only
    running = job is not None and job.running

    @st.fragment(run_every=2 if running else None)
    def follow():
        if job is None:
            return
        if job.running:
            p = job.progress
            st.progress(p.done / max(p.total, 1), text=f"{p.message} (step {p.done + 1} of {p.total})")
            return
        if running:  # it finished since the page was drawn: redraw it once, without polling
            st.rerun()
        if job.error:
            st.error(f"The demo stopped: {as_text(job.error)}")
        elif job.result:
            show_result(job.result)

    follow()
    applied = [] if running else update_demo.applied_sources(resources.store(), collection,
                                                              [update_demo.UPDATE_DOC.name])
    if applied:  # only while the update is in: an undone update offers no second Undo
        _undo(collection, applied, "update_undo")
    state.show_done("update_undo")
