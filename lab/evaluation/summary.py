"""Per-path summaries of a run's answers: means with paired-bootstrap CIs, latency percentiles, cost,
pairwise tests and the win/tie/loss matrix. The charts, the CSV and the brief all read these."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from lab.display import signed  # noqa: F401 - read from here by the pages
from lab.evaluation.metrics import repeats
from lab.evaluation.record import AnswerRecord
from lab.evaluation.stats import Estimate, PairTest, compare_pair, holm, mean_ci

QUALITY = ("correct", "correct_strict", "judge_correct", "f1", "semantic_similarity", "grounded", "citation_valid",
           "hit_at_k", "format_ok", "abstained", "searched")
STAGES = ("retrieve", "rerank", "generate", "total")
SMALL_N = 30


@dataclass
class PathSummary:
    path: str
    answered: int
    errors: int
    quality: dict[str, Estimate] = field(default_factory=dict)
    latency_ms: dict[str, dict[str, float]] = field(default_factory=dict)  # stage -> {p50, p95}
    tokens_in: float = 0.0
    tokens_out: float = 0.0
    cost_usd: float = 0.0


@dataclass
class RunSummary:
    paths: list[PathSummary]
    pairs: list[PairTest]
    metric: str
    questions: int
    warnings: list[str] = field(default_factory=list)


def by_path(records: Sequence[AnswerRecord]) -> dict[str, dict[str, AnswerRecord]]:
    """table[path][question id] = that path's record for that question (paths in first-seen order)."""
    table: dict[str, dict[str, AnswerRecord]] = {}
    for r in records:
        table.setdefault(r.path, {})[r.question_id] = r
    return table


def paired_values(table: dict[str, dict[str, AnswerRecord]], path: str, questions: Sequence[str], metric: str,
                  answered_only: bool = False) -> list[float | None]:
    """One side of a paired test: `metric` of `path` on each question in order, None where the path has no
    record for it (or, with `answered_only`, where its answer failed)."""
    rows = table.get(path, {})
    return [rows[q].metric(metric) if q in rows and not (answered_only and rows[q].error is not None) else None
            for q in questions]


def summarize(records: Sequence[AnswerRecord], metric: str = "correct", seed: int = 0) -> RunSummary:
    table = by_path(records)
    questions = sorted({r.question_id for r in records})
    paths = []
    for path, rows in table.items():
        ok = [r for r in rows.values() if r.error is None]
        summary = PathSummary(path, len(ok), len(rows) - len(ok))
        for name in QUALITY:
            summary.quality[name] = mean_ci([r.metric(name) for r in ok], seed)
        for stage in STAGES:
            values = [v for r in ok if (v := r.metric(f"latency_ms_{stage}")) is not None]
            if values:
                summary.latency_ms[stage] = {"p50": float(np.percentile(values, 50)),
                                             "p95": float(np.percentile(values, 95))}
        if ok:
            summary.tokens_in = float(np.mean([r.tokens_in for r in ok]))
            summary.tokens_out = float(np.mean([r.tokens_out for r in ok]))
            summary.cost_usd = float(np.mean([r.cost_usd for r in ok]))
        paths.append(summary)
    pairs, warnings = [], []
    names = [p.path for p in paths]
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            test = compare_pair(paired_values(table, a, questions, metric),
                                paired_values(table, b, questions, metric), a, b, seed)
            pairs.append(test)
            if not test.separable and test.diff.n and test.diff.mean != 0:
                need = (f"; an effect this size needs about {test.questions_needed} questions to separate with 80% "
                        "power" if test.questions_needed and test.questions_needed > test.diff.n else "")
                n = f"{test.diff.n} question" + ("" if test.diff.n == 1 else "s")
                warnings.append(f"{a} vs {b}: {n} cannot separate them on {metric} (difference "
                                f"{signed(test.diff.mean)}, 95% CI {signed(test.diff.low)} to "
                                f"{signed(test.diff.high)}){need}.")
    if len(pairs) > 1:  # several pairs read together: Holm's adjustment beside each p-value
        adjusted = holm([t.p_value for t in pairs])
        pairs = [dataclasses.replace(t, p_holm=p, separable_holm=p < 0.05) for t, p in zip(pairs, adjusted)]
    if questions and len(questions) < SMALL_N:
        count = f"{len(questions)} question" + ("" if len(questions) == 1 else "s")
        warnings.insert(0, f"Only {count}: confidence intervals are wide; use {SMALL_N}+ "
                           "to tell paths apart.")
    for p in paths:
        if p.errors:
            warnings.append(f"{p.path}: {p.errors} answer(s) could not be produced (see the error column).")
    looped = Counter(r.path for r in records if r.error is None and repeats(r.answer))
    for path, count in looped.items():
        warnings.append(f"{path}: {count} answer{'' if count == 1 else 's'} looped on a repeated phrase instead of "
                        "answering (scored as written; see the answer column).")
    return RunSummary(paths, pairs, metric, len(questions), warnings)


def win_matrix(summary: RunSummary) -> dict[str, dict[str, tuple[int, int, int]]]:
    """matrix[a][b] = (wins, ties, losses) of a against b, question by question."""
    matrix: dict[str, dict[str, tuple[int, int, int]]] = {p.path: {} for p in summary.paths}
    for t in summary.pairs:
        matrix[t.a][t.b] = (t.wins, t.ties, t.losses)
        matrix[t.b][t.a] = (t.losses, t.ties, t.wins)
    return matrix


def summary_rows(summary: RunSummary, run_id: str) -> list[dict]:
    """The per-path summary CSV rows."""
    rows = []
    for p in summary.paths:
        row = {"run_id": run_id, "path": p.path, "answered": p.answered, "errors": p.errors}
        for name, est in p.quality.items():
            row[name] = est.mean
            row[f"{name}_ci_low"], row[f"{name}_ci_high"], row[f"{name}_n"] = est.low, est.high, est.n
        for stage, values in p.latency_ms.items():
            row[f"latency_ms_{stage}_p50"], row[f"latency_ms_{stage}_p95"] = values["p50"], values["p95"]
        row.update(tokens_in_mean=p.tokens_in, tokens_out_mean=p.tokens_out, cost_usd_per_query=p.cost_usd)
        rows.append(row)
    return rows


HOLM_RULE = ("p is each pair's own paired permutation test; p (Holm) adjusts it for reading all the pairs of the run "
             "together. When you read several pairs at once, call a pair separable only when p (Holm) < 0.05.")


def pair_rows(summary: RunSummary, label: str) -> list[dict]:
    """The paired tests as table rows: difference with its CI, p, the Holm-adjusted p, W/T/L, verdicts."""
    rows = []
    for t in summary.pairs:
        row = {"a": t.a, "b": t.b, f"mean {label} difference (a - b)": round(t.diff.mean, 3) + 0.0,
               "95% CI": f"[{signed(t.diff.low)}, {signed(t.diff.high)}]", "p": round(t.p_value, 4)}
        if t.p_holm is not None:
            row["p (Holm)"] = round(t.p_holm, 4)
        row.update({"W/T/L": f"{t.wins}/{t.ties}/{t.losses}", "separable": t.separable})
        if t.separable_holm is not None:
            row["separable (Holm)"] = t.separable_holm
        rows.append(row)
    return rows


