"""The ...@endpoint paths: an OpenAI-compatible endpoint beside the local model, end to end against a
protocol-level server started by the test (paths, a CompareJob batch, the command line with --json)."""

import json

import pytest

from lab.experiments.batch import CompareJob, manifest_for
from lab.generation.endpoint import EndpointGenerator
from lab.errors import InputError
from lab.evaluation.golden import GoldenQuestion
from lab.experiments.answer_paths import PATHS, PathContext, available_paths, parse_paths, run_path, run_paths
from lab.index.retrieval import Hit
from lab.experiments.run_store import RunStore


@pytest.fixture
def server(chat_server):
    return chat_server[0]


class Retriever:
    name = "fake"

    def search(self, query, k):
        return [Hit("c1", "ports.md", "The API listens on port 7443.", 0.9)][:k]


def test_path_ids_stay_and_their_endpoint_twins_join():
    assert list(PATHS) == ["prompt", "rag", "hybrid-rag", "finetuned", "hybrid", "agentic-rag", "agentic-hybrid"]
    assert available_paths() == list(PATHS)
    assert available_paths(endpoint=True)[len(PATHS):] == [p + "@endpoint" for p in PATHS]
    assert parse_paths("prompt, rag@endpoint, hybrid@endpoint") == ["prompt", "rag@endpoint", "hybrid@endpoint"]
    with pytest.raises(InputError, match="Unknown path"):
        parse_paths("rag@elsewhere")


def test_endpoint_paths_retrieve_like_their_twins_and_generate_remotely(server, fake_generator):
    ctx = PathContext(fake_generator, Retriever(), Retriever(), k=1, endpoint=EndpointGenerator(server, "tiny"))
    local, remote = run_path("rag", "Which port?", ctx), run_path("rag@endpoint", "Which port?", ctx)
    assert local.messages == remote.messages and [h.id for h in remote.hits] == ["c1"]
    assert local.model == "fake-generator" and local.text == "saw 1 passages"
    host = server.split("//")[1].split("/")[0]
    assert remote.path == "rag@endpoint" and remote.model == f"tiny @ {host}" and remote.text == "Port 7443 [1]."
    assert (remote.tokens_in, remote.tokens_out) == (12, 4) and not remote.tokens_estimated
    assert set(remote.latency_ms) == {"retrieve", "generate", "total"}


def test_without_an_endpoint_the_path_says_what_to_do(fake_generator):
    answer = run_path("prompt@endpoint", "q", PathContext(fake_generator))
    assert "needs an OpenAI-compatible endpoint" in answer.error and "--endpoint-url" in answer.error
    answer = run_path("prompt", "q", PathContext(None))
    assert "needs a local model" in answer.error
    answer = run_path("finetuned@endpoint", "q", PathContext(fake_generator, adapter="a", endpoint=fake_generator))
    assert "--endpoint-adapter NAME" in answer.error and fake_generator.calls == []  # a local adapter is not it


def test_the_adapter_paths_ask_the_endpoint_for_the_adapter_by_its_served_name(chat_server):
    server, bodies = chat_server
    ctx = PathContext(None, Retriever(), Retriever(), k=1, endpoint=EndpointGenerator(server, "base-model"),
                      endpoint_adapter="halyard-json")
    bodies.clear()
    answers = {a.path: a for a in run_paths(["prompt@endpoint", "finetuned@endpoint", "hybrid@endpoint"], "Which port?",
                                            ctx)}
    asked = sorted(body["model"] for _, body in bodies)
    assert asked == ["base-model", "halyard-json", "halyard-json"]
    assert answers["hybrid@endpoint"].adapter == "halyard-json" and answers["hybrid@endpoint"].hits
    assert answers["finetuned@endpoint"].error is None and not answers["finetuned@endpoint"].hits


