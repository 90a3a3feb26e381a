"""Results page: which metric decides. Containment, its strict form and a judge model side by side, how far
they agree (Cohen's kappa with 95% CIs, also against blind-mode votes), and a button that has the endpoint
judge the run in the background."""

from __future__ import annotations

import streamlit as st

from lab.display import as_text
from lab.errors import LabError
from lab.evaluation.judge import Judge, agreement
from lab.experiments.judging import JudgeJob, running
from pages.ui import resources

KEY = "results_judge_job"


def _start(run_id: str, remote: dict) -> None:
    job = running(resources.jobs().values(), run_id)
    if job is None:
        judge = Judge(resources.endpoint(remote["base_url"], remote["model"], remote.get("api_key_env")))
        job = JudgeJob(resources.run_store(), run_id, judge)
        resources.jobs()[job.id] = job.start()
    st.session_state[KEY] = job.id


def draw(run, records) -> None:
    st.subheader("Which metric decides")
    judge = run.manifest.judge
    st.caption("Accuracy is decided three ways: alias containment (the gold answer or an alias appears in the "
               "answer: transparent, but it credits an answer that holds the right words and states the wrong "
               "fact), its strict form (the gold's polarity: not negated when the gold is not, no yes-and-no "
               "hedge), and a judge model that reads question, gold and answer" + (f" (this run: {as_text(judge, one_line=True)})" if judge else
                                    " (not run on this run)") +
               ". Pick one as the quality metric above; kappa says how far two of them agree beyond chance "
               "(1 = always, 0 = chance; 95% bootstrap CI).")
    rows = [{"a": a.a, "b": a.b, "answers": a.kappa.n, "agree": f"{a.agree:.0%}" if a.kappa.n else "n/a",
             "Cohen's kappa [95% CI]": f"{a.kappa.mean:.2f} [{a.kappa.low:.2f}, {a.kappa.high:.2f}]"
             if a.kappa.n and a.kappa.mean == a.kappa.mean else "undefined (one label throughout)"}
            for a in agreement(records, resources.run_store().votes_by_question(run.run_id))]
    st.dataframe(rows, hide_index=True, key="results_agreement")
    st.caption("A stakeholder vote marks the answer a viewer found best on a question, not every right one: against "
               "votes, an answer counts as approved when it got any, on the questions that got votes.")
    remote = st.session_state.get("endpoint")
    if not remote:
        st.caption("To judge this run with a model, set an OpenAI-compatible endpoint on the Models page (or run "
                   f"`python -m lab judge {run.run_id} --endpoint-url URL --endpoint-model NAME`). The embedded "
                   "135M model is no judge.")
    elif st.button(f"Judge this run with {remote['model']}", key="results_judge",
                   disabled=running(resources.jobs().values(), run.run_id) is not None):
        try:
            _start(run.run_id, remote)
        except LabError as exc:
            st.error(str(exc))

    @st.fragment(run_every=2)
    def progress() -> None:
        job = resources.jobs().get(st.session_state.get(KEY))
        if job is None or job.run_id != run.run_id:
            return
        p = job.progress
        st.progress(p.fraction, text=f"{job.state}: {p.message}")
        if job.running:
            st.button("Cancel judging", key="results_judge_cancel", on_click=job.cancel)
        elif job.error:
            st.error(as_text(job.error))
        elif not getattr(job, "shown", False):
            job.shown = True
            st.rerun(scope="app")  # the verdicts are stored: redraw the tables with them

    progress()
