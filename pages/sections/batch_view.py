"""The Compare page's batch tab (a UI helper, not a page): a stored or uploaded golden set through the chosen paths
as a background run, the leakage check before it, and the progress of every run still going (found in the run
store, so a refresh, another tab or the command line finds them again). Work: `lab.session.compare_job`."""

from __future__ import annotations

import streamlit as st

from lab.config import BatchConfig, DecodingConfig, RetrievalConfig
from lab.display import as_text
from lab.errors import LabError
from lab.evaluation.golden import parse_golden
from pages.sections import decision_view, golden_picker, leakage_view
from pages.ui import resources, state, widgets


def draw(paths: list[str], k: int, max_new: int, context: bool) -> None:
    source = st.radio("Questions", ["A stored golden set", "Upload a golden set (JSONL)"], horizontal=True,
                      key="batch_source")
    batch_set = golden_picker.pick("batch_golden", st.session_state.get("collection")) \
        if source == "A stored golden set" else None
    upload = st.file_uploader("Golden set", type=["jsonl"], key="batch_upload") if source != "A stored golden set" \
        else None
    a, b = st.columns(2)
    limit = a.number_input("Questions (0 = all)", 0, 10_000, BatchConfig.limit, key="batch_limit")
    batch_size = b.number_input("Questions per stored batch", 1, 64, BatchConfig.batch_size, key="batch_size",
                                help="Answers are stored as each batch of questions is done (a cancel keeps them); "
                                     "within a batch, answers decode together and leave as each is finished.")
    try:  # the leakage check needs the questions before the run starts
        listed = parse_golden(upload.getvalue().decode("utf-8", "replace"), upload.name) if upload is not None \
            else batch_set.questions if batch_set is not None else None
    except LabError:
        listed = None  # reported when the run is started
    exclude, leak = leakage_view.batch_warning(paths, listed[: int(limit) or None] if listed else None)
    stop = decision_view.rule(paths)
    planning = decision_view.power(paths, len(listed[: int(limit) or None]) if listed else 0)
    if st.button("Estimate first (dry run)", key="batch_dry_run", disabled=not (listed and paths),
                 help="Tokens, cost and time per path (timed on a few answers) and the smallest difference these "
                      "questions can detect; nothing is stored."):
        _dry_run(paths, listed[: int(limit) or None], k, max_new, context, planning)
    if st.button("Start batch run", key="batch_start", type="primary"):
        try:
            if not paths:
                raise LabError("Choose at least one path.")
            if upload is not None:
                questions, name = parse_golden(upload.getvalue().decode("utf-8", "replace"), upload.name), upload.name
            elif batch_set is not None:
                questions, name = batch_set.questions, batch_set.label
            else:
                raise LabError("Upload a golden set first (one JSON object a line with question and answer).")
            questions = [q for q in questions[: int(limit) or None] if q.id not in exclude]
            st.session_state["batch_job"] = state.start_compare(
                questions, name, paths, RetrievalConfig(k=int(k), passage_context=bool(context)),
                DecodingConfig(max_new_tokens=int(max_new)),
                BatchConfig(batch_size=int(batch_size)),
                {**({"leakage": leak} if leak else {}), **({"golden": batch_set.manifest()} if batch_set else {})},
                stop=stop)
        except LabError as exc:
            st.error(str(exc))
    try:
        polling = any(r.status == "running" for r in _runs_to_show())
    except LabError as exc:  # a damaged run store: one message; one-off questions and the update demo still work
        st.error(as_text(exc))
    else:
        st.fragment(show_progress, run_every=2 if polling else None)(polling=polling)


def _runs_to_show() -> list:
    """Runs still going (found in the run store, so a refresh, another tab or the command line finds them
    again), and this browser session's latest run once it has ended."""
    runs = resources.run_store()
    shown = [r for r in runs.list() if r.status == "running"]
    followed = st.session_state.setdefault("followed_runs", [])
    followed += [r.run_id for r in shown if r.run_id not in followed]  # so their end is shown too
    mine = st.session_state.get("batch_job")
    if mine and mine not in followed:
        followed.append(mine)
    for run_id in [r for r in followed if r not in {s.run_id for s in shown}]:
        try:
            shown.append(runs.get(run_id))
        except LabError:
            followed.remove(run_id)  # deleted since
    return shown

def show_progress(polling: bool = False) -> None:
    shown = _runs_to_show()
    if polling and not any(r.status == "running" for r in shown):
        st.rerun()  # the last run ended: redraw the page once, which stops the polling
    for run in shown:
        job = resources.jobs().get(run.run_id)
        running = run.status == "running"
        if running and job is not None and not job.cancelled and \
                st.button("Cancel run", key=f"batch_cancel_{run.run_id}"):
            job.cancel()
        cancelling = running and job is not None and job.cancelled
        status = "cancelling" if cancelling else run.status
        done, total = (job.progress.done, job.progress.total) if job is not None else (run.done, run.total)
        eta = job.progress.eta_seconds if job is not None and running and not cancelling else None
        left = f", about {eta:.0f} s left" if eta is not None else ""
        st.progress(min(done / max(total, 1), 1.0), text=f"Run {run.run_id}: {status}, {done}/{total} answers{left}")
        if cancelling:
            st.caption("Cancelling: it stops as the answer being written ends; every answer stored so far is kept, "
                       "and Resume on the Results page asks only the rest.")
        decision_view.live(job, run.run_id, resources.run_store())
        if run.status == "failed":
            st.error(f"The run failed: {as_text(run.error or (job.error if job else '') or 'no reason recorded')}")
        if running and job is None:
            st.caption("Started by another process (the command line?): it can be cancelled there.")
        elif not running:
            widgets.link_to("pages/results.py", "See the results", icon=":material/bar_chart:")


def _dry_run(paths, questions, k: int, max_new: int, context: bool, planning) -> None:
    from lab.experiments.estimate import dry_run, power_text

    try:
        ctx = state.path_context(paths, retrieval=RetrievalConfig(k=int(k), passage_context=bool(context)),
                                 decoding=DecodingConfig(max_new_tokens=int(max_new)))
        remote = st.session_state.get("endpoint") or {}
        with st.spinner("Preparing every question and timing a few answers per path..."):
            estimate = dry_run(ctx, questions, paths, concurrency=int(remote.get("concurrency", 8)),
                               planning=planning[0], difference=planning[1])
    except LabError as exc:
        st.error(str(exc))
        return
    st.dataframe([{"path": p.path, "answers": p.answers,
                   "prompt tokens" + (" (estimated)" if p.estimated_tokens else ""): p.tokens_in,
                   "completion tokens": p.tokens_out, "$": round(p.cost_usd, 4), "minutes": round(p.seconds / 60, 1),
                   "problem": p.errors[0] if p.errors else ""} for p in estimate.paths],
                 hide_index=True, key="batch_dry_run_table")
    st.caption(f"Total ${estimate.cost_usd:.4f}, about {estimate.seconds / 60:.1f} min (timed on a few answers a "
               f"path; prices: {as_text(estimate.price_source)}). {as_text(power_text(estimate)).capitalize()}.")
