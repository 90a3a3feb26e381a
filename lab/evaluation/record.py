"""The answer record: one path's answer to one golden question, with every score, latency, token count and cost.

It is made once, by `lab.experiments.scoring.score`, and read by attribute everywhere after: the run store
(as JSON), the per-question CSV (its fields are the CSV's columns, `lab.experiments.export`), the summaries,
the charts, the brief and the pages.

The stored form is a flat dict with the CSV's keys plus `chunks` and `messages`, exactly as the lab has
always stored it; `from_dict` reads the records of earlier versions of the lab too: a missing key takes its
default and a key this version does not know is ignored.

>>> import json
>>> record = AnswerRecord(question_id="q1", path="rag", answer="Port 7443 [1].", correct=1.0,
...                       chunks=[RetrievedChunk(id="c1", source="ports.md", text="Port 7443.")])
>>> AnswerRecord.from_dict(json.loads(json.dumps(record.to_dict()))) == record
True
>>> old = AnswerRecord.from_dict({"question_id": "q1", "path": "rag", "a_key_of_another_version": 1})
>>> old.correct, old.chunks, old.tokens_in
(None, [], 0)
>>> record.metric("correct"), record.metric("latency_ms_total")
(1.0, None)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lab.index.retrieval import Hit

# The record's numeric fields that summaries, paired tests and the guide's claims pick by name.
METRICS = ("correct", "correct_strict", "judge_correct", "f1", "semantic_similarity", "grounded", "citation_valid",
           "format_ok", "abstained", "hit_at_k", "searched",
           "latency_ms_total", "latency_ms_retrieve", "latency_ms_rerank", "latency_ms_generate")


@dataclass(frozen=True)
class RetrievedChunk:
    """A chunk put in front of the model, as the record keeps it (a `lab.index.retrieval.Hit` less its ranks)."""

    id: str = ""
    source: str = ""
    page: int | None = None
    score: float = 0.0
    scores: dict[str, float] = field(default_factory=dict)  # stage -> score (dense, bm25, rrf, rerank)
    text: str = ""

    @classmethod
    def from_hit(cls, hit: Hit) -> RetrievedChunk:
        return cls(hit.id, hit.source, hit.page, hit.score, dict(hit.scores), hit.text)

    @classmethod
    def from_dict(cls, data: dict) -> RetrievedChunk:
        return cls(**{k: v for k, v in data.items() if k in _CHUNK_FIELDS})


@dataclass(kw_only=True)
class AnswerRecord:
    """One answer, scored. Scores are None when they do not apply (the answer failed, no gold sources, ...)."""

    run_id: str | None = None  # set when the record is stored with its run
    question_id: str
    question: str = ""
    kind: str = ""  # the golden question's kind (fact, numeric, negation, ...)
    path: str  # the path id, e.g. "hybrid-rag" or "rag@endpoint"
    answer: str = ""  # the model's text as generated
    gold: str = ""
    correct: float | None = None  # 1.0 when the gold answer (or an alias) is in the answer, else 0.0
    correct_strict: float | None = None  # correct, and the answer does not negate or contradict it
    judge_correct: float | None = None  # a judge model's verdict (lab.evaluation.judge); None when not judged
    f1: float | None = None
    semantic_similarity: float | None = None  # filled in per batch with the embedder
    grounded: float | None = None
    citation_valid: float | None = None
    format_ok: float | None = None  # the answer is the fine-tuned JSON format
    abstained: float | None = None
    obeyed_injection: bool | None = None
    cited_sources: list[str] = field(default_factory=list)
    retrieved_sources: list[str] = field(default_factory=list)
    hit_at_k: float | None = None
    latency_ms_total: float | None = None
    latency_ms_retrieve: float | None = None
    latency_ms_rerank: float | None = None
    latency_ms_generate: float | None = None
    tokens_in: int = 0
    tokens_out: int = 0
    tokens_estimated: bool = False  # the endpoint reported no usage: the counts are estimates
    cost_usd: float | None = None
    model: str = ""
    adapter: str | None = None
    error: str | None = None  # why the path could not answer (then every score is None)
    chunks: list[RetrievedChunk] = field(default_factory=list)
    messages: list[dict] = field(default_factory=list)  # the chat messages the model was given
    agent: dict | None = None  # an agentic path's decisions (lab.experiments.agentic), with needs_corpus

    @property
    def searched(self) -> float | None:
        """1.0 when an agentic path chose to search for this answer, 0.0 when it did not; None for other paths."""
        return float(self.agent.get("searched", 0.0)) if self.agent and self.error is None else None

    @property
    def model_ms(self) -> float:
        """The time a model ran for this answer (generation and reranking): what self-hosting pays for."""
        return (self.latency_ms_generate or 0.0) + (self.latency_ms_rerank or 0.0)

    def metric(self, name: str) -> float | None:
        """A score or latency picked by name, as summaries and claims do: metric("f1")."""
        if name not in METRICS:
            raise KeyError(f"{name!r} is not a metric of an answer record: use one of {', '.join(METRICS)}.")
        return getattr(self, name)

    def to_dict(self) -> dict:
        """The stored form: plain JSON types, the same keys as every earlier version of the lab (an agentic path's
        decisions added only where there are some)."""
        stored = asdict(self)
        if stored["agent"] is None:
            del stored["agent"]
        return stored

    @classmethod
    def from_dict(cls, data: dict) -> AnswerRecord:
        """A record from its stored form, of this version of the lab or an earlier one."""
        values = {k: v for k, v in data.items() if k in _RECORD_FIELDS}
        values["chunks"] = [RetrievedChunk.from_dict(c) for c in data.get("chunks") or []]
        return cls(**values)


_CHUNK_FIELDS = frozenset(f.name for f in fields(RetrievedChunk))
_RECORD_FIELDS = frozenset(f.name for f in fields(AnswerRecord))
