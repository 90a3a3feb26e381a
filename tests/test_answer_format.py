"""Format on the user's own schema: a behaviour set keeps its schema, the adapter records it, and a comparison
with that adapter scores format, answer text and citations on the schema's fields (the sample's shape only for
the sample's adapter)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lab.evaluation.answer_format import SAMPLE, AnswerFormat, of_adapter
from lab.evaluation.golden import GoldenQuestion

REPO = Path(__file__).resolve().parent.parent
SCHEMA = {"type": "object", "additionalProperties": False, "required": ["reply", "refs", "certainty"],
          "properties": {"reply": {"type": "string"}, "refs": {"type": "array", "items": {"type": "integer"}},
                         "certainty": {"type": "string", "enum": ["unsure", "sure"]}}}
MINE = '{"reply": "It listens on port 7443 [2].", "refs": [1], "certainty": "sure"}'
SAMPLES = '{"answer": "It listens on port 7443.", "sources": [1], "confidence": "high"}'


def test_the_users_schema_decides_format_answer_text_and_citations():
    from lab.evaluation.costs import PriceTable
    from lab.experiments.answer_paths import Answer
    from lab.experiments.scoring import score
    from lab.index.retrieval import Hit

    question = GoldenQuestion("q1", "Which port?", "7443", [], ["ports.md"])
    hits = [Hit("c1", "ports.md", "port 7443", 0.9), Hit("c2", "faq.md", "faq", 0.5)]
    fmt = AnswerFormat(SCHEMA)
    mine = score(Answer("hybrid", question.question, MINE, hits), question, PriceTable(), fmt)
    theirs = score(Answer("hybrid", question.question, SAMPLES, hits), question, PriceTable(), fmt)
    assert (mine.format_ok, theirs.format_ok) == (1.0, 0.0)
    assert mine.correct == 1.0 and mine.cited_sources == ["ports.md", "faq.md"] and mine.citation_valid == 1.0
    by_sample = score(Answer("hybrid", question.question, MINE, hits), question, PriceTable())
    assert by_sample.format_ok == 0.0  # what the lab did before: the user's own format scored 0
    assert score(Answer("hybrid", question.question, '{"reply": "I do not know.", "refs": [], "certainty": '
                        '"unsure"}', hits), question, PriceTable(), fmt).abstained == 1.0


@pytest.mark.parametrize("text", ['{"reply": "x", "refs": [1]}', '{"reply": "x", "refs": ["1"], "certainty": '
                                  '"sure"}', '{"reply": "x", "refs": [], "certainty": "maybe"}', "```json\n{}\n```",
                                  "plain text", "[1, 2]", '{"reply": "x", "refs": [], "certainty": "sure", "extra": 1}'])
def test_answers_the_schema_refuses_are_not_in_format(text):
    assert not AnswerFormat(SCHEMA).ok(text)


def test_a_behaviour_set_keeps_its_schema_and_fills_it_from_the_golden_answers(tmp_path):
    from lab.finetune.behaviour import build, schema_of_set

    questions = [GoldenQuestion(f"q{i}", f"Which port {i}?", "7443", [], ["ports.md"]) for i in range(10)]
    built = build(questions, SCHEMA, share=0)
    built.save(tmp_path / "set")
    assert json.loads((tmp_path / "set" / "schema.json").read_text()) == SCHEMA
    assert schema_of_set(tmp_path / "set" / "train.jsonl") == SCHEMA
    assert all(AnswerFormat(SCHEMA).ok(r["completion"]) for r in built.train + built.validation + built.test)
    assert json.loads(built.train[0]["completion"]) == {"reply": "7443", "refs": [], "certainty": "sure"}
    assert schema_of_set(REPO / "sample_corpus" / "finetune_behaviour.jsonl") is None


def test_a_schema_the_golden_answers_cannot_fill_says_to_use_a_teacher():
    from lab.errors import InputError
    from lab.finetune.behaviour import build

    strict = {"type": "object", "required": ["reply", "score"], "properties": {
        "reply": {"type": "string"}, "score": {"type": "integer", "minimum": 1}}}
    with pytest.raises(InputError, match="teacher endpoint"):
        build([GoldenQuestion("q1", "Which port?", "7443")], strict, share=0)


def test_the_adapter_records_the_schema_and_a_comparison_reads_it(tmp_path, monkeypatch):
    from lab.experiments.batch import differences, manifest_for
    from lab.experiments.answer_paths import PathContext
    from lab.session import EndpointSettings, Settings, answer_format_of

    monkeypatch.setenv("LAB_DATA_DIR", str(tmp_path))
    folder = tmp_path / "adapters" / "mine"
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text(json.dumps({"base_model": "x", "answer_schema": SCHEMA}))
    assert of_adapter(folder) == AnswerFormat(SCHEMA) and of_adapter(None) is SAMPLE
    assert answer_format_of(Settings(adapter=str(folder))).schema == SCHEMA
    served = Settings(endpoint=EndpointSettings("http://127.0.0.1:9/v1", "base", adapter="mine"))
    assert answer_format_of(served).schema == SCHEMA  # a lab adapter served under its folder's name
    assert answer_format_of(Settings()) is SAMPLE
    ctx = PathContext(None, answer_format=AnswerFormat(SCHEMA))
    manifest = manifest_for(ctx, "c", "q")
    assert manifest.answer_format["schema"] == SCHEMA and "reply" in manifest.answer_format["label"]
    assert differences(manifest, manifest_for(PathContext(None), "c", "q")) == ["answer format scored against"]


def test_a_batch_scores_every_path_on_the_adapters_schema(tmp_path):
    """The fake adapter answers in the sample's shape: held to the user's schema, that is out of format."""
    from lab.experiments.answer_paths import PathContext
    from lab.experiments.batch import CompareJob
    from lab.experiments.run_store import RunStore
    from test_compare_runs import QUESTIONS, Generator, Retriever

    runs = RunStore(tmp_path / "runs.sqlite")
    for fmt, expected in ((SAMPLE, 1.0), (AnswerFormat(SCHEMA), 0.0)):
        ctx = PathContext(Generator(), Retriever(), Retriever(), k=1, adapter="fmt", answer_format=fmt)
        job = CompareJob(QUESTIONS[:3], ["rag", "finetuned"], ctx, runs, {}).run()
        tuned = [r for r in runs.answers(job.run_id) if r.path == "finetuned"]
        assert [r.format_ok for r in tuned] == [expected] * 3


def test_a_behaviour_sets_own_split_is_trained_on_as_made(tmp_path):
    """13 questions make a 11/1/1 set; training it once split 11 again (to 9/1/1). The set's own split is used."""
    from lab.finetune.behaviour import build
    from lab.finetune.data import load_examples
    from lab.finetune.job import set_splits

    built = build([GoldenQuestion(f"q{i}", f"Which port {i}?", "7443", [], ["ports.md"]) for i in range(13)], SCHEMA,
                  share=0)
    built.save(tmp_path / "set")
    examples, _ = load_examples(tmp_path / "set" / "train.jsonl")
    train, val, test = set_splits(tmp_path / "set" / "train.jsonl", examples)
    assert (len(train), len(val), len(test)) == (len(built.train), len(built.validation), len(built.test))
    assert [e.completion for e in test] == [r["completion"] for r in built.test]
    assert set_splits(REPO / "sample_corpus" / "finetune_behaviour.jsonl", examples) is None
