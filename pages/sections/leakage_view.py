"""Leakage check views (a UI helper, not a page): the warning before a batch run with an adapter path, and
the with/without scores on the Results page. The check itself is `lab.experiments.leakage`."""

from __future__ import annotations

import hashlib
import math

import streamlit as st

from lab.display import as_text, count
from lab.evaluation.record import AnswerRecord
from lab.experiments import leakage
from pages.ui import resources


def batch_warning(paths, questions) -> tuple[set[str], dict | None]:
    """Before a run with finetuned or hybrid: flagged questions and an opt-in exclusion (`leakage.for_run`, the
    workflow `compare` runs too; its report is kept for the session, as it embeds every training example).

    Returns (question ids to leave out, the run manifest's `leakage` entry or None).
    """
    adapter_dir = st.session_state.get("adapter_dir")
    if not questions or not adapter_dir or not leakage.applies(paths):
        return set(), None
    digest = hashlib.sha256(repr([(q.id, q.question, q.answer) for q in questions]).encode()).hexdigest()[:16]
    cache = st.session_state.setdefault("leakage_reports", {})
    with st.spinner("Checking the golden set against the adapter's training data..."):
        outcome = leakage.for_run(questions, paths, adapter_dir, resources.embedder(),
                                  exclude=bool(st.session_state.get("batch_exclude_leaked")),
                                  report=cache.get((adapter_dir, digest)))
    if outcome.error:
        st.warning(f"Leakage check not possible: {as_text(outcome.error)}")
        return set(), outcome.manifest
    report = cache[(adapter_dir, digest)] = outcome.report
    if not report.flagged_ids:
        which = "the question does not" if report.questions == 1 else f"none of the {report.questions} questions"
        st.success(f"Leakage check: {which} duplicate{'s' if report.questions != 1 else ''} the adapter's "
                   f"{count(report.examples, 'training example')}.")
        return set(), outcome.manifest
    st.warning(f"Leakage check: {len(report.flagged_ids)} of {count(report.questions, 'golden question')} "
               f"(near-)duplicate{'s' if len(report.flagged_ids) == 1 else ''} "
               f"the adapter's training data, so the fine-tuned paths may be scored on memorised answers: "
               f"{as_text(', '.join(report.flagged_ids))}.")
    with st.expander("Flagged questions and the training examples they match"):
        st.dataframe([{"question": m.question_id, "training line": m.line, "signals": ", ".join(m.reasons),
                       "n-gram": round(m.ngram, 2), "overlap": round(m.overlap, 2),
                       "cosine": None if m.cosine is None else round(m.cosine, 2), "text": m.question,
                       "training example": m.example} for m in report.matches], hide_index=True,
                     key="leakage_matches")
        st.caption(f"Training data: {as_text(report.data)}. Flagged when: {as_text(report.thresholds_text)}.")
    st.checkbox("Leave the flagged questions out of this run", key="batch_exclude_leaked")
    return {q.id for q in questions} - {q.id for q in outcome.questions}, outcome.manifest


def _estimate(e) -> str:
    return "n/a" if not e.n or math.isnan(e.mean) else f"{e.mean:.2f} [{e.low:.2f}, {e.high:.2f}] (n={e.n})"


def results_section(manifest, records: list[AnswerRecord], metric: str, label: str) -> None:
    """Scores with and without the questions the run's leakage check flagged."""
    check = manifest.leakage or {}
    flagged = check.get("flagged") or []
    if check.get("error"):
        st.caption(f"Leakage check not run: {as_text(check['error'])}")
    if not flagged:
        return
    st.subheader("Leakage check")
    present = sorted({r.question_id for r in records} & set(flagged))
    if not present:
        st.info(f"{len(flagged)} golden question(s) duplicating the adapter's training data were left out of this "
                f"run: {as_text(', '.join(flagged))}.")
        return
    st.warning(f"{len(present)} question(s) of this run (near-)duplicate the adapter's training data "
               f"({as_text(check.get('data', 'its training file'))}): {as_text(', '.join(present))}. The scores "
               "without them show what "
               "the paths do on questions the adapter was not trained on.")
    st.dataframe([{"path": r.path, f"{label}: all questions": _estimate(r.all),
                   f"{label}: without flagged": _estimate(r.clean), f"{label}: flagged only": _estimate(r.flagged)}
                  for r in leakage.scores_with_without(records, flagged, metric)], hide_index=True,
                 key="results_leakage")
