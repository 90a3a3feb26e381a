"""Judging answers and retrieval: golden sets, the answer record, per-answer metrics, confidence intervals, run summaries, costs, the injection check, retrieval evaluation."""
