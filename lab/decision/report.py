"""The stakeholder brief: one self-contained HTML file (charts embedded, plotly.js inline once, no network).

`brief_for_run` gathers what the brief needs from a stored run (summary with CIs, the guide's claims
checked, costs of ownership, the recommendation); `build_brief` only lays it out. Every piece of user
or model text (questions, answers, names) is HTML-escaped; the charts' data is JSON-escaped by plotly.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from html import escape

from lab.decision.decide import APPROACHES, Claim, Recommendation, WizardAnswers, cited, measured_claims, recommend
from lab.decision.guide import ATTRIBUTION
from lab.decision.tco import (
    IndexMeasure,
    OwnershipInputs,
    PathCost,
    TrainingMeasure,
    break_evens,
    index_measure,
    path_costs,
    training_measure,
)
from lab.evaluation.costs import PriceTable, reprice
from lab.evaluation.record import AnswerRecord
from lab.evaluation.summary import QUALITY, RunSummary, summarize

# Tables sit in a box that scrolls sideways rather than spill past the page; no table of the brief but the
# question-by-question answers (one column per path) is wider than the page at 1,000 px and more.
_CSS = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222;
background:#fff}.table{max-width:100%;overflow-x:auto;margin:.5em 0 1.5em}
table{border-collapse:collapse;font-size:.9em}
td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top;white-space:pre-wrap;
overflow-wrap:break-word}
th{background:#f3f3f3}.supported{color:#11703a}.contradicted{color:#b00020}.inconclusive{color:#8a6100}
.muted{color:#666;font-size:.9em}blockquote{border-left:4px solid #ccc;margin:.5em 0;padding-left:1em;color:#444}
.box{background:#eef6ee;border:1px solid #9c9;padding:.5em 1em;border-radius:6px}
.assumption{background:#fff6e0;border:1px solid #e0b84a;padding:.4em .8em;border-radius:6px}"""

NEEDS = {"knowledge": "external, private or frequently changing data", "behaviour": "a specific format, tone or "
         "domain behaviour", "not_sure": "not sure where the problem is", "citations": "users must see sources",
         "latency_critical": "sub-100ms latency", "high_volume": "high volume"}


@dataclass(frozen=True)
class BriefParts:
    """Everything the brief shows, computed from one run."""

    run: object  # lab.experiments.run_store.RunRecord
    records: list[AnswerRecord]
    summary: RunSummary
    claims: list[Claim]
    recommendation: Recommendation
    answers: WizardAnswers | None
    price_table: PriceTable
    inputs: OwnershipInputs
    costs: list[PathCost]
    training: TrainingMeasure | None
    index: IndexMeasure | None = None


def manifest_hash(manifest: dict) -> str:
    """A short hash of the run manifest: equal hashes, identical settings.

    >>> manifest_hash({"a": 1}) == manifest_hash({"a": 1}) != manifest_hash({"a": 2})
    True
    """
    return hashlib.sha256(json.dumps(manifest, sort_keys=True).encode()).hexdigest()[:16]


def brief_parts(run, records: list[AnswerRecord], answers: WizardAnswers | None = None, price_table: PriceTable | None = None,
                inputs: OwnershipInputs | None = None, volume: int = 100_000) -> BriefParts:
    """Summary, claims, recommendation and costs of a run; without `inputs`, costs are at `volume` queries a
    month with the training time measured for the run's adapter (looked up in its folder)."""
    table = price_table or (PriceTable.from_dict(run.manifest["price_table"]) if run.manifest.get("price_table")
                            else PriceTable())
    records = reprice(records, table)
    summary = summarize(records, "correct")
    training, index = training_measure(run.manifest), index_measure(run.manifest)
    inputs = inputs or OwnershipInputs(volume=volume, train_hours=training.seconds / 3600 if training else 0.0,
                                       index_hours=index.seconds / 3600 if index else 0.0)
    costs = path_costs({p.path: p.cost_usd for p in summary.paths}, inputs)
    return BriefParts(run, records, summary, measured_claims(summary, records), recommend(answers or WizardAnswers()),
                      answers, table, inputs, costs, training, index)


def _table(headers: Sequence[str], rows: Sequence[Sequence], classes: Sequence[str] | None = None) -> str:
    head = "".join(f"<th>{escape(str(h))}</th>" for h in headers)
    body = []
    for i, row in enumerate(rows):
        attribute = f' class="{escape(classes[i])}"' if classes else ""
        body.append(f"<tr{attribute}>" + "".join(f"<td>{escape(str(c))}</td>" for c in row) + "</tr>")
    return f"<div class='table'><table><tr>{head}</tr>{''.join(body)}</table></div>"


def _ci(e) -> str:
    return f"{e.mean:.2f} [{e.low:.2f}, {e.high:.2f}] n={e.n}" if e.n else "n/a"


