"""The guide's decision framework as plain logic, and its testable claims checked against a run.

`recommend` walks the guide's framework: external/private/changing data -> RAG; specific format, tone
or domain behaviour -> fine-tune; both -> hybrid; neither, or not sure -> prompt engineer first.

>>> recommend(WizardAnswers(knowledge=True, behaviour=True)).approach
'hybrid'
>>> recommend(WizardAnswers(knowledge=True, behaviour=True, not_sure=True)).approach
'prompt'

`measured_claims` turns a run into evidence: each claim compares two paths question by question
(difference of means a - b with its paired bootstrap 95% CI) and gets a verdict. For a claim that
expects a gain, a CI above 0 supports it and a CI below 0 contradicts it, both only when the paired
permutation test agrees (p < 0.05); otherwise it is inconclusive. With `rag` right on 3 of 4
questions where `prompt` was right on none, the difference is +0.75:

>>> from lab.evaluation.record import AnswerRecord
>>> from lab.evaluation.summary import summarize
>>> rows = [AnswerRecord(question_id=f"q{i}", path=p, correct=c, cost_usd=0.0)
...         for i in range(4) for p, c in (("prompt", 0.0), ("rag", float(i < 3)))]
>>> claim = next(c for c in measured_claims(summarize(rows), rows) if c.id == "rag_accuracy")
>>> round(claim.effect.mean, 2), claim.verdict
(0.75, 'inconclusive')

(four questions are too few: the bootstrap CI of so few values excludes 0, but the sign-flip test gives
p = 0.25). A path missing from the run gives "not measured".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from lab.decision.guide import BOTTOM_LINE, QUOTES
from lab.evaluation.record import AnswerRecord
from lab.evaluation.stats import Estimate, PairTest, compare_pair
from lab.evaluation.summary import by_path, paired_values

APPROACHES = {"prompt": "Prompt engineering first", "rag": "RAG", "fine-tune": "Fine-tuning",
              "hybrid": "Hybrid (RAG + fine-tuning)"}
SUPPORTED, CONTRADICTED, INCONCLUSIVE, NOT_MEASURED = "supported", "contradicted", "inconclusive", "not measured"
MARGIN = 0.05  # a difference smaller than 5 points of a 0-1 score counts as "no real difference"


@dataclass(frozen=True)
class WizardAnswers:
    """What the user needs, in the terms of the guide's framework and quick reference."""

    # The framework's two questions: None until answered (an unanswered wizard is not an answer of No and No).
    knowledge: bool | None = field(default=None,
                                   metadata={"help": "Needs external, private or frequently changing data."})
    behaviour: bool | None = field(default=None,
                                   metadata={"help": "Needs a specific format, tone or domain behaviour."})
    not_sure: bool = field(default=False, metadata={"help": "Not sure where the problem is."})
    citations: bool = field(default=False, metadata={"help": "Users need to see which source was used."})
    latency_critical: bool = field(default=False, metadata={"help": "Sub-100ms inference needed."})
    high_volume: bool = field(default=False, metadata={"help": "High volume (the guide says 10M+ calls/month)."})


@dataclass(frozen=True)
class Recommendation:
    approach: str  # a key of APPROACHES
    title: str
    reasons: list[str]  # the guide's framework, quoted
    caveats: list[str]
    claim_ids: list[str]  # the measured claims this recommendation rests on


@dataclass(frozen=True)
class Claim:
    id: str
    text: str  # the claim as the lab tests it
    guide: str  # the guide's words
    a: str  # the comparison is a - b
    b: str
    metric: str  # a record field: correct, format_ok, hit_at_k, latency_ms_total
    expect: str  # "gain" (a > b), "no gain" (a not above b by MARGIN), "no loss" (a not below b by MARGIN)
    verdict: str
    effect: Estimate | None = None  # mean of a - b with its paired 95% CI
    p_value: float | None = None
    detail: str = ""  # the measurement in words, or why it is missing
    measure: str = ""  # the run that would measure it (or measure it better)

    @property
    def paths(self) -> list[str]:
        return [self.a, self.b]


