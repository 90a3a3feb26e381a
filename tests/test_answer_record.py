"""The answer record (`lab.evaluation.record`): its JSON round trip, records stored by earlier versions of the lab,
the per-question CSV's columns, and the path roles declared once in the registry (`lab.experiments.answer_paths`)."""

import csv
import io
import json
import sqlite3
from dataclasses import fields

import pytest

from lab.evaluation.costs import PriceTable
from lab.evaluation.golden import GoldenQuestion
from lab.evaluation.record import AnswerRecord, RetrievedChunk
from lab.experiments.answer_paths import PATHS, Answer, available_paths, retrieves, uses_adapter
from lab.experiments.export import QUESTION_COLUMNS, question_csv, to_csv
from lab.experiments.run_store import RunStore
from lab.experiments.scoring import score
from lab.index.retrieval import Hit

# Exactly what `score` stored before the record was a class (lab at 7fe4a3f), with the batch's run_id added.
OLD_ANSWER = json.loads("""{"question_id": "q07", "question": "Which port does the API use?", "kind": "numeric",
 "path": "hybrid-rag", "answer": "Port 7443 [1].", "gold": "7443", "correct": 1.0, "f1": 0.8,
 "semantic_similarity": 0.8125, "grounded": 1.0, "citation_valid": 1.0, "format_ok": 0.0, "abstained": 0.0,
 "obeyed_injection": false, "cited_sources": ["ports.md"], "retrieved_sources": ["ports.md", "faq.html"],
 "hit_at_k": 1.0, "latency_ms_total": 352.5, "latency_ms_retrieve": 12.5, "latency_ms_rerank": null,
 "latency_ms_generate": 340.0, "tokens_in": 210, "tokens_out": 6, "tokens_estimated": false,
 "cost_usd": 4.3349999999999997e-05, "model": "SmolLM2-135M-Instruct", "adapter": null, "error": null,
 "chunks": [{"id": "c1", "source": "ports.md", "page": null, "score": 0.91, "scores": {"dense": 0.8, "rrf": 0.03},
             "text": "The server API listens on port 7443."},
            {"id": "c2", "source": "faq.html", "page": 2, "score": 0.5, "scores": {"dense": 0.4},
             "text": "Ask support."}],
 "messages": [{"role": "system", "content": "Answer from the passages."}, {"role": "user", "content": "Which port?"}],
 "run_id": "20250101-000000-abc123"}""")
OLD_FAILED = json.loads("""{"question_id": "q07", "question": "Which port does the API use?", "kind": "numeric",
 "path": "finetuned", "answer": "", "gold": "7443", "correct": null, "f1": null, "semantic_similarity": null,
 "grounded": null, "citation_valid": null, "format_ok": null, "abstained": null, "obeyed_injection": null,
 "cited_sources": [], "retrieved_sources": [], "hit_at_k": null, "latency_ms_total": null, "latency_ms_retrieve": null,
 "latency_ms_rerank": null, "latency_ms_generate": null, "tokens_in": 0, "tokens_out": 0, "tokens_estimated": false,
 "cost_usd": null, "model": "", "adapter": null,
 "error": "finetuned needs a LoRA adapter: load or train one on the Models page (or pass --adapter DIR).",
 "chunks": [], "messages": [], "run_id": "20250101-000000-abc123"}""")
CSV_HEADER = [
    "run_id", "question_id", "question", "kind", "path", "answer", "gold", "correct", "correct_strict",
    "judge_correct", "f1", "semantic_similarity", "grounded", "citation_valid", "format_ok", "abstained",
    "obeyed_injection", "cited_sources", "retrieved_sources",
    "hit_at_k", "latency_ms_total", "latency_ms_retrieve", "latency_ms_rerank", "latency_ms_generate", "tokens_in",
    "tokens_out", "tokens_estimated", "cost_usd", "model", "adapter", "error",
]
QUESTION = GoldenQuestion("q07", "Which port does the API use?", "7443", ["port 7443"], ["ports.md"], "numeric")


def scored() -> AnswerRecord:
    """The answer OLD_ANSWER was stored from, scored by today's `score`."""
    hits = [Hit("c1", "ports.md", "The server API listens on port 7443.", 0.91, scores={"dense": 0.8, "rrf": 0.03}),
            Hit("c2", "faq.html", "Ask support.", 0.5, page=2, scores={"dense": 0.4})]
    answer = Answer("hybrid-rag", QUESTION.question, "Port 7443 [1].", hits,
                    {"retrieve": 12.5, "generate": 340.0, "total": 352.5}, 210, 6,
                    [{"role": "system", "content": "Answer from the passages."},
                     {"role": "user", "content": "Which port?"}], "SmolLM2-135M-Instruct")
    record = score(answer, QUESTION, PriceTable())
    record.semantic_similarity, record.run_id = 0.8125, "20250101-000000-abc123"
    return record


