"""The 2x2 attribution on the Results page (a UI helper, not a page): what retrieval adds, what the adapter adds,
and whether they help or hurt each other, with paired CIs, and the interaction chart. Work:
`lab.evaluation.attribution`."""

from __future__ import annotations

import streamlit as st

from lab.decision.charts import LABELS, attribution_chart
from lab.display import as_text, count
from lab.evaluation.attribution import attribute_records


def draw(records, metric: str) -> None:
    attribution = attribute_records(records, metric)
    st.subheader("What each factor adds (the 2x2)")
    if attribution is None:
        st.caption("Needs the four cells on the same questions: prompt, hybrid-rag (or rag), finetuned and hybrid. "
                   "Run them together on the Compare page to see what retrieval and the adapter each add, and "
                   "whether they help or hurt each other.")
        return
    left, right = st.columns([3, 2])
    left.plotly_chart(attribution_chart(attribution, LABELS[metric]), key="chart_attribution")
    with right:
        for text in attribution.verdicts().values():
            st.markdown(f"- {as_text(text)}")
        st.caption(f"{count(attribution.n, 'question')} with all four cells; {LABELS[metric]}; retrieval cell: "
                   f"{attribution.retrieval_path}. Effects are averaged over the other factor; the interaction is "
                   "(hybrid - finetuned) - (retrieval - prompt); 95% paired bootstrap CIs over questions.")