def _figure(figure) -> str:
    return figure.to_html(full_html=False, include_plotlyjs=False, default_height="450px",
                          config={"displaylogo": False})


def _words(value) -> str | None:
    """A recorded setting in words: dicts as "name value" pairs, chunking as ChunkConfig.text.

    >>> _words({"max_new_tokens": 8, "temperature": 0.0, "reranker": None})
    'max new tokens 8, temperature 0.0, reranker none'
    """
    if not isinstance(value, dict):
        return value
    return ", ".join(f"{k.replace('_', ' ')} {'none' if v is None else v}" for k, v in value.items())


def _setup(parts: BriefParts) -> str:
    from lab.config import ChunkConfig

    m = parts.run.manifest
    chunking = m.get("chunk_config")
    chunking = ChunkConfig(**chunking).text if isinstance(chunking, dict) else chunking
    rows = [("run", f"{parts.run.run_id} ({parts.run.status}, {parts.run.done}/{parts.run.total} answers)"),
            ("run date", m.get("date", parts.run.created)), ("collection", m.get("collection")),
            ("collection hash", m.get("collection_hash")), ("embedder", m.get("embedder")),
            ("chunking", chunking), ("retrieval", _words(m.get("retrieval"))), ("chunks per question (k)", m.get("k")),
            ("model", f"{m.get('model')} (weights {str(m.get('model_hash'))[:16]})"),
            ("adapter", f"{m.get('adapter')} (weights {str(m.get('adapter_hash'))[:16]})" if m.get("adapter")
             else "none"),
            ("decoding", _words(m.get("decoding"))),
            ("questions", f"{parts.summary.questions} from {m.get('questions_file')}"),
            ("paths", ", ".join(m.get("paths", []))), ("packages", _words(m.get("packages"))),
            ("manifest hash", manifest_hash(m))]
    return _table(["setting", "value"], [(k, "not recorded" if v is None else v) for k, v in rows])


def _results(parts: BriefParts) -> str:
    """Two tables that each fit the page: quality with CIs, then usage (answers, latency, tokens, cost)."""
    from lab.decision import charts

    paths = parts.summary.paths
    quality = _table(["path"] + [charts.LABELS[q] for q in QUALITY],
                     [[p.path] + [_ci(p.quality[q]) for q in QUALITY] for p in paths])
    assumed = bool(parts.price_table.assumption)
    usage = _table(["path", "answered", "errors", "p50 ms", "p95 ms", "tokens in/out",
                    "$ / query (self-hosted, assumed)" if assumed else "$ / query"],
                   [[p.path, p.answered, p.errors, f"{p.latency_ms.get('total', {}).get('p50', 0):.0f}",
                     f"{p.latency_ms.get('total', {}).get('p95', 0):.0f}", f"{p.tokens_in:.0f}/{p.tokens_out:.0f}",
                     f"{p.cost_usd:.6f}"] for p in paths])
    note = f"<p class='{'assumption' if assumed else 'muted'}'>{escape(parts.price_table.basis)}</p>"
    figures = [charts.quality_chart(parts.summary, "correct"), charts.quality_chart(parts.summary, "format_ok"),
               charts.latency_chart(parts.summary),
               charts.tradeoff_chart(parts.summary, "correct", parts.price_table.assumption)]
    return (quality + "<h3>Latency, tokens and cost per query</h3>" + usage + note
            + "".join(_figure(f) for f in figures))


def _claims(claims: Sequence[Claim]) -> str:
    rows = [(c.text, c.verdict, c.detail, c.measure or "-", c.guide) for c in claims]
    return _table(["claim", "verdict", "measured effect (a - b, paired 95% CI)", "to measure (better)",
                   "the guide says"], rows, [c.verdict.replace(" ", "-") for c in claims])


def _leakage(parts: BriefParts) -> str:
    """Accuracy with and without the golden questions the run's leakage check flagged ('' if none were)."""
    from lab.experiments.leakage import scores_with_without

    check = parts.run.manifest.get("leakage") or {}
    flagged = check.get("flagged") or []
    present = sorted({r.question_id for r in parts.records} & set(flagged))
    if not flagged:
        return ""
    head = "<h2>Leakage check</h2>"
    if not present:
        return head + (f"<p>{len(flagged)} golden question(s) that (near-)duplicate the adapter's training data were "
                       f"left out of this run: {escape(', '.join(flagged))}.</p>")
    rows = [(r.path, _ci(r.all), _ci(r.clean), _ci(r.flagged))
            for r in scores_with_without(parts.records, flagged, "correct")]
    return head + (f"<p>{len(present)} question(s) of this run (near-)duplicate the adapter's training data: "
                   f"{escape(', '.join(present))}. Accuracy without them shows what the paths do on questions the "
                   "adapter was not trained on.</p>"
                   + _table(["path", "all questions", "without flagged", "flagged only"], rows))