# id, text, guide quote, a, b, metric, expectation
CLAIMS = (
    ("rag_accuracy", "RAG raises accuracy over prompt-only", "rag_knowledge", "rag", "prompt", "correct", "gain"),
    ("hybrid_retrieval", "Hybrid retrieval beats dense-only RAG on accuracy", "hybrid_rag", "hybrid-rag", "rag",
     "correct", "gain"),
    ("hybrid_retrieval_hits", "Hybrid retrieval finds the gold source more often than dense-only", "hybrid_rag",
     "hybrid-rag", "rag", "hit_at_k", "gain"),
    ("finetune_format", "Fine-tuning changes behaviour (JSON format compliance)", "finetune_behaviour",
     "finetuned", "prompt", "format_ok", "gain"),
    ("finetune_no_knowledge", "Fine-tuning does not add knowledge (accuracy)", "finetune_knowledge", "finetuned",
     "prompt", "correct", "no gain"),
    ("hybrid_format", "Hybrid adds the fine-tuned format to RAG", "hybrid", "hybrid", "hybrid-rag", "format_ok",
     "gain"),
    ("hybrid_accuracy", "Hybrid keeps RAG's accuracy", "hybrid", "hybrid", "hybrid-rag", "correct", "no loss"),
    ("retrieval_latency", "Retrieval adds latency (ms per query)", "latency", "rag", "prompt", "latency_ms_total",
     "gain"),
    ("agentic_accuracy", "Letting the model decide when and what to retrieve keeps hybrid RAG's accuracy",
     "agentic_rag", "agentic-rag", "hybrid-rag", "correct", "no loss"),
)
CLAIM_IDS = tuple(c[0] for c in CLAIMS)


def stated(answers: WizardAnswers | None) -> bool:
    """Whether the wizard says anything; an answer of No is an answer:
    stated(WizardAnswers()), stated(WizardAnswers(knowledge=False, behaviour=False)) -> (False, True)."""
    from dataclasses import astuple

    return answers is not None and (any(astuple(answers)) or answers.knowledge is not None
                                    or answers.behaviour is not None)


def recommend(answers: WizardAnswers | None, claims: Sequence[Claim] = ()) -> Recommendation:
    """The guide's framework applied to the answers; caveats say what to measure before trusting it. With no need
    stated and a run's `claims` measured, the headline follows what the run measured instead
    (`from_measurements`)."""
    if not stated(answers) and any(c.verdict != NOT_MEASURED for c in claims):
        return from_measurements(claims)
    answers = answers or WizardAnswers()
    knowledge = answers.knowledge or answers.citations
    reasons, caveats = [], []
    if answers.not_sure or not (knowledge or answers.behaviour):
        approach = "prompt"
        reasons.append("You\u2019re not sure where the problem is \u2192 Prompt engineer first" if answers.not_sure
                       else "No external data, no specific behaviour: General improvement? \u2192 Prompt engineer "
                            "first")
        claims = ["rag_accuracy", "finetune_format"]
        caveats.append("Measure before moving on: a run with prompt, rag and finetuned shows whether either "
                       "approach beats prompting on your questions.")
    elif knowledge and answers.behaviour:
        approach = "hybrid"
        reasons.append("Accurate facts AND consistent output format \u2192 Hybrid (both)")
        reasons.append("External data \u2192 Use RAG; Also need specific output format? Add fine-tuning on top "
                       "\u2192 Hybrid")
        claims = ["hybrid_format", "hybrid_accuracy", "rag_accuracy", "finetune_format", "hybrid_retrieval"]
    elif knowledge:
        approach = "rag"
        reasons.append("Does your application need access to external, private, or frequently changing data? "
                       "YES \u2192 Use RAG")
        claims = ["rag_accuracy", "hybrid_retrieval", "hybrid_retrieval_hits", "retrieval_latency", "agentic_accuracy"]
    else:
        approach = "fine-tune"
        reasons.append("No external data; Specific format/tone/domain? \u2192 Fine-tune")
        claims = ["finetune_format", "finetune_no_knowledge"]
    if answers.citations:
        reasons.append("Users need to see which source was used \u2192 RAG")
    reasons.append(BOTTOM_LINE[approach])
    if approach in ("fine-tune", "hybrid"):
        caveats.append(QUOTES["prompt_first"])
    if approach == "fine-tune" and answers.citations:
        caveats.append("A fine-tuned model alone cannot cite sources: the guide lists source attribution under RAG.")
    if answers.latency_critical:
        reasons.append("Sub-100ms inference at high volume \u2192 Fine-tune a smaller model")
        if approach in ("rag", "hybrid"):
            caveats.append("Latency matters and this approach retrieves: check the measured retrieval latency "
                           "below (the guide says +50\u2013200ms).")
        claims.append("retrieval_latency")
    if answers.high_volume:
        caveats.append(QUOTES["high_volume"] + " \u2014 check it with the cost-of-ownership break-even below, "
                       "priced from your run.")
    caveats.append(QUOTES["golden_set"])
    return Recommendation(approach, APPROACHES[approach], reasons, caveats, list(dict.fromkeys(claims)))


FROM_RUN = "No need is stated in the wizard: this follows what your run measured."


