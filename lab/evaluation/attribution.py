"""The matched design analysed as one: {no retrieval, retrieval} x {base, adapter} is a 2x2, and a team wants three
numbers with their uncertainty: what retrieval adds, what the adapter adds, and whether the two help or hurt each
other. On the same questions, per question q (scores of a metric, e.g. correct 0/1):

    retrieval effect   = ((R - P) + (H - F)) / 2        averaged over the adapter factor
    fine-tuning effect = ((F - P) + (H - R)) / 2        averaged over the retrieval factor
    interaction        = (H - F) - (R - P)              > 0: together more than the sum; < 0: less (RAFT's naive case)

with P = prompt, R = the retrieval path (hybrid-rag, whose retrieval `hybrid` shares; rag when only it ran),
F = finetuned, H = hybrid. Each effect's 95% CI is a paired bootstrap over questions (the per-question effects are
resampled together, `lab.evaluation.stats.mean_ci`); an effect is separable when its interval excludes 0.

Worked example: two questions, P = (0, 0), R = (1, 1), F = (0, 1), H = (1, 1): retrieval adds
((1 + 1) + (1 + 0)) / 2 / 2 = 0.75, the adapter ((0 + 1) + (0 + 0)) / 2 / 2 = 0.25, interaction
((1 + 0) - (1 + 1)) / 2 = -0.5:

>>> cells = {"prompt": [0, 0], "hybrid-rag": [1, 1], "finetuned": [0, 1], "hybrid": [1, 1]}
>>> a = attribute(cells, "correct")
>>> a.retrieval.mean, a.finetuning.mean, a.interaction.mean, a.n
(0.75, 0.25, -0.5, 2)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from lab.display import signed
from lab.evaluation.stats import Estimate, mean_ci

CELLS = ("prompt", "retrieval", "finetuned", "hybrid")


@dataclass(frozen=True)
class Attribution:
    metric: str
    retrieval_path: str                # hybrid-rag (or rag) : the retrieval cell without the adapter
    cells: dict[str, Estimate]         # the four cell means (prompt, retrieval, finetuned, hybrid)
    retrieval: Estimate
    finetuning: Estimate
    interaction: Estimate
    n: int                             # questions with all four cells scored

    def verdicts(self) -> dict[str, str]:
        def effect(e: Estimate, what: str) -> str:
            if e.n == 0:
                return f"{what}: not measured"
            if e.low > 0:
                return f"{what} helps: {signed(e.mean)} [{signed(e.low)}, {signed(e.high)}]"
            if e.high < 0:
                return f"{what} hurts: {signed(e.mean)} [{signed(e.low)}, {signed(e.high)}]"
            return f"{what}: no separable effect, {signed(e.mean)} [{signed(e.low)}, {signed(e.high)}]"

        i = self.interaction
        if i.n and i.low > 0:
            together = "together they do more than the sum of their parts"
        elif i.n and i.high < 0:
            together = "together they do less than the sum of their parts (they get in each other's way)"
        else:
            together = "no separable interaction: the two effects add up"
        return {"retrieval": effect(self.retrieval, "retrieval"), "finetuning": effect(self.finetuning, "the adapter"),
                "interaction": f"{together}, {signed(i.mean)} [{signed(i.low)}, {signed(i.high)}]" if i.n else
                "interaction: not measured"}

    def to_dict(self) -> dict:
        def est(e: Estimate) -> dict:
            return {"mean": e.mean, "low": e.low, "high": e.high, "n": e.n}

        return {"metric": self.metric, "retrieval_path": self.retrieval_path, "n": self.n,
                "cells": {k: est(v) for k, v in self.cells.items()}, "retrieval_effect": est(self.retrieval),
                "finetuning_effect": est(self.finetuning), "interaction": est(self.interaction),
                "verdicts": self.verdicts()}


def retrieval_cell(paths: Sequence[str]) -> str | None:
    """The retrieval path of the 2x2 among a run's paths: hybrid-rag (hybrid shares its retrieval), else rag."""
    return next((p for p in ("hybrid-rag", "rag") if p in paths), None)


def attribute(values: Mapping[str, Sequence[float | None]], metric: str, seed: int = 0) -> Attribution | None:
    """The 2x2 from per-question scores of each path (same question order in every list); None when a cell is
    missing. Questions where any cell has no score are left out of every effect (the design stays paired)."""
    retrieval = retrieval_cell(list(values))
    if retrieval is None or not all(p in values for p in ("prompt", "finetuned", "hybrid")):
        return None
    columns = [values["prompt"], values[retrieval], values["finetuned"], values["hybrid"]]
    rows = [row for row in zip(*columns) if all(v is not None for v in row)]
    effects = [(((r - p) + (h - f)) / 2, ((f - p) + (h - r)) / 2, (h - f) - (r - p)) for p, r, f, h in rows]
    cells = {name: mean_ci([row[i] for row in rows], seed) for i, name in enumerate(CELLS)}
    return Attribution(metric, retrieval, cells, mean_ci([e[0] for e in effects], seed),
                       mean_ci([e[1] for e in effects], seed), mean_ci([e[2] for e in effects], seed), len(rows))


def attribute_records(records, metric: str = "correct", seed: int = 0) -> Attribution | None:
    """`attribute` on a run's answer records (local paths; an `@endpoint` twin set is its own 2x2 and is left out)."""
    from lab.evaluation.summary import by_path, paired_values

    table = by_path(records)
    questions = sorted({r.question_id for r in records})
    return attribute({p: paired_values(table, p, questions, metric, answered_only=True) for p in table
                      if "@" not in p}, metric, seed)
