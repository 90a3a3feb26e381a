"""The agentic arm: the model decides whether to search and with which query (a plain-text protocol for local
models, the OpenAI tools API for endpoints), each answer records its decisions, and the retrieve rate is read per
question kind. Plumbing runs on scripted models and a protocol-level server; the embedded model decides on two
real PDF manuals below, and on `transformers serve` (tools API) in test_transformers_serve.py."""

from __future__ import annotations

import pytest

from lab.experiments.answer_paths import PathContext, run_path
from lab.generation import prompts
from lab.generation.endpoint import EndpointGenerator
from lab.generation.models import Generation
from lab.index.retrieval import Hit


class Retriever:
    name = "fake"

    def __init__(self):
        self.queries: list[str] = []

    def search(self, query, k):
        self.queries.append(query)
        found = [Hit("c1", "ports.md", "The API listens on port 7443.", 0.9),
                 Hit("c2", "limits.md", "The rate limit is 40 requests a second.", 0.5),
                 Hit(f"q-{query}", "other.md", f"About {query}.", 0.4)]
        return found[:k]


class Scripted:
    """Decides by script: the decision turns (the agent's system prompt) get the next scripted reply; answer turns
    say how many passages they saw."""

    name = "scripted"

    def __init__(self, *decisions: str):
        self.decisions, self.seen = list(decisions), []

    def generate(self, conversations, decoding, adapter=None, continuous=True, each=None):
        out = []
        for messages in conversations:
            self.seen.append((messages, adapter))
            if messages[0]["content"] == prompts.AGENT_SYSTEM:
                out.append(Generation(self.decisions.pop(0) if self.decisions else "ANSWER", 50, 6, 0.01))
            else:
                seen = messages[-1]["content"].count("\n[")
                out.append(Generation(f"{adapter or ''}saw {seen}", 80, 5, 0.02))
        return out


def test_a_local_model_searches_then_answers_from_what_it_found():
    model, retriever = Scripted("SEARCH: api port", "ANSWER"), Retriever()
    answer = run_path("agentic-rag", "Which port does the API use?", PathContext(model, None, retriever, k=2))
    assert answer.error is None and retriever.queries == ["api port"]
    assert answer.agent["searched"] == 1.0 and answer.agent["queries"] == ["api port"] and answer.agent["steps"] == 2
    assert answer.agent["decisions"] == ["SEARCH: api port", "ANSWER"]
    assert [h.id for h in answer.hits] == ["c1", "c2"] and "[2] source: limits.md" in answer.messages[-1]["content"]
    # the second decision saw what the first search found; the answer turn is the shared template
    assert "Found so far:\n- ports.md: The API listens" in model.seen[1][0][-1]["content"]
    assert answer.messages[0]["content"] == prompts.SYSTEM_PROMPT
    # the decisions cost time and tokens, counted in the answer's own
    assert (answer.tokens_in, answer.tokens_out) == (80 + 2 * 50, 5 + 2 * 6)
    assert answer.latency_ms["decide"] == pytest.approx(20.0) and answer.latency_ms["total"] >= 40.0


def test_a_model_that_answers_directly_gets_no_passages():
    answer = run_path("agentic-rag", "What is 2 + 2?", PathContext(Scripted("ANSWER"), None, Retriever(), k=3))
    assert answer.error is None and answer.hits == [] and answer.agent["searched"] == 0.0
    assert answer.agent["steps"] == 1 and answer.text == "saw 0"
    assert "[1]" not in answer.messages[-1]["content"]


def test_searches_are_bounded_and_a_repeated_query_ends_them():
    retriever = Retriever()
    answer = run_path("agentic-rag", "Q?", PathContext(Scripted(*["SEARCH: a", "SEARCH: b", "SEARCH: c",
                                                                  "SEARCH: d"]), None, retriever, k=3))
    assert retriever.queries == ["a", "b", "c"] and answer.agent["steps"] == 3
    # the best k over all searches, by each search's rank: both first-ranked hits come before any third one
    assert [h.id for h in answer.hits] == ["c1", "c2", "q-a"]
    retriever = Retriever()
    answer = run_path("agentic-rag", "Q?", PathContext(Scripted("SEARCH: a", "search: a"), None, retriever, k=1))
    assert retriever.queries == ["a"] and answer.agent["steps"] == 2 and answer.agent["queries"] == ["a"]


def test_the_adapter_twin_decides_and_answers_with_the_adapter():
    model = Scripted("SEARCH: port")
    answer = run_path("agentic-hybrid", "Q?", PathContext(model, None, Retriever(), k=1, adapter="behaviour"))
    assert answer.error is None and answer.adapter == "behaviour" and answer.text == "behavioursaw 1"
    assert {adapter for _, adapter in model.seen} == {"behaviour"}
    assert "needs a LoRA adapter" in run_path("agentic-hybrid", "Q?", PathContext(model, None, Retriever())).error
    assert "needs an index" in run_path("agentic-rag", "Q?", PathContext(model)).error


