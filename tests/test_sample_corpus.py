"""The sample corpus and its data sets meet what the lab's demos rely on."""

import json
from collections import Counter
from pathlib import Path

import pytest

from lab.config import SAMPLE_CORPUS, SAMPLE_DOCS, SAMPLE_GOLDEN
from lab.evaluation.golden import load_golden
from lab.index.ingest import collect_files
from lab.corpus.parsing import parse


@pytest.fixture(scope="module")
def documents():
    files, skipped = collect_files([SAMPLE_DOCS])
    assert skipped == []
    return {p.name: parse(p) for p in files}


def jsonl(name: str) -> list[dict]:
    return [json.loads(line) for line in (SAMPLE_CORPUS / name).read_text().splitlines() if line.strip()]


def test_corpus_size_and_formats(documents):
    assert len(documents) >= 25
    words = sum(len(d.text.split()) for d in documents.values())
    assert words >= 20_000, words
    assert {Path(n).suffix for n in documents} >= {".md", ".txt", ".html", ".pdf", ".docx", ".csv"}


def test_golden_set_covers_every_kind_with_real_sources(documents):
    questions = load_golden(SAMPLE_GOLDEN)
    assert len(questions) >= 60
    kinds = Counter(q.kind for q in questions)
    for kind in ("fact", "exact-term", "paraphrased", "multi-hop", "numeric", "negation"):
        assert kinds[kind] >= 4, kinds
    for q in questions:
        assert q.sources and set(q.sources) <= set(documents), (q.id, q.sources)
    assert all(len(q.sources) >= 2 for q in questions if q.kind == "multi-hop")


def test_fine_tuning_sets():
    behaviour = jsonl("finetune_behaviour.jsonl")
    assert len(behaviour) >= 200
    for row in behaviour:
        answer = json.loads(row["completion"])
        assert list(answer) == ["answer", "sources", "confidence"]
        assert "halyard" not in (row["prompt"] + row["completion"]).lower(), "behaviour data must not teach the corpus"
    knowledge = jsonl("finetune_knowledge.jsonl")
    assert len(knowledge) >= 100 and all(r["prompt"].startswith("Question: ") for r in knowledge)
    golden = {q.question for q in load_golden(SAMPLE_GOLDEN)}
    assert not golden & {r["prompt"].removeprefix("Question: ") for r in knowledge}, "no verbatim golden leakage"
    assert len(load_golden(SAMPLE_CORPUS / "general_tasks.jsonl")) >= 30


def test_update_document_changes_facts():
    assert (SAMPLE_CORPUS / "update" / "release-notes-5.1.md").read_text().count(" ") > 300
    questions = jsonl("update/questions.jsonl")
    assert len(questions) >= 6
    assert all(q["answer"] != q["answer_before_update"] for q in questions)
    assert not (SAMPLE_DOCS / "release-notes-5.1.md").exists(), "the update is not ingested by default"


def test_injection_document_is_seeded(documents):
    assert "ignore all previous instructions" in documents["faq.html"].text.lower()
