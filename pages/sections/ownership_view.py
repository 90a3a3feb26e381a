"""The Decide page's cost of ownership (a UI helper, not a page): the guide's cost table, then the calculator on the
run's measured usage (training and index times measured where the lab kept them), the shared price editor, the
break-even volumes and the brief. Work: `lab.decision.tco`."""

from __future__ import annotations

import streamlit as st

from lab.decision import charts
from lab.decision.guide import ATTRIBUTION, COST_ROWS
from lab.decision.tco import OwnershipInputs, break_evens, index_measure, path_costs, training_measure
from lab.display import as_text
from lab.errors import LabError
from lab.evaluation.costs import MACHINES, reprice
from lab.evaluation.summary import summarize
from pages.sections import price_editor
from pages.ui import resources, widgets


def draw(run, records, answers) -> None:
    st.subheader("5. Cost of ownership and break-even volume")
    st.dataframe([{"": d, "RAG": r, "Fine-Tuning": f} for d, r, f in COST_ROWS], hide_index=True,
                 key="decide_guide_costs")
    st.caption("The guide's figures. " + ATTRIBUTION + " The calculator below uses your run's measured usage instead.")
    if not records:
        st.info("Per-query costs come from a run's measured tokens and time: run a golden set on the Compare page.")
        return

    training, index = training_measure(run.manifest), index_measure(run.manifest, resources.store)
    a, b, c = st.columns(3)
    volume = a.number_input("Queries per month", 1, 10**11, 100_000, step=10_000, key="tco_volume")
    months = b.number_input("Amortise one-off costs over (months)", 1, 120, 12, key="tco_months")
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
    table = price_editor.draw(run.manifest.prices, "tco_price", "Decide page")
    try:
        inputs = OwnershipInputs(int(volume), int(months), index_hours, index_price, train_hours, speedup, gpu_price)
    except LabError as exc:
        st.error(str(exc))
        return
    st.caption(as_text(table.basis))
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


    widgets.brief_download("decide_brief", run.run_id, (answers, table, inputs), brief)