def test_an_endpoint_decides_through_the_tools_api(chat_server):
    url, bodies = chat_server
    ctx = PathContext(Scripted(), None, Retriever(), k=1, endpoint=EndpointGenerator(url, "tiny"))
    start = len(bodies)
    answer = run_path("agentic-rag@endpoint", "Which port does the API use?", ctx)
    assert answer.error is None and answer.text == "Port 7443 [1]." and [h.id for h in answer.hits] == ["c1"]
    assert answer.agent["queries"] == ["api port"] and answer.agent["steps"] == 2
    assert answer.agent["decisions"] == ["search_documents('api port')", "Port 7443 [1]."]
    sent = [body for _, body in bodies[start:]]
    assert sent[0]["tools"] == [prompts.SEARCH_TOOL] and sent[0]["tool_choice"] == "auto"
    # the second turn carries the call and its result, as the tools API expects
    assert [m["role"] for m in sent[1]["messages"]] == ["system", "user", "assistant", "tool"]
    assert sent[1]["messages"][3]["tool_call_id"] == "call-1" and "port 7443" in sent[1]["messages"][3]["content"]
    assert "tools" not in sent[2]  # the answer itself: the shared template, as every other path
    assert (answer.tokens_in, answer.tokens_out) == (36, 12)
    general = run_path("agentic-rag@endpoint", "What is the capital of France?", ctx)
    assert general.error is None and general.agent["searched"] == 0.0 and general.hits == []


def test_a_failed_decision_is_the_answers_error(chat_server):
    ctx = PathContext(Scripted(), None, Retriever(), k=1, endpoint=EndpointGenerator("http://127.0.0.1:9/v1", "x",
                                                                                      sleep=lambda s: None))
    answer = run_path("agentic-rag@endpoint", "Which port?", ctx)
    assert answer.error and "could not decide" in answer.error


def test_retrieve_rates_split_by_what_the_gold_needs():
    from lab.evaluation.record import AnswerRecord
    from lab.experiments.agentic import retrieve_rates

    def record(searched, needs, hit=None):
        return AnswerRecord(run_id="r", question_id="q", path="agentic-rag", question="Q?", hit_at_k=hit,
                            agent={"searched": searched, "needs_corpus": needs, "steps": 2 if searched else 1,
                                   "decide_ms": 10.0})

    rates = retrieve_rates([record(1.0, True, 1.0)] * 8 + [record(0.0, True)] * 2 + [record(1.0, False, 0.0)]
                           + [record(0.0, False)] * 9)
    assert rates["needs_corpus"]["n"] == 10 and rates["needs_corpus"]["rate"] == 0.8
    assert rates["general"]["rate"] == 0.1 and rates["all"]["rate"] == 0.45
    assert rates["needs_corpus"]["low"] < 0.8 < rates["needs_corpus"]["high"]
    assert rates["hit_at_k"]["mean"] == pytest.approx(8 / 9) and rates["steps_mean"] == pytest.approx(1.45)
    assert record(1.0, True).searched == 1.0 and AnswerRecord(question_id="q", path="rag").searched is None
    assert "agent" not in AnswerRecord(question_id="q", path="rag").to_dict()


class Decides(Scripted):
    """Searches when the question is about a port (the corpus), answers general ones directly; answers 7443 when
    the passages hold it."""

    def generate(self, conversations, decoding, adapter=None, continuous=True, each=None):
        out = []
        for messages in conversations:
            user = messages[-1]["content"]
            if messages[0]["content"] == prompts.AGENT_SYSTEM:
                text = "SEARCH: api port" if "port" in user.lower() and "Found so far" not in user else "ANSWER"
                out.append(Generation(text, 40, 5, 0.01))
            else:
                out.append(Generation("Port 7443 [1]." if "7443" in user else "Paris.", 60, 4, 0.02))
        return out


