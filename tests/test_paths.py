"""The paths' plumbing with a fake generator and retriever."""

import dataclasses

import pytest

from lab.generation import prompts
from lab.errors import InputError
from lab.experiments.answer_paths import PATHS, PathContext, parse_paths, run_path
from lab.index.retrieval import Hit


class FakeRetriever:
    name = "fake"

    def search(self, query, k):
        return [Hit(f"id{i}", f"doc{i}.md", f"passage {i}", 1.0 - i / 10) for i in range(k)]


def test_prompt_path_sends_the_question_alone(fake_generator):
    answer = run_path("prompt", "What port?", PathContext(fake_generator))
    assert answer.error is None and answer.hits == []
    assert answer.messages == prompts.chat("What port?")
    assert answer.text == "saw 0 passages"
    assert set(answer.latency_ms) == {"generate", "total"}


def test_rag_path_numbers_the_retrieved_chunks(fake_generator):
    answer = run_path("rag", "What port?", PathContext(fake_generator, FakeRetriever(), k=3))
    assert answer.text == "saw 3 passages"
    user = answer.messages[-1]["content"]
    assert "[1] source: doc0.md\npassage 0" in user and "[3] source: doc2.md" in user
    assert user.startswith(prompts.CONTEXT_HEADER)
    assert set(answer.latency_ms) == {"retrieve", "generate", "total"}
    assert [h.source for h in answer.hits] == ["doc0.md", "doc1.md", "doc2.md"]


def test_a_path_that_cannot_run_reports_why(fake_generator):
    answer = run_path("rag", "What port?", PathContext(fake_generator))
    assert answer.text == "" and "needs an index" in answer.error


def test_path_names_are_checked():
    assert parse_paths("prompt, rag") == ["prompt", "rag"]
    with pytest.raises(InputError, match="choose from prompt, rag, hybrid-rag, finetuned, hybrid"):
        parse_paths("prompt,magic")
    with pytest.raises(InputError, match="empty"):
        run_path("prompt", "  ", PathContext(None))
    assert list(PATHS) == ["prompt", "rag", "hybrid-rag", "finetuned", "hybrid", "agentic-rag", "agentic-hybrid"]


def test_hybrid_rag_path_uses_the_hybrid_retriever(fake_generator):
    answer = run_path("hybrid-rag", "Q?", PathContext(fake_generator, None, FakeRetriever(), k=2))
    assert answer.error is None and answer.text == "saw 2 passages"
    assert run_path("hybrid-rag", "Q?", PathContext(fake_generator)).error.startswith("hybrid-rag needs an index")


def test_adapter_paths_report_a_missing_adapter_and_use_it_when_loaded(fake_generator):
    ctx = PathContext(fake_generator, None, FakeRetriever(), k=2)
    assert "needs a LoRA adapter" in run_path("finetuned", "Q?", ctx).error
    assert "needs a LoRA adapter" in run_path("hybrid", "Q?", ctx).error
    ctx.adapter = "behaviour"
    assert run_path("finetuned", "Q?", ctx).text == "behaviour saw 0 passages"
    hybrid = run_path("hybrid", "Q?", ctx)
    assert hybrid.text == "behaviour saw 2 passages" and hybrid.adapter == "behaviour"


def test_answers_on_the_same_weights_generate_in_one_call_each_timed_by_its_own_share(fake_generator):
    from lab.experiments.answer_paths import generate, prepare

    ctx = PathContext(fake_generator, FakeRetriever(), FakeRetriever(), k=1, adapter="a1")
    prepared = [prepare(p, f"Q{i}?", ctx) for i in range(3) for p in ("prompt", "rag", "finetuned")]
    answers = generate(prepared, ctx)
    assert sorted(fake_generator.batches, key=str) == sorted([(6, None), (3, "a1")], key=str)
    assert all(a.latency_ms["generate"] == pytest.approx(4) for a in answers)  # Generation.seconds, not divided
    fake_generator.batches.clear()
    generate([prepare(p, f"Q{i}?", ctx) for i in range(3) for p in ("prompt", "rag", "finetuned")],
             dataclasses.replace(ctx, continuous=False))  # fixed batches: one path a batch, none padded to another's
    assert sorted(fake_generator.batches, key=str) == sorted([(3, None), (3, None), (3, "a1")], key=str)



def test_one_question_through_several_paths_reports_each_path_as_it_is_done(fake_generator):
    from lab.experiments.answer_paths import run_paths

    answered = []
    answers = run_paths(["prompt", "rag", "hybrid-rag"], "Q?", PathContext(fake_generator, FakeRetriever(),
                                                                          FakeRetriever(), k=2),
                        lambda path, n: answered.append(path))
    assert [a.path for a in answers] == ["prompt", "rag", "hybrid-rag"] == answered  # as each answer is done
    assert fake_generator.batches == [(3, None)] and all(a.error is None for a in answers)  # decoded together


def test_passages_are_shown_with_their_title_and_heading_only_when_asked(fake_generator):
    """`RetrievalConfig.passage_context`: off, the model reads the chunk's own text; on, after a line naming its
    document title and heading (as the index reads it). A run records it only when on, so runs made before it
    stay comparable with runs that leave it off."""
    from lab.experiments.batch import differences, manifest_for

    class Titled(FakeRetriever):
        def search(self, query, k):
            return [dataclasses.replace(h, title="Halyard Guide", heading=f"{i}. Section") for i, h in
                    enumerate(super().search(query, k), 1)]

    plain = run_path("rag", "What port?", PathContext(fake_generator, Titled(), k=2))
    shown = run_path("rag", "What port?", PathContext(fake_generator, Titled(), k=2, passage_context=True))
    assert "[1] source: doc0.md\npassage 0" in plain.messages[-1]["content"]
    assert "[1] source: doc0.md\nHalyard Guide — 1. Section\npassage 0" in shown.messages[-1]["content"]
    off = manifest_for(PathContext(fake_generator), "c", "q.jsonl")
    on = manifest_for(PathContext(fake_generator, passage_context=True), "c", "q.jsonl")
    assert "passage_context" not in off.to_dict() and on.to_dict()["passage_context"] is True
    assert differences(off, on) and not differences(off, off.with_(date="later"))