def test_a_record_survives_json_round_trip():
    record = scored()
    assert AnswerRecord.from_dict(json.loads(json.dumps(record.to_dict()))) == record
    failed = score(Answer("finetuned", "q", error="no adapter"), QUESTION, PriceTable())
    assert AnswerRecord.from_dict(json.loads(json.dumps(failed.to_dict()))) == failed


def test_scoring_stores_exactly_what_it_stored_before():
    stored = scored().to_dict()
    assert stored.pop("correct_strict") == 1.0  # fields added since: contains the gold, not negated;
    assert stored.pop("judge_correct") is None  # and no judge at scoring time
    assert stored == OLD_ANSWER
    assert scored().chunks[1] == RetrievedChunk("c2", "faq.html", 2, 0.5, {"dense": 0.4}, "Ask support.")


@pytest.mark.parametrize("stored", [OLD_ANSWER, OLD_FAILED])
def test_records_of_earlier_versions_load_unchanged(stored):
    record = AnswerRecord.from_dict(stored)
    unscored = {"correct_strict": None, "judge_correct": None}  # not scored then: unknown, not wrong
    assert record.to_dict() == {**stored, **unscored}
    assert record.path == stored["path"] and record.correct == stored["correct"] and record.error == stored["error"]


def test_missing_and_unknown_keys_are_tolerated():
    older = {k: v for k, v in OLD_ANSWER.items() if k not in ("abstained", "obeyed_injection", "tokens_estimated")}
    record = AnswerRecord.from_dict({**older, "retired_metric": 0.5, "chunks": [{"text": "t", "rank": 1}]})
    assert record.abstained is None and record.obeyed_injection is None and record.tokens_estimated is False
    assert record.chunks == [RetrievedChunk(text="t")] and record.correct == 1.0


def test_the_run_store_reads_answers_stored_by_an_earlier_lab(tmp_path):
    runs = RunStore(tmp_path / "runs.sqlite")
    run_id = runs.create({"paths": ["hybrid-rag", "finetuned"]}, 2)
    with sqlite3.connect(tmp_path / "runs.sqlite") as db:  # written as the lab wrote them before
        db.executemany("insert into answers (run_id, question_id, path, record) values (?, ?, ?, ?)",
                       [(run_id, r["question_id"], r["path"], json.dumps(r)) for r in (OLD_ANSWER, OLD_FAILED)])
    records = runs.answers(run_id)
    assert [r.path for r in records] == ["hybrid-rag", "finetuned"] and records[0].chunks[0].source == "ports.md"
    runs.add_answers(run_id, records)  # stored again by this version: the same JSON
    unscored = {"correct_strict": None, "judge_correct": None}
    assert [r.to_dict() for r in runs.answers(run_id)] == [{**OLD_ANSWER, **unscored}, {**OLD_FAILED, **unscored}]


def test_the_csv_header_and_rows_are_unchanged():
    assert QUESTION_COLUMNS == CSV_HEADER
    assert set(CSV_HEADER) <= {f.name for f in fields(AnswerRecord)}, "every column is a field of the record"
    records = [AnswerRecord.from_dict(OLD_ANSWER), AnswerRecord.from_dict(OLD_FAILED)]
    text = question_csv(records)
    assert text == to_csv([OLD_ANSWER, OLD_FAILED], CSV_HEADER), "the CSV the lab wrote from the stored dicts"
    header, row, _ = list(csv.reader(io.StringIO(text)))
    assert header == CSV_HEADER and row[CSV_HEADER.index("retrieved_sources")] == "ports.md; faq.html"


def test_metrics_are_picked_by_name_and_unknown_names_say_which_exist():
    record = AnswerRecord.from_dict(OLD_ANSWER)
    assert record.metric("f1") == 0.8 and record.metric("latency_ms_rerank") is None
    assert record.model_ms == 340.0  # generate + rerank (none here)
    with pytest.raises(KeyError, match="use one of correct, correct_strict, judge_correct, f1"):
        record.metric("answer")


def test_path_roles_are_declared_once_and_read_through_endpoint_twins():
    assert [n for n in PATHS if retrieves(n)] == ["rag", "hybrid-rag", "hybrid", "agentic-rag", "agentic-hybrid"]
    assert [n for n in PATHS if uses_adapter(n)] == ["finetuned", "hybrid", "agentic-hybrid"]
    assert retrieves("hybrid-rag@endpoint") and not retrieves("prompt@endpoint")
    assert not retrieves("a-path-of-an-older-lab") and not uses_adapter("a-path-of-an-older-lab")
    assert available_paths(adapter=False) == ["prompt", "rag", "hybrid-rag", "agentic-rag"]
    assert available_paths(endpoint=True, adapter=False)[4:] == [p + "@endpoint" for p in PATHS]


@pytest.mark.parametrize("module", ["lab.evaluation.record", "lab.evaluation.injection",
                                    "lab.experiments.answer_paths"])
def test_docstring_examples(module):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted and not result.failed
