"""All the paths on a real OpenAI-compatible server: Hugging Face's own `transformers serve` (the transformers
`serving` extra) serving the embedded SmolLM2 folder and a merged adapter folder trained by the lab. The same
questions and retrieved chunks go through the local paths (float32 reference, adapter loaded by peft) and the
`@endpoint` paths; greedy answers are compared. Run with -s to print how many match."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from lab.config import DecodingConfig
from lab.evaluation.golden import load_golden
from tests.conftest import start_server

pytestmark = [pytest.mark.slow, pytest.mark.model, pytest.mark.server]
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def merged_adapter(tmp_path_factory):
    """A behaviour adapter trained by the lab for a few steps, saved with its merged model."""
    from lab.finetune.config import LoraTrainConfig
    from lab.finetune.job import TrainingJob

    root = tmp_path_factory.mktemp("serve-adapter")
    config = LoraTrainConfig(rank=4, alpha=16, epochs=1, lr=5e-3, max_length=256, batch_size=4, max_steps=3,
                             merge=True, evaluate=False)
    job = TrainingJob(REPO / "sample_corpus" / "finetune_behaviour.jsonl", root / "behaviour", config).start()
    status = job.wait(timeout=900).status
    assert status.state == "done", status.message
    return job.out


@pytest.fixture(scope="module")
def hf_server(tmp_path_factory):
    exe = shutil.which("transformers", path=str(Path(sys.executable).parent)) or "transformers"
    port = _free_port()
    log = tmp_path_factory.mktemp("transformers-serve") / "serve.log"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_NO_ADVISORY_WARNINGS": "1"}
    proc = start_server([exe, "serve", "--host", "127.0.0.1", "--port", str(port)],
                        f"http://127.0.0.1:{port}/health", log, 120, env)
    yield f"http://127.0.0.1:{port}/v1"
    proc.terminate()
    proc.wait(timeout=30)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_five_paths_run_on_transformers_serve_and_match_the_local_ones(hf_server, merged_adapter, real_embedder,
                                                                           sample_collection, store, tmp_path):
    from lab.experiments.answer_paths import PATHS, PathContext, run_paths
    from lab.generation.embedded import default_model_folder
    from lab.generation.endpoint import EndpointGenerator
    from lab.generation.models import LocalGenerator
    from lab.index.retrieval import bm25_index, retrievers_for

    modes = retrievers_for(store, sample_collection, real_embedder, bm25_index(store, sample_collection))
    local = LocalGenerator(backend="transformers")  # float32, as the server runs the folder
    adapter = local.load_adapter(str(merged_adapter))
    base = str(default_model_folder())
    endpoint = EndpointGenerator(hf_server, base, concurrency=2)
    endpoint.check()
    decoding = DecodingConfig(max_new_tokens=40)
    ctx = PathContext(local, modes["dense"], modes["hybrid"], 3, decoding, adapter, endpoint,
                      endpoint_adapter=str(merged_adapter / "merged"))
    questions = load_golden(REPO / "sample_corpus" / "golden.jsonl")[:4]
    matched, differ, rows = 0, [], []
    classic = [name for name, spec in PATHS.items() if spec.chosen]  # the agentic ones decide by different means
    decided = []
    for q in questions:
        names = list(PATHS) + [p + "@endpoint" for p in PATHS]
        answers = {a.path: a for a in run_paths(names, q.question, ctx)}
        for path in ("agentic-rag", "agentic-hybrid"):  # local: the text protocol; endpoint: the tools API
            for name in (path, path + "@endpoint"):
                assert answers[name].error is None, answers[name].error
                assert answers[name].agent["steps"] >= 1 and answers[name].agent["decide_tokens_in"] > 0
                decided.append({"q": q.id, "path": name, "decisions": answers[name].agent["decisions"]})
        for path in classic:
            mine, theirs = answers[path], answers[path + "@endpoint"]
            assert theirs.error is None, theirs.error
            assert theirs.messages == mine.messages  # the same template and the same chunks
            assert "\n\n" not in theirs.text and theirs.tokens_in > 0 and not theirs.tokens_estimated
            rows.append({"q": q.id, "path": path, "local": mine.text, "endpoint": theirs.text})
            if mine.text == theirs.text:
                matched += 1
            else:
                differ.append(rows[-1])
    report = {"answers": len(rows), "matched": matched, "differ": differ, "agentic": decided}
    print(json.dumps(report, indent=1))
    out = os.environ.get("LAB_SERVE_FIGURES")
    if out:
        Path(out).write_text(json.dumps(report, indent=1))
    assert len(rows) == 20
    # answers differ only where the local engine bounds what the model may write (citations to passages it was
    # not given, a line break after a lead-in's colon): the unbounded prompt path must agree on most questions
    assert sum(1 for r in rows if r["path"] == "prompt" and r["local"] == r["endpoint"]) >= 2, differ


class _Proxy:
    """A fault-injecting proxy in front of the real server: every third chat request gets 429 (Retry-After: 0),
    the fifth 503, the seventh a dropped connection; everything else is forwarded as it is."""

    def __init__(self, target: str):
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        proxy = self
        self.target, self.count, self.injected, self.lock = target.rstrip("/"), 0, [], threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _forward(self, body: bytes | None):
                request = urllib.request.Request(proxy.target + self.path.removeprefix("/v1"), data=body,
                                                 headers={"Content-Type": "application/json"},
                                                 method=self.command)
                try:
                    with urllib.request.urlopen(request, timeout=300) as response:
                        code, raw = response.status, response.read()
                except urllib.error.HTTPError as exc:
                    code, raw = exc.code, exc.read()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def do_GET(self):
                self._forward(None)

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with proxy.lock:
                    proxy.count += 1
                    n = proxy.count
                fault = "429" if n % 3 == 0 else "503" if n == 5 else "drop" if n == 7 else None
                if fault:
                    proxy.injected.append(fault)
                if fault == "drop":
                    self.connection.close()
                    return
                if fault:
                    self.send_response(int(fault))
                    self.send_header("Retry-After", "0")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self._forward(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def test_faults_in_front_of_the_real_server_are_retried_and_a_killed_run_resumes(hf_server, merged_adapter,
                                                                                   tmp_path):
    import signal
    import sqlite3

    from lab.generation.embedded import default_model_folder

    proxy = _Proxy(hf_server)
    try:
        data = tmp_path / "data"
        data.mkdir()
        env = {**os.environ, "LAB_DATA_DIR": str(data), "HF_HUB_OFFLINE": "1"}
        questions = tmp_path / "q.jsonl"
        questions.write_text("".join(json.dumps({"id": f"q{i}", "question": f"What is {i} plus {i}?",
                                                 "answer": str(2 * i)}) + "\n" for i in range(8)))
        argv = [sys.executable, "-m", "lab", "compare", "--questions", str(questions), "--paths",
                "prompt@endpoint,finetuned@endpoint", "--endpoint-url", proxy.url, "--endpoint-model",
                str(default_model_folder()), "--endpoint-adapter", str(merged_adapter / "merged"),
                "--concurrency", "2", "--max-new-tokens", "24", "--collection", "none-here",
                "--out", str(tmp_path / "run.csv"), "--json"]
        proc = subprocess.Popen(argv, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        stored = []
        deadline = time.time() + 600
        while len(stored) < 5 and proc.poll() is None and time.time() < deadline:
            time.sleep(0.2)
            if not (data / "runs.sqlite").exists():  # (connecting would create an empty file before the lab does)
                continue
            try:
                with sqlite3.connect(data / "runs.sqlite", timeout=30) as db:
                    stored = db.execute("select question_id, path from answers").fetchall()
            except sqlite3.OperationalError:
                pass
        assert proc.poll() is None, proc.communicate()[1][-3000:]  # still running when killed
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        with sqlite3.connect(data / "runs.sqlite") as db:
            run_id = db.execute("select run_id from runs").fetchone()[0]
            before = db.execute("select count(*) from answers").fetchone()[0]
        assert 5 <= before < 16, before
        done = subprocess.run([sys.executable, "-m", "lab", "compare", "--resume", run_id, "--out",
                               str(tmp_path / "run.csv"), "--json"], cwd=REPO, env=env, capture_output=True,
                              text=True, timeout=900)
        assert done.returncode == 0, done.stderr[-3000:]
        document = json.loads(done.stdout)
        with sqlite3.connect(data / "runs.sqlite") as db:
            pairs = db.execute("select question_id, path from answers").fetchall()
        assert document["done"] == 16 and len(pairs) == len(set(pairs)) == 16
        assert all(p["errors"] == 0 for p in document["paths"]), document["paths"]  # every fault was retried
        assert {"429", "503", "drop"} <= set(proxy.injected)
    finally:
        proxy.close()
