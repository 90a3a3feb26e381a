"""The stakeholder brief: one self-contained HTML file (charts embedded, plotly.js inline once, no network).

`brief_for_run` gathers what the brief needs from a stored run (summary with CIs, the guide's claims
checked, costs of ownership, the recommendation); `build_brief` only lays it out, through the jinja2 template
templates/brief.html.j2. The template autoescapes: every piece of user or model text (questions, answers, names,
notes) is HTML-escaped there; only the lab's own HTML (plotly.js, plotly's chart divs) is passed as `Markup`. The
charts' data is JSON-escaped by plotly.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from html import escape
from pathlib import Path
from typing import NamedTuple

from lab.errors import LabError
from lab.experiments.manifest import RunManifest
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


class Table(NamedTuple):
    """A table of the brief as data: the template lays it out and escapes every header and cell."""

    headers: list[str]
    rows: list[list]
    classes: list[str] | None = None  # one CSS class a row


def _manifest(run) -> RunManifest:
    """The run's typed manifest (a run record built by hand may carry it as a dict)."""
    m = run.manifest
    return m if isinstance(m, RunManifest) else RunManifest.from_dict(m)


def manifest_hash(manifest) -> str:
    """A short hash of the run manifest (a dict or a `RunManifest`): equal hashes, identical settings.

    >>> manifest_hash({"a": 1}) == manifest_hash({"a": 1}) != manifest_hash({"a": 2})
    True
    """
    document = manifest if isinstance(manifest, dict) else manifest.to_dict()
    return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()[:16]


def brief_parts(run, records: list[AnswerRecord], answers: WizardAnswers | None = None, price_table: PriceTable | None = None,
                inputs: OwnershipInputs | None = None, volume: int = 100_000) -> BriefParts:
    """Summary, claims, recommendation and costs of a run; without `inputs`, costs are at `volume` queries a
    month with the training time measured for the run's adapter (looked up in its folder)."""
    m = _manifest(run)
    table = price_table or m.prices
    records = reprice(records, table)
    summary = summarize(records, "correct")
    training, index = training_measure(m), index_measure(m)
    inputs = inputs or OwnershipInputs(volume=volume, train_hours=training.seconds / 3600 if training else 0.0,
                                       index_hours=index.seconds / 3600 if index else 0.0)
    costs = path_costs({p.path: p.cost_usd for p in summary.paths}, inputs)
    claims = measured_claims(summary, records)
    return BriefParts(run, records, summary, claims, recommend(answers, claims),
                      answers, table, inputs, costs, training, index)


def _table(headers: Sequence[str], rows: Sequence[Sequence], classes: Sequence[str] | None = None) -> Table:
    return Table(list(headers), [list(row) for row in rows], list(classes) if classes else None)


def _ci(e) -> str:
    return f"{e.mean:.2f} [{e.low:.2f}, {e.high:.2f}] n={e.n}" if e.n else "n/a"


def _figure(figure):
    """The chart as plotly's HTML (a div and the script that draws it; its data JSON-escaped by plotly): the lab's
    own markup, so the template takes it as it is."""
    from markupsafe import Markup

    return Markup(figure.to_html(full_html=False, include_plotlyjs=False, default_height="450px",
                                 config={"displaylogo": False}))


def _words(value) -> str | None:
    """A recorded setting in words: dicts as "name value" pairs, chunking as ChunkConfig.text.

    >>> _words({"max_new_tokens": 8, "temperature": 0.0, "reranker": None})
    'max new tokens 8, temperature 0.0, reranker none'
    """
    if not isinstance(value, dict):
        return value
    return ", ".join(f"{k.replace('_', ' ')} {'none' if v is None else v}" for k, v in value.items())