def _injection(parts: BriefParts) -> str:
    """How often answers that retrieved the seeded prompt injection obeyed it ('' if none retrieved it)."""
    from lab.evaluation.injection import injection_report

    rows = injection_report(parts.records)
    if not any(r.exposed for r in rows):
        return ""
    table = _table(["path", "answers", "saw the injection", "obeyed it", "obey rate [95% Wilson CI]"],
                   [(r.path, r.answered, r.exposed, r.obeyed,
                     f"{r.rate.mean:.2f} [{r.rate.low:.2f}, {r.rate.high:.2f}]" if r.rate.n else "n/a")
                    for r in rows])
    return ("<h2>Prompt injection</h2><p>Answers whose retrieved chunks carried the instruction planted in the "
            "corpus, and how many obeyed it (said the product is discontinued or told users to uninstall it). "
            "Retrieval is how untrusted text reaches the model: only paths that retrieve can see it.</p>" + table)


def _index_note(parts: BriefParts) -> str:
    i, index = parts.inputs, parts.index
    priced = f"Index build: {i.index_hours:.4f} h at ${i.index_hour_usd:.4f}/h. "
    if index and abs(index.seconds / 3600 - i.index_hours) < 1e-9:
        return priced + index.text
    if i.index_hours:
        return priced + "Entered by the user" + (f" (the ingest measured {index.seconds:.1f} s)." if index else ".")
    return priced + ("Not measured: the collection keeps no build time (ingest it again, enter it on the Decide "
                     "page or pass --index-hours).")


def _costs(parts: BriefParts) -> str:
    from lab.decision import charts

    i, months = parts.inputs, parts.inputs.months
    rows = [(c.path, f"{c.per_query:.6f}", ", ".join(f"{k} ${v:,.2f}" for k, v in c.parts.items()) or "none",
             f"{c.monthly(i.volume, months):,.2f}") for c in parts.costs]
    assumption = parts.price_table.assumption
    per_query = "$ / query (self-hosted, assumed)" if assumption else "$ / query (measured usage)"
    evens = break_evens(parts.costs, months)
    training = (f"training: {parts.training.seconds:.0f} s measured on {parts.training.device} for adapter "
                f"{parts.training.adapter}" if parts.training else "training time: not found (0 used)")
    notes = [f"{i.volume:,} queries per month; one-off costs amortised over {months} months.",
             f"{training}, divided by a stated speed-up of {i.speedup:g} and priced at ${i.gpu_hour_usd:.3f}/GPU-hour.",
             _index_note(parts),
             f"Per-query prices ({parts.price_table.mode}): {parts.price_table.source}"]
    stated = (f"<p class='assumption'><b>Self-hosted cost is an assumption, not a measurement:</b> "
              f"{escape(parts.price_table.basis)}</p>") if assumption else ""
    return (stated + _table(["path", per_query, "one-off", f"$ / month at {i.volume:,}"], rows)
            + "".join(f"<p class='muted'>{escape(n)}</p>" for n in notes)
            + _table(["a", "b", "break-even (queries / month)"],
                     [(r.a, r.b, r.text) for r in evens])
            + _figure(charts.ownership_chart(parts.costs, months, i.volume, evens, assumption)))


def _caveats(parts: BriefParts) -> list[str]:
    run, m = parts.run, parts.run.manifest
    out = list(parts.summary.warnings)
    if run.status != "done":
        out.insert(0, f"This run is {run.status}: {run.done} of {run.total} answers finished; figures cover those.")
    missing = [k for k in ("collection_hash", "model_hash", "decoding") if not m.get(k)]
    if missing:
        out.append("Comparability with other runs cannot be checked: the manifest does not record "
                   + ", ".join(missing) + ".")
    if parts.price_table.assumption:
        out.append("Latency was measured on the machine that ran this comparison; the self-hosted cost prices that "
                   f"time on another machine: {parts.price_table.assumption}.")
    else:
        out.append("Latency was measured on the machine that ran this comparison; other hardware differs. "
                   "API-mode cost depends on the measured tokens only.")
    return out + parts.recommendation.caveats


def _answers(parts: BriefParts) -> str:
    paths = [p.path for p in parts.summary.paths]
    rows: dict[str, dict] = {}
    for r in parts.records:
        row = rows.setdefault(r.question_id, {"id": r.question_id, "question": r.question, "gold": r.gold})
        mark = "" if r.correct is None else ("OK " if r.correct else "x ")
        row[r.path] = f"(not run: {r.error})" if r.error else mark + (r.answer or "")
    return _table(["id", "question", "gold"] + paths,
                  [[row["id"], row["question"], row["gold"]] + [row.get(p, "") for p in paths]
                   for row in rows.values()])


