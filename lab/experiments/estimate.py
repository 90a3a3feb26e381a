"""A dry run: what a batch would cost before it runs. Every question is prepared (retrieval included) and its
prompt counted, a few answers per path are generated and timed (not stored), and the rest is extrapolated:
prompt and completion tokens per path, the cost from the price table, the time (on an endpoint, at the requests in
flight), and the smallest difference the number of questions can detect (`lab.evaluation.stats`).

    estimate = dry_run(ctx, questions, ["rag", "hybrid-rag"], PriceTable())
    print(dry_run_text(estimate))
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

from lab.display import count
from lab.evaluation.costs import PriceTable, query_cost
from lab.evaluation.golden import GoldenQuestion
from lab.evaluation.stats import ASSUMED_SD, detectable_difference, questions_needed
from lab.experiments.answer_paths import PathContext, generate, is_endpoint_path, prepare, retrieves

SAMPLE = 3  # answers generated per path to time it


@dataclass
class PathEstimate:
    path: str
    answers: int
    tokens_in: int                 # all prompts, counted (estimated at 4 characters a token on an endpoint)
    tokens_out: int                # measured mean completion x answers
    cost_usd: float
    seconds: float                 # measured time per answer x answers (divided by the requests in flight)
    sampled: int                   # answers generated to measure it
    estimated_tokens: bool = False
    errors: list[str] = field(default_factory=list)


@dataclass
class DryRun:
    questions: int
    paths: list[PathEstimate]
    price_source: str
    detectable: float              # smallest difference in accuracy detectable at 5% with 80% power
    assumed_sd: float = ASSUMED_SD
    sd_source: str = "assumed (no earlier run of these paths on this collection)"
    difference: float | None = None  # the difference the user cares about, if given
    needed: int | None = None        # questions that difference needs

    @property
    def cost_usd(self) -> float:
        return sum(p.cost_usd for p in self.paths)

    @property
    def seconds(self) -> float:
        return sum(p.seconds for p in self.paths)

    def to_dict(self) -> dict:
        return {"dry_run": True, "questions": self.questions, "paths": [asdict(p) for p in self.paths],
                "cost_usd": self.cost_usd, "seconds": self.seconds, "price_source": self.price_source,
                "detectable_difference": self.detectable, "assumed_sd": self.assumed_sd, "sd_source": self.sd_source,
                "difference": self.difference, "questions_needed": self.needed}


def _prompt_tokens(ctx: PathContext, path: str, messages: list[dict]) -> tuple[int, bool]:
    tokenizer = getattr(ctx.generator, "tokenizer", None)
    if not is_endpoint_path(path) and tokenizer is not None:
        return len(tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True)), False
    return (sum(len(str(m.get("content", ""))) for m in messages) + 3) // 4, True


def dry_run(ctx: PathContext, questions: Sequence[GoldenQuestion], paths: Sequence[str],
            table: PriceTable = PriceTable(), concurrency: int = 1, sample: int = SAMPLE,
            planning: tuple[float, str] | None = None, difference: float | None = None) -> DryRun:
    """The estimate of a batch of `questions` x `paths` (nothing is stored). `planning`: (sd, where it comes from)
    of the paired differences (`planning_sd`); `difference`: the one the user cares about, answered with the
    number of questions it needs."""
    estimates = []
    for path in paths:
        prepared = [prepare(path, q.question, ctx) for q in questions]
        counted = [_prompt_tokens(ctx, path, a.messages) for a in prepared if a.error is None]
        errors = sorted({a.error for a in prepared if a.error})
        timed = generate([a for a in prepared[:sample] if a.error is None], ctx)
        good = [a for a in timed if a.error is None]
        errors += sorted({a.error for a in timed if a.error} - set(errors))
        out = sum(a.tokens_out for a in good) / len(good) if good else 0.0
        ms = sum(a.latency_ms.get("generate", 0.0) for a in good) / len(good) if good else 0.0
        n = len(counted)
        cost = sum(query_cost(tokens, round(out), ms, retrieves(path), table) for tokens, _ in counted)
        flight = max(1, concurrency) if is_endpoint_path(path) else 1
        estimates.append(PathEstimate(path, n, sum(t for t, _ in counted), round(out * n), cost,
                                      ms / 1000 * n / flight, len(good), any(e for _, e in counted), errors))
    sd, source = planning or (ASSUMED_SD, DryRun.sd_source)
    needed = questions_needed(difference, sd) if difference else None
    return DryRun(len(questions), estimates, table.source, detectable_difference(len(questions), sd), sd, source,
                  difference, needed)


def planning_sd(runs, collection: str | None, paths: Sequence[str], metric: str = "correct"
                ) -> tuple[float, str] | None:
    """The spread of per-question differences measured by the latest complete run on `collection` that holds two
    or more of `paths`: the largest sd over its pairs (the hardest pair to separate), and which run it is."""
    import numpy as np

    for run in runs.list():
        if run.status != "done" or run.manifest.blind or run.manifest.collection != collection:
            continue
        shared = [p for p in paths if p in run.manifest.paths]
        if len(shared) < 2:
            continue
        scores: dict[str, dict[str, float]] = {}
        for record in runs.answers(run.run_id):
            value = record.metric(metric)
            if value is not None and record.error is None:
                scores.setdefault(record.question_id, {})[record.path] = float(value)
        sds = []
        for i, a in enumerate(shared):
            for b in shared[i + 1:]:
                diffs = [row[a] - row[b] for row in scores.values() if a in row and b in row]
                if len(diffs) >= 5:
                    sds.append(float(np.std(diffs, ddof=1)))
        if sds and max(sds) > 0:
            return max(sds), f"measured: run {run.run_id} ({count(len(scores), 'question')}, the widest of its pairs)"
    return None


def dry_run_text(estimate: DryRun) -> str:
    lines = [f"dry run: {count(estimate.questions, 'question')}, nothing stored",
             f"{'path':20} {'answers':>7} {'prompt tok':>11} {'compl. tok':>11} {'$':>10} {'time':>9}"]
    for p in estimate.paths:
        mark = "~" if p.estimated_tokens else ""
        lines.append(f"{p.path:20} {p.answers:7d} {mark + str(p.tokens_in):>11} {p.tokens_out:11d} "
                     f"{p.cost_usd:10.4f} {p.seconds:8.0f}s" + (f"  ({p.errors[0]})" if p.errors else ""))
    lines.append(f"total: ${estimate.cost_usd:.4f}, about {estimate.seconds / 60:.1f} min (time measured on "
                 f"{max((p.sampled for p in estimate.paths), default=0)} answers a path); prices: "
                 f"{estimate.price_source}")
    lines.append(power_text(estimate) + "; ~ marks token counts estimated at 4 characters a token")
    return "\n".join(lines)


def power_text(estimate: DryRun) -> str:
    """One sentence on what the run can detect, and what the user's difference needs (the two cannot disagree:
    both come from the same sd)."""
    text = (f"with {count(estimate.questions, 'question')} a paired comparison detects a difference in accuracy of "
            f"about {estimate.detectable:.2f} or more (5% level, 80% power; per-question differences with sd "
            f"{estimate.assumed_sd:.2f}, {estimate.sd_source})")
    if estimate.difference:
        enough = "enough" if estimate.needed <= estimate.questions else "more than this run asks"
        text += (f"; a difference of {estimate.difference:.2f} needs about {count(estimate.needed, 'question')} "
                 f"({enough})")
    return text