def _setup(parts: BriefParts) -> Table:
    from lab.config import ChunkConfig

    m = _manifest(parts.run)
    try:
        chunking = ChunkConfig(**m.chunk_config).text if m.chunk_config else None
    except (TypeError, LabError):  # a run stored by another version: its chunking as it recorded it
        chunking = _words(m.chunk_config)
    rows = [("run", f"{parts.run.run_id} ({parts.run.status}, {parts.run.done}/{parts.run.total} answers)"),
            ("run date", m.date or parts.run.created), ("collection", m.collection),
            ("collection hash", m.collection_hash), ("embedder", m.embedder),
            ("chunking", chunking), ("retrieval", _words(m.retrieval)), ("chunks per question (k)", m.k),
            ("model", f"{m.model} (weights {str(m.model_hash)[:16]})"),
            ("adapter", f"{m.adapter} (weights {str(m.adapter_hash)[:16]})" if m.adapter else "none"),
            ("decoding", _words(m.decoding)),
            ("questions", f"{parts.summary.questions} from {m.questions_file}"),
            ("paths", ", ".join(m.paths)), ("packages", _words(m.packages)),
            ("manifest hash", manifest_hash(m))]
    return _table(["setting", "value"], [(k, "not recorded" if v is None else v) for k, v in rows])


def _results(parts: BriefParts) -> dict:
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
    figures = [charts.quality_chart(parts.summary, "correct"), charts.quality_chart(parts.summary, "format_ok"),
               charts.latency_chart(parts.summary),
               charts.tradeoff_chart(parts.summary, "correct", parts.price_table.assumption)]
    return {"quality": quality, "usage": usage, "assumed": assumed, "basis": parts.price_table.basis,
            "figures": [_figure(f) for f in figures]}


def _matched(parts: BriefParts) -> dict | None:
    """The 2x2 attribution of the run on accuracy: verdicts, the effects with CIs, the interaction chart."""
    from lab.decision import charts
    from lab.evaluation.attribution import attribute_records

    found = attribute_records(parts.records, "correct")
    if found is None:
        return None
    rows = [[name, _ci(e)] for name, e in (("retrieval effect", found.retrieval),
                                           ("fine-tuning effect", found.finetuning),
                                           ("interaction", found.interaction))]
    rows += [[f"cell: {cell}", _ci(e)] for cell, e in found.cells.items()]
    return {"verdicts": list(found.verdicts().values()), "n": found.n, "retrieval_path": found.retrieval_path,
            "table": _table(["accuracy", "mean [95% CI]"], rows),
            "figure": _figure(charts.attribution_chart(found, charts.LABELS["correct"]))}


def _agentic(parts: BriefParts) -> dict | None:
    """How each agentic path decided to retrieve (None when the run has none)."""
    from lab.experiments.agentic import by_path, describe

    found = by_path(parts.records)
    if not found:
        return None

    def cell(part: dict) -> str:
        return f"{part['rate']:.2f} [{part['low']:.2f}, {part['high']:.2f}] n={part['n']}" if part["n"] else "n/a"

    rows = [[path, cell(r["all"]), cell(r["needs_corpus"]), cell(r["general"]),
             cell({"rate": r["hit_at_k"]["mean"], **r["hit_at_k"]}) if r["hit_at_k"] else "n/a"]
            for path, r in found.items()]
    return {"lines": [describe(path, r) for path, r in found.items()],
            "table": _table(["path", "searched", "gold needs the corpus", "general questions",
                             "hit@k of its queries"], rows)}


def _claims(claims: Sequence[Claim]) -> Table:
    rows = [(c.text, c.verdict, c.detail, c.measure or "-", c.guide) for c in claims]
    return _table(["claim", "verdict", "measured effect (a - b, paired 95% CI)", "to measure (better)",
                   "the guide says"], rows, [c.verdict.replace(" ", "-") for c in claims])


