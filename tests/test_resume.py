"""Runs that stop and resume: a batch killed with SIGKILL mid-run, a run that fails on a fault, a cancelled run;
each resumed with `compare --resume RUN_ID` asks only what was not answered, and ends holding exactly the question
x path set an uninterrupted run holds, without duplicates. The endpoint is a real local HTTP server (slow on
purpose, so the kill lands mid-run); the command line runs as a real process."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from tests.conftest import local_http, send_json

REPO = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.server
PATHS = "prompt@endpoint,finetuned@endpoint"


class Slow(BaseHTTPRequestHandler):
    """Answers after `delay` seconds; counts requests by (model, question); fails every request for a question
    that says 'always-broken' with HTTP 400 while `broken` is set."""
    delay = 0.15
    asked: list = []
    broken = True

    def log_message(self, *args):
        pass

    def do_GET(self):  # GET /v1/models
        send_json(self, 200, {"data": [{"id": "base"}, {"id": "tuned"}]})

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        question = body["messages"][-1]["content"].split("Question: ")[-1].strip()
        type(self).asked.append((body["model"], question))
        time.sleep(type(self).delay)
        if "always-broken" in question and type(self).broken:
            return send_json(self, 400, {"error": {"message": "bad"}})
        send_json(self, 200, {"choices": [{"message": {"content": f"{body['model']}: 42"}}],
                              "usage": {"prompt_tokens": 5, "completion_tokens": 2}})


@pytest.fixture
def slow_server():
    handler = type("Handler", (Slow,), {"asked": [], "broken": True})
    with local_http(handler, "/v1") as url:
        yield url, handler


@pytest.fixture
def home(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    questions = tmp_path / "q.jsonl"
    questions.write_text("".join(json.dumps({"id": f"q{i:02d}", "question": f"What is item {i}?", "answer": "42"})
                                 + "\n" for i in range(24)))
    return tmp_path, {**os.environ, "LAB_DATA_DIR": str(data)}


def _compare(env, *argv, cwd=REPO) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "lab", "compare", *argv, "--json"], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _stored(data: Path) -> list[tuple[str, str]]:
    path = data / "runs.sqlite"
    if not path.exists():
        return []
    try:
        with sqlite3.connect(path, timeout=30) as db:
            return db.execute("select question_id, path from answers").fetchall()
    except sqlite3.OperationalError:
        return []


def test_a_run_killed_mid_way_resumes_to_exactly_the_full_set(slow_server, home):
    url, handler = slow_server
    tmp, env = home
    argv = ["--questions", str(tmp / "q.jsonl"), "--paths", PATHS, "--endpoint-url", url, "--endpoint-model",
            "base", "--endpoint-adapter", "tuned", "--concurrency", "2", "--batch-size", "8", "--collection",
            "none-here", "--out", str(tmp / "run.csv")]
    proc = _compare(env, *argv)
    deadline = time.monotonic() + 120
    while len(_stored(tmp / "data")) < 10 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = _stored(tmp / "data")
    assert 10 <= len(before) < 48, len(before)  # stopped mid-run, each answer stored as it arrived
    with sqlite3.connect(tmp / "data" / "runs.sqlite") as db:
        run_id = db.execute("select run_id from runs").fetchone()[0]
    asked_before = len(handler.asked)

    done = _compare(env, "--resume", run_id, "--out", str(tmp / "run.csv"))
    out, err = done.communicate(timeout=300)
    assert done.returncode == 0, err[-3000:]
    document = json.loads(out)
    assert document["status"] == "done" and document["done"] == document["total"] == 48
    after = _stored(tmp / "data")
    assert len(after) == len(set(after)) == 48  # the full question x path set, no duplicates
    assert {(f"q{i:02d}", p) for i in range(24) for p in PATHS.split(",")} == set(after)
    # nothing already answered was asked again (at most the requests in flight at the kill, whose answers were lost)
    again = len(handler.asked) - asked_before
    assert again <= 48 - len(before) + 2, (again, len(before))
    assert sorted({m for m, _ in handler.asked}) == ["base", "tuned"]  # finetuned@endpoint asked the adapter's name
    rows = (tmp / "run.csv").read_text().splitlines()
    assert len(rows) == 49


def test_a_failed_answer_is_kept_as_an_error_and_a_wrong_name_stops_before_any_work(slow_server, home):
    url, handler = slow_server
    tmp, env = home
    (tmp / "q2.jsonl").write_text(json.dumps({"id": "x", "question": "always-broken one", "answer": "42"}) + "\n" +
                                  json.dumps({"id": "y", "question": "fine one", "answer": "42"}) + "\n")
    proc = _compare(env, "--questions", str(tmp / "q2.jsonl"), "--paths", "prompt@endpoint", "--endpoint-url", url,
                    "--endpoint-model", "base", "--collection", "none-here", "--out", str(tmp / "r.csv"))
    out, err = proc.communicate(timeout=120)
    document = json.loads(out)
    assert proc.returncode == 0 and document["done"] == 2, err[-2000:]
    errors = {p["path"]: p["errors"] for p in document["paths"]}
    assert errors == {"prompt@endpoint": 1}  # the 400 is that answer's error; the other answer is kept

    asked = len(handler.asked)
    proc = _compare(env, "--questions", str(tmp / "q2.jsonl"), "--paths", "finetuned@endpoint", "--endpoint-url",
                    url, "--endpoint-model", "base", "--endpoint-adapter", "no-such-adapter", "--collection",
                    "none-here", "--out", str(tmp / "r2.csv"))
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 2 and "does not serve no-such-adapter" in json.loads(out)["error"]
    assert len(handler.asked) == asked and "Traceback" not in err  # refused before any request was sent


def test_resume_refuses_what_it_cannot_resume(home):
    tmp, env = home
    proc = _compare(env, "--resume", "20990101-000000-abcdef", "--out", str(tmp / "r.csv"))
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 2 and "not found" in json.loads(out)["error"]
