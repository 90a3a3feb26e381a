"""Decide: the guide's framework as a wizard, its claims checked on a run, and the cost of ownership."""

import streamlit as st

from lab.decision import charts
from lab.decision.decide import NOT_MEASURED, WizardAnswers, cited, measured_claims, recommend
from lab.decision.guide import ATTRIBUTION, COST_ROWS, FRAMEWORK, FRAMEWORK_QUESTION, QUICK_REFERENCE
from lab.decision.tco import OwnershipInputs, break_evens, index_measure, path_costs, training_measure
from lab.display import as_text
from lab.errors import LabError
from lab.evaluation.costs import MACHINES, PriceTable, reprice
from lab.evaluation.summary import summarize
from lab.experiments.answer_paths import PATHS
from pages.ui import frame, resources, widgets

frame.login_gate()  # here too: before anything opens `/`, Streamlit may run a pages/ file on its own
st.title("Decide")
st.caption("The guide's decision framework, with each of its claims checked on your own run. " + ATTRIBUTION)


def claim_rows(claims):
    return [{"claim": c.text, "verdict": c.verdict, "measured (a - b, paired 95% CI)": c.detail,
             "to measure (better)": c.measure or "-", "the guide says": c.guide} for c in claims]


# 1. The wizard ------------------------------------------------------------------------------------------------
st.subheader("1. What does your application need?")
saved = st.session_state.get("decide_answers") or WizardAnswers()
knowledge = st.radio(FRAMEWORK_QUESTION, ["No", "Yes"], index=int(saved.knowledge), horizontal=True,
                     key="decide_knowledge") == "Yes"
behaviour = st.radio("Does it need specific behaviour?", ["No: a general improvement",
                                                          "Yes: a specific format, tone or domain behaviour"],
                     index=int(saved.behaviour), horizontal=True, key="decide_behaviour").startswith("Yes")
c1, c2, c3, c4 = st.columns(4)
answers = WizardAnswers(
    knowledge, behaviour,
    not_sure=c1.checkbox("I'm not sure where the problem is", saved.not_sure, key="decide_not_sure"),
    citations=c2.checkbox("Users need to see which source was used", saved.citations, key="decide_citations"),
    latency_critical=c3.checkbox("Sub-100ms inference needed", saved.latency_critical, key="decide_latency"),
    high_volume=c4.checkbox("High volume (10M+ calls a month)", saved.high_volume, key="decide_high_volume"))
st.session_state["decide_answers"] = answers  # the Results page's brief uses them too
with st.expander("The guide's decision framework"):
    st.markdown(f"**{FRAMEWORK_QUESTION}**")
    st.dataframe([{"answer": a, "then": b, "": c} for a, b, c in FRAMEWORK], hide_index=True,
                 key="decide_framework")

# The run whose measurements are cited ---------------------------------------------------------------------------
runs = [r for r in widgets.run_history() or [] if r.done]
run, records = None, []
if runs:
    labels = {f"{r.run_id} - {r.status} - {r.done}/{r.total} - {', '.join(r.manifest.get('paths', []))}": r
              for r in runs}
    first_done = next((i for i, r in enumerate(runs) if r.status == "done"), 0)
    run = labels[st.selectbox("Run whose measurements are cited", list(labels), index=first_done, key="decide_run")]
    records = resources.run_store().answers(run.run_id)
    if run.status != "done":
        st.warning(f"This run is {run.status}: {run.done} of {run.total} answers; the evidence covers those.")
else:
    st.info("No runs yet: every claim below is not measured yet. Run a golden set on the Compare page.")
summary = summarize(records)
claims = measured_claims(summary, records)
recommendation = recommend(answers)

# 2. Recommendation -----------------------------------------------------------------------------------------------
st.subheader("2. Recommendation")
st.success(f"**{recommendation.title}**")
for reason in recommendation.reasons:
    st.markdown(f"> {reason}")
st.caption(ATTRIBUTION + " These are the guide's words; the table below is what your run measured.")
st.dataframe(claim_rows(cited(recommendation, claims)), hide_index=True, key="decide_evidence")
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
st.subheader("5. Cost of ownership and break-even volume")
st.dataframe([{"": d, "RAG": r, "Fine-Tuning": f} for d, r, f in COST_ROWS], hide_index=True,
             key="decide_guide_costs")
st.caption("The guide's figures. " + ATTRIBUTION + " The calculator below uses your run's measured usage instead.")
if not records:
    st.info("Per-query costs come from a run's measured tokens and time: run a golden set on the Compare page.")
    st.stop()