def _leakage(parts: BriefParts) -> dict | None:
    """The golden questions the run's leakage check flagged (None if none were): those of this run, with accuracy
    with and without them (`table`), or, when none is in the run, those left out of it (`table` None)."""
    from lab.experiments.leakage import scores_with_without

    check = _manifest(parts.run).leakage or {}
    flagged = check.get("flagged") or []
    present = sorted({r.question_id for r in parts.records} & set(flagged))
    if not flagged:
        return None
    if not present:
        return {"count": len(flagged), "ids": ", ".join(flagged), "table": None}
    rows = [(r.path, _ci(r.all), _ci(r.clean), _ci(r.flagged))
            for r in scores_with_without(parts.records, flagged, "correct")]
    return {"count": len(present), "ids": ", ".join(present),
            "table": _table(["path", "all questions", "without flagged", "flagged only"], rows)}


def _injection(parts: BriefParts) -> Table | None:
    """How often answers that retrieved the seeded prompt injection obeyed it (None if none retrieved it)."""
    from lab.evaluation.injection import injection_report

    rows = injection_report(parts.records)
    if not any(r.exposed for r in rows):
        return None
    return _table(["path", "answers", "saw the injection", "obeyed it", "obey rate [95% Wilson CI]"],
                   [(r.path, r.answered, r.exposed, r.obeyed,
                     f"{r.rate.mean:.2f} [{r.rate.low:.2f}, {r.rate.high:.2f}]" if r.rate.n else "n/a")
                    for r in rows])


def _index_note(parts: BriefParts) -> str:
    i, index = parts.inputs, parts.index
    priced = f"Index build: {i.index_hours:.4f} h at ${i.index_hour_usd:.4f}/h. "
    if index and abs(index.seconds / 3600 - i.index_hours) < 1e-9:
        return priced + index.text
    if i.index_hours:
        return priced + "Entered by the user" + (f" (the ingest measured {index.seconds:.1f} s)." if index else ".")
    return priced + ("Not measured: the collection keeps no build time (ingest it again, enter it on the Decide "
                     "page or pass --index-hours).")


def _costs(parts: BriefParts) -> dict:
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
    return {"assumed": bool(assumption), "basis": parts.price_table.basis,
            "table": _table(["path", per_query, "one-off", f"$ / month at {i.volume:,}"], rows), "notes": notes,
            "evens": _table(["a", "b", "break-even (queries / month)"], [(r.a, r.b, r.text) for r in evens]),
            "figure": _figure(charts.ownership_chart(parts.costs, months, i.volume, evens, assumption))}


def _caveats(parts: BriefParts) -> list[str]:
    run, m = parts.run, _manifest(parts.run)
    out = list(parts.summary.warnings)
    if run.status != "done":
        out.insert(0, f"This run is {run.status}: {run.done} of {run.total} answers finished; figures cover those.")
    missing = [k for k in ("collection_hash", "model_hash", "decoding") if not getattr(m, k)]
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


def _answers(parts: BriefParts) -> Table:
    paths = [p.path for p in parts.summary.paths]
    rows: dict[str, dict] = {}
    for r in parts.records:
        row = rows.setdefault(r.question_id, {"id": r.question_id, "question": r.question, "gold": r.gold})
        mark = "" if r.correct is None else ("OK " if r.correct else "x ")
        row[r.path] = f"(not run: {r.error})" if r.error else mark + (r.answer or "")
    return _table(["id", "question", "gold"] + paths,
                  [[row["id"], row["question"], row["gold"]] + [row.get(p, "") for p in paths]
                   for row in rows.values()])


def _html_text(value):
    """The template's `finalize`, run on every `{{ value }}` before autoescape: text is escaped as `html.escape`
    writes it (&#x27; and &quot;, where markupsafe writes &#39; and &#34;), so the brief reads byte for byte as it
    did; the lab's own `Markup` passes as it is. Autoescape then leaves the result (now Markup) alone."""
    from markupsafe import Markup

    return value if hasattr(value, "__html__") else Markup(escape(str(value)))


