"""The paths' plumbing with a fake generator and retriever."""

import pytest

from lab import prompts
from lab.errors import InputError
from lab.paths import PATHS, PathContext, parse_paths, run_path
from lab.retrieval import Hit


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
    with pytest.raises(InputError, match="choose from prompt, rag, hybrid-rag"):
        parse_paths("prompt,magic")
    with pytest.raises(InputError, match="empty"):
        run_path("prompt", "  ", PathContext(None))
    assert list(PATHS) == ["prompt", "rag", "hybrid-rag"]


def test_hybrid_rag_path_uses_the_hybrid_retriever(fake_generator):
    answer = run_path("hybrid-rag", "Q?", PathContext(fake_generator, None, FakeRetriever(), k=2))
    assert answer.error is None and answer.text == "saw 2 passages"
    assert run_path("hybrid-rag", "Q?", PathContext(fake_generator)).error.startswith("hybrid-rag needs an index")