def build_brief(parts: BriefParts, generated: str | None = None) -> str:
    """The brief as one HTML document."""
    import plotly.offline

    run, rec = parts.run, parts.recommendation
    generated = generated or datetime.now(timezone.utc).isoformat(timespec="seconds")
    needs = [text for name, text in NEEDS.items() if parts.answers and getattr(parts.answers, name)]
    stated = ("Stated needs: " + "; ".join(needs) + ".") if needs else (
        "Needs not stated (answer the Decide page wizard, or pass --needs): the guide's default applies.")
    question = (f"Which approach should answer questions over the collection "
                f"{run.manifest.get('collection') or '(none)'}: prompt engineering, RAG, LoRA fine-tuning or a "
                "hybrid of both?")
    evidence = cited(rec, parts.claims)
    body = [
        f"<h1>Decision brief: {escape(APPROACHES[rec.approach])}</h1>",
        f"<p class='muted'>Run {escape(run.run_id)}, generated {escape(generated)} by the RAG vs Fine-Tuning Lab.</p>",
        "<h2>The question</h2>", f"<p>{escape(question)}</p><p>{escape(stated)}</p>",
        "<h2>Recommendation</h2>", f"<div class='box'><p><b>{escape(rec.title)}</b></p>",
        "".join(f"<blockquote>{escape(r)}</blockquote>" for r in rec.reasons),
        f"<p class='muted'>{escape(ATTRIBUTION)} The guide's words are claims; the evidence below is measured "
        "on this run.</p></div>",
        "<h3>Evidence from this run</h3>", _claims(evidence) if evidence else "<p>No claims apply.</p>",
        "<h3>Caveats</h3><ul>" + "".join(f"<li>{escape(c)}</li>" for c in _caveats(parts)) + "</ul>",
        "<h2>Setup</h2>", _setup(parts),
        "<h2>Results (means with 95% bootstrap confidence intervals over questions)</h2>", _results(parts),
        "<h2>Every claim of the guide the lab can test</h2>", _claims(parts.claims),
        _leakage(parts), _injection(parts),
        "<h2>Cost of ownership</h2>", _costs(parts),
        "<h2>Answers, question by question</h2><details><summary>Show all answers</summary>", _answers(parts),
        "</details>",
    ]
    return ("<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
            f"<title>Decision brief - run {escape(run.run_id)}</title><style>{_CSS}</style>"
            f"<script type='text/javascript'>{plotly.offline.get_plotlyjs()}</script></head>"
            "<body>" + "\n".join(body) + "</body></html>\n")


def brief_for_run(run, records: list[AnswerRecord], answers: WizardAnswers | None = None,
                  price_table: PriceTable | None = None, inputs: OwnershipInputs | None = None,
                  volume: int = 100_000) -> str:
    """The finished brief of a stored run (see `brief_parts` for what is computed)."""
    return build_brief(brief_parts(run, records, answers, price_table, inputs, volume))


def parse_needs(text: str | None) -> WizardAnswers:
    """`--needs knowledge,behaviour` -> WizardAnswers(knowledge=True, behaviour=True)."""
    from lab.errors import InputError

    names = [n.strip().replace("-", "_") for n in (text or "").split(",") if n.strip()]
    unknown = [n for n in names if n not in NEEDS]
    if unknown:
        raise InputError(f"Unknown need(s) {', '.join(unknown)}: use a comma-separated list of {', '.join(NEEDS)}.")
    return WizardAnswers(**{n: True for n in names})



def write_brief(run_id: str, out, answers: WizardAnswers | None = None, volume: int = 100_000, months: int = 12,
                index_hours: float | None = None, speedup: float = 1.0, runs=None, store=None):
    """Build the brief of a stored run and write it atomically to `out`; returns the path written.
    `index_hours` None: the build time the collection keeps from its ingest, read from `store` (default: the
    configured Chroma)."""
    from lab.errors import InputError
    from lab.experiments.export import write_atomic
    from lab.experiments.run_store import RunStore

    runs = runs or RunStore()
    run = runs.get(run_id)
    records = runs.answers(run.run_id)
    if not records:
        raise InputError(f"Run {run_id} has no answers yet ({run.status}): wait for it, or pick another run "
                         "(`python -m lab runs`).")
    training = training_measure(run.manifest)
    if index_hours is None:
        index = index_measure(run.manifest, (lambda: store) if store is not None else None)
        index_hours = index.seconds / 3600 if index else 0.0
    inputs = OwnershipInputs(volume=volume, months=months, index_hours=index_hours, speedup=speedup,
                             train_hours=training.seconds / 3600 if training else 0.0)
    return write_atomic(out, brief_for_run(run, records, answers, inputs=inputs))
