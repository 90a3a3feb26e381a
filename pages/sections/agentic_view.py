"""How an agentic path decided, on the Results page (a UI helper, not a page): its retrieve rate over questions
whose gold needs the corpus and over general ones, hit@k of its own queries, and its decision time. Work:
`lab.experiments.agentic`."""

from __future__ import annotations

import streamlit as st

from lab.display import as_text
from lab.experiments.agentic import by_path, describe


def _cell(part: dict) -> str:
    return f"{part['rate']:.0%} [{part['low']:.0%}, {part['high']:.0%}] of {part['n']}" if part["n"] else "n/a"


def draw(records) -> None:
    found = by_path(records)
    if not found:
        return
    st.subheader("When the model chose to retrieve (agentic paths)")
    st.dataframe([{"path": path, "searched (all)": _cell(r["all"]), "gold needs the corpus": _cell(r["needs_corpus"]),
                   "general questions": _cell(r["general"]),
                   "hit@k of its queries": (f"{r['hit_at_k']['mean']:.2f} [{r['hit_at_k']['low']:.2f}, "
                                            f"{r['hit_at_k']['high']:.2f}]" if r["hit_at_k"] else "n/a"),
                   "decide ms (mean)": round(r["decide_ms_mean"] or 0), "steps (mean)": round(r["steps_mean"] or 0, 2)}
                  for path, r in found.items()], hide_index=True, key="results_agentic")
    for path, rates in found.items():
        st.caption(as_text(describe(path, rates)))
    st.caption("A question's gold needs the corpus when the golden set names its sources; general questions name "
               "none (the sample's general tasks, or your own). Rates carry Wilson 95% intervals; a model that skips "
               "retrieval when the gold needs the corpus shows here before it shows in accuracy.")