def test_a_run_reports_how_the_model_decided_everywhere_it_is_read(tmp_path):
    """A batch with agentic-rag beside hybrid-rag: the summary (`compare --json`), its text, the CSV, the brief,
    the Decide claim and the Results page all say how often it searched, per question kind."""
    import csv
    import io

    from streamlit.testing.v1 import AppTest

    from lab.cli.runs import _summary_document, _summary_text
    from lab.decision.decide import measured_claims
    from lab.decision.report import brief_for_run
    from lab.evaluation.golden import GoldenQuestion
    from lab.evaluation.summary import summarize
    from lab.experiments.batch import CompareJob
    from lab.experiments.export import question_csv
    from lab.experiments.run_store import RunStore

    questions = [GoldenQuestion(f"p{i}", f"Which port does the API use, case {i}?", "7443", [], ["ports.md"])
                 for i in range(6)] + [GoldenQuestion(f"g{i}", f"What is the capital of France, case {i}?", "Paris")
                                       for i in range(4)]
    runs = RunStore()
    job = CompareJob(questions, ["agentic-rag", "hybrid-rag"], PathContext(Decides(), Retriever(), Retriever(), k=1),
                     runs, {"collection": "t"}).run()
    run, records = runs.get(job.run_id), runs.answers(job.run_id)
    document = _summary_document(run, records)
    rates = document["agentic"]["agentic-rag"]
    assert rates["needs_corpus"]["rate"] == 1.0 and rates["needs_corpus"]["n"] == 6
    assert rates["general"]["rate"] == 0.0 and rates["general"]["n"] == 4 and rates["hit_at_k"]["mean"] == 1.0
    assert list(document["agentic"]) == ["agentic-rag"]
    assert "agentic-rag searched on 60% of 10 questions" in _summary_text(document)
    rows = list(csv.DictReader(io.StringIO(question_csv(records))))
    mine = {r["question_id"]: r for r in rows if r["path"] == "agentic-rag"}
    assert mine["p0"]["searched"] == "1.0" and mine["p0"]["agent_queries"] == "api port"
    assert mine["g0"]["searched"] == "0.0"
    assert next(r for r in rows if r["path"] == "hybrid-rag")["searched"] == ""
    claim = next(c for c in measured_claims(summarize(records), records) if c.id == "agentic_accuracy")
    assert claim.verdict != "not measured" and "100% of the 6 whose gold needs the corpus" in claim.detail
    brief = brief_for_run(run, records)
    assert "When the model chose to retrieve" in brief and "0% of the 4 general ones" in brief
    at = AppTest.from_file(str(__import__("pathlib").Path(__file__).resolve().parent.parent / "pages" / "results.py"),
                           default_timeout=120)
    at.run()
    at.selectbox(key="results_run").set_value(next(o for o in at.selectbox(key="results_run").options
                                                   if o.startswith(job.run_id))).run()
    assert not at.exception, at.exception
    assert "When the model chose to retrieve (agentic paths)" in [s.value for s in at.subheader]
    table = next(d.value for d in at.dataframe if "gold needs the corpus" in d.value.columns)
    assert list(table["path"]) == ["agentic-rag"] and table["general questions"][0].startswith("0% [")


@pytest.mark.slow
@pytest.mark.model
def test_the_embedded_model_searches_real_manuals_for_what_they_hold(real_embedder, store):
    """Two PDF manuals from Debian packages and their hand-written questions, plus general tasks: the embedded model
    decides through the text protocol, its searches find the manuals' passages, and every decision is recorded."""
    import json
    from pathlib import Path

    from lab.config import DecodingConfig
    from lab.evaluation.golden import load_golden
    from lab.generation.models import LocalGenerator
    from lab.index.ingest import ingest
    from lab.index.retrieval import bm25_index, retrievers_for
    from tests.conftest import need_system_files

    pdfs = {"libtasn1-doc": Path("/usr/share/doc/libtasn1-doc/libtasn1.pdf"),
            "shared-mime-info": Path("/usr/share/doc/shared-mime-info/shared-mime-info-spec.pdf")}
    need_system_files(pdfs)
    ingest(list(pdfs.values()), "agentic-pdfs", real_embedder, store)
    modes = retrievers_for(store, "agentic-pdfs", real_embedder, bm25_index(store, "agentic-pdfs"))
    ctx = PathContext(LocalGenerator(), modes["dense"], modes["hybrid"], 3, DecodingConfig(max_new_tokens=32))
    root = Path(__file__).resolve().parent
    manual = [json.loads(line) for line in (root / "fixtures" / "real" / "pdf_manuals.jsonl").read_text().splitlines()
              if line.strip()][:6]
    general = load_golden(root.parent / "sample_corpus" / "general_tasks.jsonl")[:3]
    answers = {q["id"]: run_path("agentic-rag", q["question"], ctx) for q in manual}
    answers.update({q.id: run_path("agentic-rag", q.question, ctx) for q in general})
    assert all(a.error is None and 1 <= a.agent["steps"] <= 3 and a.agent["decisions"] for a in answers.values())
    searched = [i for i, a in answers.items() if a.agent["searched"]]
    assert sum(1 for q in manual if q["id"] in searched) >= 3, {i: a.agent["decisions"] for i, a in answers.items()}
    for i in searched:
        assert answers[i].hits and {h.source for h in answers[i].hits} <= {p.name for p in pdfs.values()}
        assert answers[i].latency_ms["decide"] > 0 and answers[i].tokens_in > answers[i].agent["decide_tokens_in"]