def test_missing_usage_gives_estimated_token_counts(server):
    ctx = PathContext(None, endpoint=EndpointGenerator(server, "no-usage"))
    answer = run_path("prompt@endpoint", "What port does the server use?", ctx)
    assert answer.tokens_estimated and answer.tokens_in > 10 and answer.tokens_out == 4  # "I don't know." / 4


def test_a_batch_run_through_compare_job_records_the_endpoint(chat_server, tmp_path, fake_generator, monkeypatch):
    server, bodies = chat_server
    monkeypatch.setenv("LAB_TEST_ENDPOINT_KEY", "sk-never-recorded")
    endpoint = EndpointGenerator(server, "tiny", api_key_env="LAB_TEST_ENDPOINT_KEY")
    ctx = PathContext(fake_generator, Retriever(), Retriever(), k=1, endpoint=endpoint)
    questions = [GoldenQuestion(f"q{i}", f"Which port, case {i}?", "7443", [], ["ports.md"]) for i in range(5)]
    runs = RunStore(tmp_path / "runs.sqlite")
    paths = ["prompt", "rag", "prompt@endpoint", "rag@endpoint", "hybrid-rag@endpoint"]
    bodies.clear()
    job = CompareJob(questions, paths, ctx, runs, manifest_for(ctx, "t", "q.jsonl"), batch_size=2)
    run_id = job.run().run_id
    assert len(bodies) == 15 and bodies[0][0]["Authorization"] == "Bearer sk-never-recorded"
    records = runs.answers(run_id)
    remote = [r for r in records if r.path.endswith("@endpoint")]
    assert len(remote) == 15 and all(r.model == endpoint.name and r.error is None for r in remote)
    assert all(r.correct == 1.0 for r in remote if r.path != "prompt@endpoint")
    assert all(r.abstained == 1.0 and r.correct == 0.0 for r in remote if r.path == "prompt@endpoint")
    assert {r.model for r in records if "@" not in r.path} == {"fake-generator"}
    manifest = runs.get(run_id).manifest
    assert manifest.endpoint == endpoint.name and manifest.model == "fake-generator"
    assert "sk-never-recorded" not in json.dumps(manifest.to_dict()) + json.dumps([r.to_dict() for r in records])


@pytest.mark.slow
def test_the_command_line_runs_endpoint_paths_with_json(server, sample_collection, tmp_path, capsys):
    from lab.cli import main

    questions = tmp_path / "q.jsonl"
    questions.write_text(json.dumps({"id": "p1", "question": "Which port does the Halyard server API listen on?",
                                     "answer": "7443", "sources": ["faq.html"]}) + "\n")
    out = tmp_path / "run.csv"
    code = main(["compare", "--questions", str(questions), "--collection", sample_collection, "--paths",
                 "prompt@endpoint,rag@endpoint,hybrid-rag@endpoint", "--endpoint-url", server, "--endpoint-model",
                 "tiny", "--out", str(out), "--json"])
    document = json.loads(capsys.readouterr().out)
    assert code == 0 and document["status"] == "done" and document["done"] == 3
    by_path = {p["path"]: p for p in document["paths"]}
    assert set(by_path) == {"prompt@endpoint", "rag@endpoint", "hybrid-rag@endpoint"}
    assert all(p["model"].startswith("tiny @ 127.0.0.1:") for p in by_path.values())
    assert by_path["hybrid-rag@endpoint"]["quality"]["correct"]["mean"] == 1.0  # the FAQ chunk says 7443
    assert "rag@endpoint" in out.read_text()

    code = main(["ask", "Which port does the Halyard server API listen on?", "--collection", sample_collection,
                 "--paths", "hybrid-rag@endpoint", "--endpoint-url", server, "--endpoint-model", "tiny", "--json"])
    answer = json.loads(capsys.readouterr().out)["answers"][0]
    assert code == 0 and answer["text"] == "Port 7443 [1]." and answer["model"].startswith("tiny @ ")

    code = main(["ask", "q", "--paths", "rag@endpoint", "--json"])
    assert code == 2 and "--endpoint-url URL" in json.loads(capsys.readouterr().out)["error"]
