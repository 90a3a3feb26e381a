"""The price table editor (a UI helper, not a page), one widget for the Results and Decide pages: it starts from
the table the run recorded (its serving mode, machine and throughput included) and returns the edited table,
whose source says where it was edited (`lab.evaluation.costs.edited`)."""

from __future__ import annotations

import streamlit as st

from lab.display import as_text
from lab.errors import LabError
from lab.evaluation.costs import MACHINES, PriceTable, edited

MODES = ["api", "self-hosted"]


def draw(base: PriceTable, prefix: str, where: str) -> PriceTable:
    """Widgets keyed `<prefix>_mode`, `_in`, `_out`, `_vdb`, `_machine`, `_machine_hour_<i>`, `_speedup`; an
    invalid edit is shown and the run's own table is returned."""
    c1, c2, c3, c4 = st.columns(4)
    changes = dict(
        mode=c1.selectbox("Serving", MODES, index=MODES.index(base.mode), key=f"{prefix}_mode"),
        api_input_per_m=c2.number_input("$ / 1M input tokens", 0.0, value=base.api_input_per_m, format="%.4f",
                                        key=f"{prefix}_in"),
        api_output_per_m=c3.number_input("$ / 1M output tokens", 0.0, value=base.api_output_per_m, format="%.4f",
                                         key=f"{prefix}_out"),
        vector_db_per_1k=c4.number_input("$ / 1k vector queries", 0.0, value=base.vector_db_per_1k, format="%.5f",
                                         key=f"{prefix}_vdb"))
    if changes["mode"] == "self-hosted":  # priced on a machine the user names, at a throughput the user states
        c1, c2, c3 = st.columns(3)
        names = [m.name for m in MACHINES]
        machine = c1.selectbox("Serving machine", names, key=f"{prefix}_machine",
                               index=names.index(base.serving_machine) if base.serving_machine in names else 0)
        hour = base.serving_hour if machine == base.serving_machine else MACHINES[names.index(machine)].hour_usd
        changes.update(serving_machine=machine, serving_hour=c2.number_input(
            "$ / hour of that machine", 0.0, value=hour, format="%.4f",
            key=f"{prefix}_machine_hour_{names.index(machine)}"), serving_speedup=c3.number_input(
            "Its throughput over the measured machine (x, your assumption)", 0.01, 10_000.0, base.serving_speedup,
            key=f"{prefix}_speedup", help="How many times as many answers an hour that machine serves as the one "
                                          "that ran this comparison (GPU speed, batching). 1 = as measured."))
    try:
        table = edited(base, where, **changes)
    except LabError as exc:
        st.error(str(exc))
        table = base
    st.caption(as_text(f"Prices: {table.source}"))
    return table