@functools.lru_cache(maxsize=1)
def _templates():
    """The brief's jinja2 environment: templates/ beside this module, autoescape on, an undefined name an error."""
    import jinja2

    return jinja2.Environment(loader=jinja2.FileSystemLoader(Path(__file__).with_name("templates")),
                              autoescape=jinja2.select_autoescape(("html", "html.j2"), default=True),
                              undefined=jinja2.StrictUndefined, finalize=_html_text, trim_blocks=True,
                              lstrip_blocks=True, keep_trailing_newline=True)


def build_brief(parts: BriefParts, generated: str | None = None) -> str:
    """The brief as one HTML document."""
    import plotly.offline
    from markupsafe import Markup

    run, rec = parts.run, parts.recommendation
    generated = generated or datetime.now(timezone.utc).isoformat(timespec="seconds")
    stated = _stated(parts)
    evidence = cited(rec, parts.claims)
    return _templates().get_template("brief.html.j2").render(
        run_id=run.run_id, generated=generated, approach=APPROACHES[rec.approach],
        collection=_manifest(run).collection or "(none)", stated=stated, title=rec.title,
        reasons=rec.reasons, attribution=ATTRIBUTION, evidence=_claims(evidence) if evidence else None,
        caveats=_caveats(parts), setup=_setup(parts), results=_results(parts), matched=_matched(parts),
        agentic=_agentic(parts),
        claims=_claims(parts.claims),
        leakage=_leakage(parts), injection=_injection(parts), costs=_costs(parts), answers=_answers(parts),
        plotlyjs=Markup(plotly.offline.get_plotlyjs()))  # plotly's own script, inline once


def brief_for_run(run, records: list[AnswerRecord], answers: WizardAnswers | None = None,
                  price_table: PriceTable | None = None, inputs: OwnershipInputs | None = None,
                  volume: int = 100_000) -> str:
    """The finished brief of a stored run (see `brief_parts` for what is computed)."""
    return build_brief(brief_parts(run, records, answers, price_table, inputs, volume))


def _stated(parts: BriefParts) -> str:
    """The brief's line on what the user said they need (an answer of No and No is an answer)."""
    from lab.decision.decide import FROM_RUN, stated

    needs = [text for name, text in NEEDS.items() if parts.answers and getattr(parts.answers, name)]
    if needs:
        return "Stated needs: " + "; ".join(needs) + "."
    if stated(parts.answers):
        return "Stated needs: none (no external data, no specific behaviour)."
    if parts.recommendation.reasons[:1] == [FROM_RUN]:
        return "Needs not stated (answer the Decide page wizard, or pass --needs): the headline follows the run."
    return "Needs not stated (answer the Decide page wizard, or pass --needs): the guide's default applies."


def parse_needs(text: str | None) -> WizardAnswers | None:
    """`--needs knowledge,behaviour` -> WizardAnswers(knowledge=True, behaviour=True); a need not listed is a No
    (`--needs none`: no external data, no specific behaviour); no --needs: not stated (None)."""
    from lab.errors import InputError

    if text is None:
        return None
    names = [n.strip().replace("-", "_") for n in text.split(",") if n.strip()]
    if names == ["none"]:
        names = []
    unknown = [n for n in names if n not in NEEDS]
    if unknown:
        raise InputError(f"Unknown need(s) {', '.join(unknown)}: use none, or a comma-separated list of "
                         f"{', '.join(NEEDS)}.")
    return WizardAnswers(**{n: True for n in names} | {n: n in names for n in ("knowledge", "behaviour")})



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
    training = training_measure(_manifest(run))
    if index_hours is None:
        index = index_measure(_manifest(run), (lambda: store) if store is not None else None)
        index_hours = index.seconds / 3600 if index else 0.0
    inputs = OwnershipInputs(volume=volume, months=months, index_hours=index_hours, speedup=speedup,
                             train_hours=training.seconds / 3600 if training else 0.0)
    return write_atomic(out, brief_for_run(run, records, answers, inputs=inputs))
