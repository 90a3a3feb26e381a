"""The golden-set builder (a UI helper, not a page): write a question and pick its gold passages from a search;
draft questions with a model (in the background) and accept, edit or reject each; coverage of the documents.
The work is in `lab.evaluation` (builder, drafting) and `lab.experiments.golden_sets`."""

from __future__ import annotations

import streamlit as st

from lab.display import as_text, marked
from lab.errors import LabError
from lab.experiments import golden_sets
from pages.ui import resources, state


def _write(golden, collection: str, target: str) -> None:
    from lab.evaluation.builder import written_question
    from lab.evaluation.golden import KINDS
    from lab.evaluation.retrieval import chunk_spans

    st.subheader("Write a question")
    left, right = st.columns([3, 2])
    question = left.text_input("Question", key="gb_question")
    answer = right.text_input("Gold answer (short)", key="gb_answer")
    a, b = st.columns([3, 1])
    query = a.text_input("Search the collection for its gold passage(s)", key="gb_query",
                         placeholder="defaults to the question")
    kind = b.selectbox("Kind", sorted(KINDS), index=sorted(KINDS).index("fact"), key="gb_kind")
    if st.button("Search", key="gb_search"):
        try:
            modes, _ = state.retrievers(collection)
            state.keep_for(collection, "gb_hits", modes["hybrid"].search((query or question).strip(), 8))
        except LabError as exc:
            st.error(str(exc))
    hits = state.kept_for(collection, "gb_hits", [])  # never the passages of the collection before a switch
    picked = []
    searched = (query or question).strip()
    for i, hit in enumerate(hits, 1):
        with st.container(border=True):  # the whole chunk, the query's words in bold: pick by what it says
            where = f", p. {hit.page}" if hit.page else (f", {hit.heading}" if hit.heading else "")
            if st.checkbox(f"[{i}] {as_text(hit.source + where, one_line=True)} (score {hit.score:.3f})",
                           key=f"gb_pick_{hit.id}"):
                picked.append(hit)
            st.markdown(marked(hit.text, searched))
    if st.button("Add the question", key="gb_add", disabled=not hits):
        try:
            taken = {q.id for q in golden.get(target).questions} if golden.exists(target) else set()
            q = written_question(question, answer, picked, chunk_spans(resources.store(), collection), taken, kind)
            saved = golden_sets.add_questions(golden, resources.store(), target, [q], collection, f"wrote {q.id}")
            st.success(f"Added {q.id} to {saved.label} with {len(q.passages)} gold passage(s).")
        except LabError as exc:
            st.error(str(exc))


def _start_drafting(golden, collection: str, target: str, n: int, use_endpoint: bool) -> None:
    settings = state.settings(collection)
    from lab.session import generators

    local, remote = generators(settings, resources.PageResources, ["prompt@endpoint" if use_endpoint else "prompt"])
    existing = golden.get(target).questions if golden.exists(target) else []
    job = golden_sets.draft_job(resources.store(), collection, remote if use_endpoint else local,
                                resources.embedder(), n, existing=existing)
    job.target = target
    resources.jobs()[job.id] = job.start()
    st.session_state["gb_draft_job"] = job.id


def _draft(golden, collection: str, target: str) -> None:
    st.subheader("Draft questions with a model")
    st.caption("Chunks are sampled across documents (every document before any gets a second), the model writes a "
               "question and copies its answer from the chunk; drafts whose answer is not in the chunk and "
               "near-duplicates are rejected. An OpenAI-compatible endpoint (Models page) drafts far better than "
               "the embedded 135M model. Drafted questions are easier for retrieval than written ones: results "
               "show both.")
    a, b = st.columns(2)
    n = a.number_input("Chunks to draft from", 1, 500, 20, key="gb_draft_n")
    endpoint = st.session_state.get("endpoint")
    use_endpoint = b.toggle(f"Use the endpoint ({endpoint['model']})" if endpoint else "Use the endpoint (none set)",
                            key="gb_draft_endpoint", disabled=not endpoint)
    if st.button("Draft questions", key="gb_draft_start"):
        try:
            _start_drafting(golden, collection, target, int(n), bool(use_endpoint and endpoint))
        except LabError as exc:
            st.error(str(exc))

    @st.fragment(run_every=2)
    def progress():
        job = resources.jobs().get(st.session_state.get("gb_draft_job"))
        if job is None:
            return
        p = job.progress
        st.progress(p.fraction, text=f"{job.state}: {p.message}")
        if job.running:
            st.button("Cancel drafting", key="gb_draft_cancel", on_click=job.cancel)
        elif job.state == "done" and not getattr(job, "saved", False):
            golden_sets.save_pending(golden, job.target, job.drafts)
            job.saved = True
            st.success(f"{len(job.survivors)} of {len(job.drafts)} drafts passed the checks: review them below.")
            st.rerun(scope="app")
        elif job.error:
            st.error(as_text(job.error))

    progress()


def _review(golden, collection: str, target: str) -> None:
    waiting = golden_sets.pending(golden, target)
    st.subheader(f"Review drafts ({len(waiting)} pending)")
    decisions = {}
    for d in waiting:
        with st.expander(f"{d.id} - {as_text(d.source, one_line=True)}: {as_text(d.question, one_line=True)}"):
            st.code(d.chunk_text, language=None, wrap_lines=True)
            q = st.text_input("Question", value=d.question, key=f"gb_rq_{d.id}")
            a = st.text_input("Answer", value=d.answer, key=f"gb_ra_{d.id}")
            verdict = st.radio("Decision", ["later", "accept", "reject"], horizontal=True, key=f"gb_rv_{d.id}")
            decisions[d.id] = (verdict, q, a)
    if waiting and st.button("Apply the decisions", key="gb_review_apply", type="primary"):
        accept = {i: (q, a) for i, (v, q, a) in decisions.items() if v == "accept"}
        reject = [i for i, (v, _, _) in decisions.items() if v == "reject"]
        try:
            saved = golden_sets.review(golden, resources.store(), target, accept, reject, collection)
            st.success(f"{len(accept)} accepted, {len(reject)} rejected" + (f": {saved.label}" if saved else "."))
        except LabError as exc:
            st.error(str(exc))


def _coverage(golden, collection: str, target: str) -> None:
    from lab.evaluation.builder import coverage

    st.subheader("Coverage")
    if not golden.exists(target):
        st.caption("No questions yet.")
        return
    rows = coverage(golden.get(target).questions, set(resources.store().source_hashes(collection)))
    covered = sum(1 for r in rows if r.in_collection and r.questions)
    st.caption(f"{covered} of {sum(r.in_collection for r in rows)} documents of {collection} have questions.")
    st.dataframe([{"document": r.document, "questions": r.questions, "with gold passage": r.with_passages,
                   **{f"kind: {k}": v for k, v in r.kinds.items()}, **{f"{k}": v for k, v in r.provenance.items()},
                   "in collection": r.in_collection} for r in rows], hide_index=True, key="gb_coverage")


def draw(golden, collection: str) -> None:
    st.header(f"Build a golden set for {collection}")
    from lab.evaluation.golden_store import SAMPLE_SET

    default = f"{SAMPLE_SET}-mine" if collection == SAMPLE_SET else collection  # the shipped set is not edited
    target = st.text_input("Golden set to add to", value=default, key=f"gb_target_{collection}",
                           help="Follows the active collection; the built-in sample set cannot be changed.").strip()
    if not target:
        st.info("Name the golden set.")
        return
    _write(golden, collection, target)
    _draft(golden, collection, target)
    _review(golden, collection, target)
    _coverage(golden, collection, target)