def from_measurements(claims: Sequence[Claim]) -> Recommendation:
    """The approach a run's measured claims point to when no need is stated: retrieval that beats prompting, plus
    fine-tuning where the run shows the adapter adds the format on top of it; fine-tuning alone where only the
    format gain is measured; otherwise prompting first, saying why.

    >>> from lab.evaluation.stats import Estimate
    >>> gain = dict(verdict=SUPPORTED, effect=Estimate(0.3, 0.1, 0.5, 40), detail="rag - prompt = +0.30")
    >>> rec = from_measurements([Claim("rag_accuracy", "RAG raises accuracy over prompt-only", "", "rag", "prompt",
    ...                                "correct", "gain", **gain)])
    >>> rec.approach, rec.reasons[0]
    ('rag', 'No need is stated in the wizard: this follows what your run measured.')
    """
    by_id = {c.id: c for c in claims}

    def holds(cid: str) -> bool:
        return cid in by_id and by_id[cid].verdict == SUPPORTED

    retrieval = holds("rag_accuracy")
    if retrieval and holds("hybrid_format"):
        approach, ids = "hybrid", ["rag_accuracy", "hybrid_format", "hybrid_accuracy"]
    elif retrieval:
        approach, ids = "rag", ["rag_accuracy", "hybrid_retrieval", "agentic_accuracy"]
    elif holds("finetune_format"):
        approach, ids = "fine-tune", ["finetune_format", "finetune_no_knowledge", "rag_accuracy"]
    else:
        approach, ids = "prompt", ["rag_accuracy", "finetune_format"]
    reasons = [FROM_RUN]
    reasons += [f"{by_id[i].text}: {by_id[i].verdict} ({by_id[i].detail})" for i in ids
                if i in by_id and by_id[i].verdict != NOT_MEASURED]
    if approach == "prompt":
        reasons.append("Neither retrieval nor the adapter measured a separable gain over prompting on this run.")
    reasons.append(BOTTOM_LINE[approach])
    caveats = ["Answer the wizard above: your needs (facts from your data, a format, citations, latency, volume) "
               "decide the approach; the measurements then say whether it delivers.", QUOTES["golden_set"]]
    return Recommendation(approach, APPROACHES[approach], reasons, caveats, ids)


def _flip(test: PairTest) -> PairTest:
    d = test.diff
    return PairTest(test.b, test.a, Estimate(-d.mean, -d.high, -d.low, d.n), test.p_value, test.losses, test.ties,
                    test.wins, test.separable, test.questions_needed)


def paired_test(summary, records: Sequence[AnswerRecord], a: str, b: str, metric: str) -> PairTest:
    """a - b on `metric`: the summary's own test when it has one, else the same paired test on the records
    (answers that failed left out)."""
    if metric == summary.metric:
        for test in summary.pairs:
            if (test.a, test.b) == (a, b):
                return test
            if (test.a, test.b) == (b, a):
                return _flip(test)
    table = by_path(records)
    questions = sorted({r.question_id for r in records})
    return compare_pair(paired_values(table, a, questions, metric, answered_only=True),
                        paired_values(table, b, questions, metric, answered_only=True), a, b)


def verdict(diff: Estimate, expect: str, p_value: float = 0.0, margin: float = MARGIN) -> str:
    """Supported / contradicted / inconclusive from the CI of a - b (and, for a gain, the test's p-value).

    >>> verdict(Estimate(0.3, 0.1, 0.5, 30), "gain", 0.01), verdict(Estimate(0.1, -0.1, 0.3, 30), "gain", 0.3)
    ('supported', 'inconclusive')
    >>> verdict(Estimate(0.3, 0.1, 0.5, 4), "gain", 0.25)
    'inconclusive'
    >>> verdict(Estimate(0.0, 0.0, 0.0, 30), "no gain"), verdict(Estimate(0.2, 0.1, 0.3, 30), "no gain")
    ('supported', 'contradicted')
    """
    if not diff.n:
        return NOT_MEASURED
    if expect == "gain":
        if p_value >= 0.05:
            return INCONCLUSIVE
        return SUPPORTED if diff.low > 0 else CONTRADICTED if diff.high < 0 else INCONCLUSIVE
    if expect == "no gain":
        return SUPPORTED if diff.high < margin else CONTRADICTED if diff.low > 0 else INCONCLUSIVE
    if expect == "no loss":
        return SUPPORTED if diff.low > -margin else CONTRADICTED if diff.high < 0 else INCONCLUSIVE
    raise ValueError(f"unknown expectation {expect!r}")


def _measure_text(a: str, b: str, test: PairTest | None) -> str:
    base = f"Compare page, golden set (batch) with paths {a} and {b}"
    if test is not None and test.questions_needed and test.questions_needed > test.diff.n:
        return f"{base}: an effect this size needs about {test.questions_needed} questions to separate."
    return base + " (30+ questions)."


