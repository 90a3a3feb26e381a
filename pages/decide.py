"""Decide: the guide's framework as a wizard, its claims checked on a run, and the cost of ownership."""

import streamlit as st

from lab.decision.decide import (NOT_MEASURED, WizardAnswers, answers_from_url, answers_to_url, cited,
                                 measured_claims, recommend)
from lab.decision.guide import ATTRIBUTION, FRAMEWORK, FRAMEWORK_QUESTION, QUICK_REFERENCE
from lab.display import as_text
from lab.evaluation.attribution import attribute_records
from lab.evaluation.summary import summarize
from lab.experiments.answer_paths import PATHS
from pages.sections import ownership_view
from pages.ui import frame, resources, widgets

frame.login_gate()  # here too: before anything opens `/`, Streamlit may run a pages/ file on its own
st.title("Decide")
st.caption("The guide's decision framework, with each of its claims checked on your own run. " + ATTRIBUTION)


def claim_rows(claims):
    return [{"claim": c.text, "verdict": c.verdict, "measured (a - b, paired 95% CI)": c.detail,
             "to measure (better)": c.measure or "-", "the guide says": c.guide} for c in claims]


# 1. The wizard ------------------------------------------------------------------------------------------------
st.subheader("1. What does your application need?")
saved = st.session_state.get("decide_answers") or answers_from_url(st.query_params.get("needs"))


def answer(value: str | None) -> bool | None:
    """A radio's choice: None until the user picks (an unanswered question is not a No)."""
    return None if value is None else value.startswith("Yes")


def shown(saved_value: bool | None) -> int | None:
    return None if saved_value is None else int(saved_value)


knowledge = answer(st.radio(FRAMEWORK_QUESTION, ["No", "Yes"], index=shown(saved.knowledge), horizontal=True,
                            key="decide_knowledge"))
behaviour = answer(st.radio("Does it need specific behaviour?", ["No: a general improvement",
                                                                 "Yes: a specific format, tone or domain behaviour"],
                            index=shown(saved.behaviour), horizontal=True, key="decide_behaviour"))
c1, c2, c3, c4 = st.columns(4)
answers = WizardAnswers(
    knowledge, behaviour,
    not_sure=c1.checkbox("I'm not sure where the problem is", saved.not_sure, key="decide_not_sure"),
    citations=c2.checkbox("Users need to see which source was used", saved.citations, key="decide_citations"),
    latency_critical=c3.checkbox("Sub-100ms inference needed", saved.latency_critical, key="decide_latency"),
    high_volume=c4.checkbox("High volume (10M+ calls a month)", saved.high_volume, key="decide_high_volume"))
st.session_state["decide_answers"] = answers  # the Results page's brief uses them too
if st.query_params.get("needs", "") != answers_to_url(answers):  # a refresh or a shared link keeps them
    st.query_params["needs"] = answers_to_url(answers)
with st.expander("The guide's decision framework"):
    st.markdown(f"**{FRAMEWORK_QUESTION}**")
    st.dataframe([{"answer": a, "then": b, "": c} for a, b, c in FRAMEWORK], hide_index=True,
                 key="decide_framework")

# The run whose measurements are cited ---------------------------------------------------------------------------
runs = [r for r in widgets.run_history() or [] if r.done]
run, records = None, []
if runs:
    run = widgets.pick_run(runs, "Run whose measurements are cited", "decide_run")
    records = resources.run_store().answers(run.run_id)
    if run.status != "done":
        st.warning(f"This run is {run.status}: {run.done} of {run.total} answers; the evidence covers those.")
else:
    st.info("No runs yet: every claim below is not measured yet. Run a golden set on the Compare page.")
summary = summarize(records)
claims = measured_claims(summary, records)
recommendation = recommend(answers, claims)

# 2. Recommendation -----------------------------------------------------------------------------------------------
st.subheader("2. Recommendation")
st.success(f"**{recommendation.title}**")
for reason in recommendation.reasons:
    st.markdown(f"> {reason}")
st.caption(ATTRIBUTION + " These are the guide's words; the table below is what your run measured.")
st.dataframe(claim_rows(cited(recommendation, claims)), hide_index=True, key="decide_evidence")
attribution = attribute_records(records) if records else None
if attribution is not None:
    st.info("The matched design on this run (the 2x2, paired 95% CIs): "
            + "; ".join(as_text(v) for v in attribution.verdicts().values()) + ".")
for caveat in summary.warnings[:1] + recommendation.caveats:
    st.caption(f"Caveat: {caveat}")

unmeasured: dict[tuple, object] = {}  # one button per pair of paths, named after its first claim
for claim in claims:
    if claim.verdict == NOT_MEASURED:
        unmeasured.setdefault(tuple(claim.paths), claim)
if unmeasured:
    st.markdown("**Not measured yet** - measure these on the Compare page (the paths are preselected):")
    columns = st.columns(min(len(unmeasured), 4))
    for i, (paths, claim) in enumerate(unmeasured.items()):
        if columns[i % len(columns)].button(f"Measure {' vs '.join(paths)}", key=f"measure_{claim.id}",
                                            help=claim.text):
            st.session_state["paths"] = [p for p in PATHS if p in paths]
            st.switch_page("pages/compare.py")

# 3. Every claim, and the quick reference -------------------------------------------------------------------------
st.subheader("3. Every claim of the guide the lab can test")
st.dataframe(claim_rows(claims), hide_index=True, key="decide_claims")
st.subheader("4. The guide's quick reference")
st.dataframe([{"Your situation": s, "Use this": u} for s, u in QUICK_REFERENCE], hide_index=True,
             key="decide_quick_reference")
st.caption(ATTRIBUTION)

# 5. Cost of ownership -----------------------------------------------------------------------------------------------
ownership_view.draw(run, records, answers)
