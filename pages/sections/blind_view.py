"""Blind stakeholder mode on the Compare page (a UI helper, not a page): shuffled unlabeled answers, votes,
then the reveal. The logic (order, labels, what is hidden, storing votes) is in `lab.experiments.blind`."""

from __future__ import annotations

import uuid

import streamlit as st

from lab.display import as_text
from lab.errors import LabError
from lab.experiments import blind
from pages.ui import resources, state


def store_question(answers, question: str, chosen, ctx) -> tuple[str, str]:
    """Store one question's answers as a blind run (so votes have a run); returns (run id, question id)."""
    from lab.evaluation.golden import GoldenQuestion
    from lab.experiments.batch import manifest_for

    qid = chosen.id if chosen else blind.question_id(question)
    golden = GoldenQuestion(qid, question, chosen.answer if chosen else "", list(chosen.aliases) if chosen else [])
    manifest = manifest_for(ctx, state.active_collection(), "one question (blind mode)")
    return blind.store_answers(answers, golden, resources.run_store(), manifest, resources.embedder(),
                               fmt=ctx.answer_format), qid


def _step(ids: list[str], by: int) -> None:
    current = st.session_state.get("blind_question")
    position = ids.index(current) if current in ids else 0
    st.session_state["blind_question"] = ids[(position + by) % len(ids)]


def _batch_question() -> tuple[str | None, str | None]:
    """Pick a finished batch run and step through its questions."""
    runs = [r for r in resources.run_store().list()
            if r.status == "done" and not r.manifest.blind and len(r.manifest.paths) > 1]
    if not runs:
        st.info("No finished batch run with two or more paths yet: start one in the Golden set (batch) tab.")
        return None, None
    run_id = st.selectbox("Batch run", [r.run_id for r in runs], key="blind_run")
    questions = dict(blind.run_questions(resources.run_store().answers(run_id)))
    ids = list(questions)
    if st.session_state.get("blind_question") not in ids:
        st.session_state["blind_question"] = ids[0]
    back, pick, forward = st.columns([1, 6, 1], vertical_alignment="bottom")
    back.button("Previous", key="blind_prev", on_click=_step, args=(ids, -1))
    pick.selectbox("Question", ids, key="blind_question", format_func=lambda i: f"{i}: {questions[i]}")
    forward.button("Next", key="blind_next", on_click=_step, args=(ids, 1))
    return run_id, st.session_state["blind_question"]


def draw() -> None:
    """The blind view of the question just asked, or of a finished batch run's questions."""
    source = st.radio("Blind answers from", ["The question asked above", "A finished batch run"], horizontal=True,
                      key="blind_source")
    if source == "A finished batch run":
        run_id, qid = _batch_question()
    else:
        run_id, qid = st.session_state.get("blind_current", (None, None))
        if run_id is None:
            st.info("Ask a question: its answers appear here shuffled and unlabeled, for stakeholders to vote on.")
    if run_id and qid:
        try:
            show(run_id, qid)
        except LabError as exc:
            st.error(as_text(exc))


def show(run_id: str, qid: str) -> None:
    """Answers as "Answer A/B/...", a vote button each, then Reveal: which path each was and the tally."""
    runs = resources.run_store()
    answers = blind.blind_answers(runs.answers(run_id), run_id, qid)
    record = answers[0].record
    st.caption("Question")
    st.text(record.question)
    if record.gold:
        st.caption(f"Gold answer: {as_text(record.gold)}")
    revealed = f"{run_id}:{qid}" in st.session_state.setdefault("blind_revealed", set())
    name = "" if revealed else st.text_input("Your name (optional, stored with your vote)", key="blind_voter")
    voter = name.strip() or st.session_state.setdefault("blind_viewer", f"anonymous-{uuid.uuid4().hex[:8]}")
    chosen = runs.voted(run_id, qid, voter)
    if chosen and not revealed:
        letter = next(a.letter for a in answers if a.path == chosen)
        st.info(f"Your vote on this question: Answer {letter} (one vote per viewer per question).")
    for column, answer in zip(st.columns(len(answers)), answers):
        with column:
            st.subheader(f"Answer {answer.letter}" + (f": {answer.path}" if revealed else ""))
            if answer.error:
                st.error(f"Could not run: {as_text(answer.error)}" if revealed
                         else "This answer could not be produced.")
            else:
                st.code(answer.text or "(empty answer)", language=None, wrap_lines=True)
            vote_key = f"blind_vote_{run_id}_{qid}_{answer.letter}"
            if not revealed and not chosen and st.button(f"Vote for {answer.letter}", key=vote_key):
                if blind.vote(runs, run_id, qid, answer, voter):
                    st.rerun()  # shows the vote taken, and no more vote buttons for this viewer
                st.warning("You have voted on this question already (from another tab?).")
            if revealed:
                for i, chunk in enumerate(answer.record.chunks, 1):
                    source = as_text(chunk.source, one_line=True)
                    with st.expander(f"[{i}] {source} - score {chunk.score:.3f}"):
                        st.code(chunk.text, language=None, wrap_lines=True)
    question_votes = runs.votes(run_id, qid)
    if not revealed:
        st.caption(f"{sum(question_votes.values())} vote(s) on this question so far. Retrieved chunks, citations and "
                   "answer formats are hidden until the reveal.")
        if st.button("Reveal", key=f"blind_reveal_{run_id}_{qid}", type="primary"):
            st.session_state["blind_revealed"].add(f"{run_id}:{qid}")
            st.rerun()
    else:
        st.dataframe(blind.reveal(answers, question_votes, runs.votes(run_id)), hide_index=True,
                     key=f"blind_tally_{run_id}_{qid}")
        st.caption("Votes are stored with the run; the Results page counts them next to the metrics.")