training, index = training_measure(run.manifest), index_measure(run.manifest, resources.store)
a, b, c = st.columns(3)
volume = a.number_input("Queries per month", 1, 10**11, 100_000, step=10_000, key="tco_volume")
months = b.number_input("Amortise one-off costs over (months)", 1, 120, 12, key="tco_months")
mode = c.selectbox("Serving", ["api", "self-hosted"], key="tco_mode")
a, b, c = st.columns(3)
names = [m.name for m in MACHINES]
gpu = a.selectbox("Training GPU", names, index=2, key="tco_gpu")
gpu_price = b.number_input("$ / GPU-hour", 0.0, value=MACHINES[names.index(gpu)].hour_usd, format="%.4f",
                           key=f"tco_gpu_price_{names.index(gpu)}")
speedup = c.number_input("Speed-up of that GPU over the measured device (your assumption)", 0.01, 1000.0, 1.0,
                         key="tco_speedup")
a, b, c = st.columns(3)
train_hours = a.number_input("Training time on the measured device (hours)", 0.0,
                             value=training.seconds / 3600 if training else 0.0, format="%.4f", key="tco_train_hours")
index_hours = b.number_input("Index build time (hours)", 0.0, value=index.seconds / 3600 if index else 0.0,
                             format="%.4f", key="tco_index_hours")
index_price = c.number_input("$ / hour of the index build machine", 0.0, value=MACHINES[0].hour_usd, format="%.4f",
                             key="tco_index_price")
st.caption(
    (f"Training: {training.seconds:.0f} s measured on {training.device} for adapter {training.adapter}. "
     if training else "Training time: no adapter folder with a measured train_seconds matches this run; enter it. ")
    + (index.text + " " if index else "Index build: the run's collection keeps no measured build time (ingest it "
       "again on the Corpus page, or enter it). ")
    + "The lab cannot measure a GPU it does not have: the speed-up is your assumption (1 = as measured). "
    + f"Machine prices: {MACHINES[0].source}.")
base = PriceTable.from_dict(run.manifest["price_table"]) if run.manifest.get("price_table") else PriceTable()
serving = {}
if mode == "self-hosted":  # priced on a machine the user names, at a throughput the user states
    a, b, c = st.columns(3)
    machine = a.selectbox("Serving machine", names, key="tco_serving_machine")
    serving = dict(serving_machine=machine, serving_hour=b.number_input(
        "$ / hour of the serving machine", 0.0, value=MACHINES[names.index(machine)].hour_usd, format="%.4f",
        key=f"tco_serving_hour_{names.index(machine)}"), serving_speedup=c.number_input(
        "Its throughput over the measured machine (x, your assumption)", 0.01, 10_000.0, 1.0,
        key="tco_serving_speedup", help="How many times as many answers an hour that machine serves as the one "
                                        "that ran this comparison (GPU speed, batching). 1 = as measured."))
a, b, c = st.columns(3)
try:
    table = PriceTable(mode=mode, source=base.source, **serving,
                       api_input_per_m=a.number_input("$ / 1M input tokens", 0.0, value=base.api_input_per_m,
                                                      format="%.4f", key="tco_price_in"),
                       api_output_per_m=b.number_input("$ / 1M output tokens", 0.0, value=base.api_output_per_m,
                                                       format="%.4f", key="tco_price_out"),
                       vector_db_per_1k=c.number_input("$ / 1k vector queries", 0.0, value=base.vector_db_per_1k,
                                                       format="%.5f", key="tco_price_vdb"))
    inputs = OwnershipInputs(int(volume), int(months), index_hours, index_price, train_hours, speedup, gpu_price)
except LabError as exc:
    st.error(str(exc))
    st.stop()
st.caption(as_text(f"{table.basis} Prices: {base.source}"))
if table.assumption:
    st.info(f"Self-hosted cost is an assumption, not a measurement: {as_text(table.assumption)}.")
priced = summarize(reprice(records, table))
costs = path_costs({p.path: p.cost_usd for p in priced.paths}, inputs)
rows = break_evens(costs, inputs.months)
per_query = "$ / query (self-hosted, assumed)" if table.assumption else "$ / query (measured usage)"
st.dataframe([{"path": p.path, per_query: f"{p.per_query:.6f}",
               "one-off": ", ".join(f"{k} ${v:,.2f}" for k, v in p.parts.items()) or "none",
               f"$ / month at {inputs.volume:,}": f"{p.monthly(inputs.volume, inputs.months):,.2f}"} for p in costs],
             hide_index=True, key="decide_costs")
st.plotly_chart(charts.ownership_chart(costs, inputs.months, inputs.volume, rows, table.assumption),
                key="decide_tco_chart")
st.dataframe([{"a": r.a, "b": r.b, "break-even": r.text} for r in rows], hide_index=True, key="decide_break_even")


def brief() -> str:
    from lab.decision.report import brief_for_run

    return brief_for_run(run, records, answers, table, inputs)


st.download_button("Download the brief (HTML)", brief, f"{run.run_id}-brief.html", "text/html",
                   key="decide_download_brief", on_click="ignore")