def _latency_detail(summary, a: str, b: str) -> str:
    p50 = {p.path: p.latency_ms for p in summary.paths}
    total_a, total_b = p50[a].get("total", {}).get("p50"), p50[b].get("total", {}).get("p50")
    parts = []
    if total_a and total_b:
        parts.append(f"p50 total {total_a:.0f} ms vs {total_b:.0f} ms ({total_a / total_b:.1f}x)")
    retrieve = p50[a].get("retrieve", {}).get("p50")
    if retrieve is not None:
        parts.append(f"retrieval stage alone p50 {retrieve:.0f} ms; the rest is the longer prompt")
    return "; ".join(parts)


def measured_claims(summary, records: Sequence[AnswerRecord]) -> list[Claim]:
    """Every testable claim of the guide with this run's evidence (or why there is none yet)."""
    present = {p.path for p in summary.paths}
    claims = []
    for cid, text, quote, a, b, metric, expect in CLAIMS:
        missing = [p for p in (a, b) if p not in present]
        if missing:
            why = f"the run has no {' or '.join(missing)} path" if present else "no run yet"
            claims.append(Claim(cid, text, QUOTES[quote], a, b, metric, expect, NOT_MEASURED,
                                detail=f"not measured yet: {why}",
                                measure=_measure_text(a, b, None)))
            continue
        test = paired_test(summary, records, a, b, metric)
        found = verdict(test.diff, expect, test.p_value)
        if found == NOT_MEASURED:
            why = "no gold sources in the golden set" if metric == "hit_at_k" else f"no scored {metric} values"
            claims.append(Claim(cid, text, QUOTES[quote], a, b, metric, expect, NOT_MEASURED,
                                detail=f"not measured yet: {why}", measure=_measure_text(a, b, None)))
            continue
        d = test.diff
        unit, digits = (" ms", 0) if metric.startswith("latency") else ("", 2)
        mean, low, high = (f"{round(v, digits) + 0.0:+.{digits}f}" for v in (d.mean, d.low, d.high))  # no -0.00
        detail = (f"{a} - {b} = {mean}{unit}, 95% CI [{low}, {high}], p = {test.p_value:.3g}, n = {d.n}, "
                  f"W/T/L {test.wins}/{test.ties}/{test.losses}")
        if metric.startswith("latency"):
            detail = "; ".join(filter(None, [detail, _latency_detail(summary, a, b)]))
        if expect != "gain":
            detail += f" (margin \u00b1{MARGIN})"
        if any(r.agent for r in records if r.path == a):  # and how the model decided to retrieve
            from lab.experiments.agentic import describe, retrieve_rates

            detail += "; " + describe(a, retrieve_rates([r for r in records if r.path == a]))
        claims.append(Claim(cid, text, QUOTES[quote], a, b, metric, expect, found, d, test.p_value, detail,
                            _measure_text(a, b, test) if found == INCONCLUSIVE else ""))
    return claims


def cited(recommendation: Recommendation, claims: Sequence[Claim]) -> list[Claim]:
    """The claims a recommendation rests on, in its order."""
    by_id = {c.id: c for c in claims}
    return [by_id[i] for i in recommendation.claim_ids if i in by_id]


ANSWERED_NO = "no-"  # in the URL, the framework's questions answered No: "no-knowledge"


def answers_to_url(answers: WizardAnswers) -> str:
    """The wizard's answers as a URL parameter; an unanswered question is left out, a No is kept:
    answers_to_url(WizardAnswers(knowledge=True, behaviour=False)) -> 'knowledge,no-behaviour'."""
    from dataclasses import fields

    return ",".join(f.name if getattr(answers, f.name) else ANSWERED_NO + f.name for f in fields(answers)
                    if getattr(answers, f.name) or getattr(answers, f.name) is False and f.default is None)


def answers_from_url(text: str | None) -> WizardAnswers:
    """The answers a URL parameter holds; unknown names are ignored (a link from another version still opens).

    >>> answers_from_url("knowledge,citations,nonsense") == WizardAnswers(knowledge=True, citations=True)
    True
    >>> answers_from_url("no-knowledge,no-behaviour") == WizardAnswers(knowledge=False, behaviour=False)
    True
    """
    from dataclasses import fields

    tri_state = {f.name for f in fields(WizardAnswers) if f.default is None}
    known = {f.name for f in fields(WizardAnswers)}
    given: dict[str, bool] = {}
    for name in (p.strip() for p in (text or "").split(",")):
        if name in known:
            given[name] = True
        elif name.startswith(ANSWERED_NO) and name[len(ANSWERED_NO):] in tri_state:
            given[name[len(ANSWERED_NO):]] = False
    return WizardAnswers(**given)
