"""What every benchmark figure is made of: the `Figure` record, its target check, paired timing, and a data
directory switch. The figure modules (`corpus`, `peer`, `models`, `children`, `app`) build on this; `suite`
runs them."""

from __future__ import annotations

import contextlib
import os
import re
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Figure:
    """One benchmark figure: the lab's number, the same-run baseline's, and their ratio against a target."""

    name: str
    lab: float | None
    baseline: float | None
    unit: str
    ratio: float | None
    target: str
    met: bool | None
    detail: dict = field(default_factory=dict)


def meets(value: float | None, target: str) -> bool | None:
    """Whether `value` meets a target like ">= 0.8" or "< 4096": meets(0.9, ">= 0.8") -> True."""
    match = re.fullmatch(r"\s*(>=|<=|<|>)\s*([0-9.]+)\s*", target)
    if value is None or match is None:
        return None
    op, bound = match.group(1), float(match.group(2))
    return {">=": value >= bound, "<=": value <= bound, "<": value < bound, ">": value > bound}[op]


def figure(name: str, lab: float, baseline: float, unit: str, target: str, **detail) -> Figure:
    """A ratio figure: figure("x", 2.0, 4.0, "ms", "<= 1.5").ratio -> 0.5."""
    ratio = lab / baseline if baseline else None
    return Figure(name, lab, baseline, unit, ratio, target, meets(ratio, target), detail)


def paired_p50_ms(lab, baseline, queries: list[str], repeats: int) -> tuple[float, float]:
    """Median per-query milliseconds of `lab(q)` and `baseline(q)`, called alternately on each query, so a
    noisy neighbour slows both sides alike."""
    ours, theirs = [], []
    for _ in range(repeats):
        for q in queries:
            for fn, times in ((lab, ours), (baseline, theirs)):
                start = time.perf_counter()
                fn(q)
                times.append((time.perf_counter() - start) * 1000)
    return statistics.median(ours), statistics.median(theirs)


@contextlib.contextmanager
def data_dir_env(folder: str | Path):
    """Point LAB_DATA_DIR at `folder` for the block (LAB_MODELS_DIR is pinned first, so models are not
    converted again inside a temporary data directory)."""
    from lab.config import models_dir

    saved = {k: os.environ.get(k) for k in ("LAB_DATA_DIR", "LAB_MODELS_DIR")}
    os.environ["LAB_MODELS_DIR"] = str(models_dir())
    os.environ["LAB_DATA_DIR"] = str(folder)
    try:
        yield Path(folder)
    finally:
        for key, value in saved.items():
            os.environ.pop(key, None) if value is None else os.environ.__setitem__(key, value)
