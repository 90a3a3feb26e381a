"""Decide as early as the data allow (a UI helper, not a page): the batch tab's stop rule, and each watched pair's
anytime-valid interval while a run goes and once it stopped. Work: `lab.evaluation.sequential`."""

from __future__ import annotations

import streamlit as st

from lab.display import as_text
from lab.errors import LabError
from lab.evaluation.sequential import StopRule


def rule(paths: list[str]) -> StopRule | None:
    """The stop rule the user chose for a batch of `paths` (None: ask every question)."""
    pairs = [(a, b) for i, a in enumerate(paths) for b in paths[i + 1:]]
    if not st.toggle("Stop as soon as it is decided", key="batch_stop", disabled=not pairs,
                     help="Each chosen pair gets an anytime-valid 95% interval (valid however often it is looked at), "
                          "so the run may stop the moment every pair is decided: one path better, or the two "
                          "equivalent within the margin. The questions left are not asked; the saving is shown."):
        return None
    left, right = st.columns([3, 1])
    chosen = left.multiselect("Pairs that decide the run", [f"{a} vs {b}" for a, b in pairs], key="batch_stop_pairs")
    margin = right.number_input("Margin", 0.0, 0.5, 0.1, 0.05, key="batch_stop_margin",
                                help="A difference smaller than this does not matter (0: only a winner decides).")
    if not chosen:
        return None
    return StopRule(tuple(tuple(text.split(" vs ")) for text in chosen), margin=float(margin))


def power(paths: list[str], questions: int) -> tuple[tuple[float, str] | None, float]:
    """Before a run: what `questions` can detect and what the user's difference needs, from the latest complete
    run of these paths on the active collection when there is one. Returns (planning sd, difference)."""
    from lab.evaluation.stats import ASSUMED_SD, detectable_difference, questions_needed
    from lab.experiments.estimate import planning_sd
    from pages.ui import resources

    difference = st.number_input("Difference in accuracy that matters to you", 0.01, 0.99, 0.1, 0.05,
                                 key="batch_difference")
    try:
        planning = planning_sd(resources.run_store(), st.session_state.get("collection"), paths)
    except LabError:
        planning = None
    sd, source = planning or (ASSUMED_SD, "assumed: no earlier run of these paths on this collection")
    if questions and len(paths) > 1:
        need = questions_needed(float(difference), sd)
        st.caption(as_text(f"{questions} question{'s' if questions != 1 else ''} detect a difference of about "
                           f"{detectable_difference(questions, sd):.2f} or more (5% level, 80% power; sd {sd:.2f}, "
                           f"{source}); {difference:.2f} needs about {need} questions."))
    return planning, float(difference)


def live(job, run_id: str, runs) -> None:
    """The watched pairs of a run: live from its job while it runs, else what was stored when it stopped."""
    states = job.states() if job is not None and job.stop is not None else []
    for state in states:
        st.caption(as_text(state.text()))
    try:
        decision = runs.decision(run_id)
    except LabError:
        return
    if decision and not (job is not None and job.running):
        st.success(as_text(decision.get("text", "")))
        for text in decision.get("texts", []):
            st.caption(as_text(text))
