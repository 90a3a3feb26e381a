"""Judging answers and retrieval: golden sets, per-answer metrics, confidence intervals, run summaries, costs, the injection check, retrieval evaluation."""
