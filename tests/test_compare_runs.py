"""The batch engine, the run store and the exports, with a fake generator and retriever."""

import csv
import io
import os
import subprocess
import sys
import textwrap

import pytest

from lab.experiments.batch import CompareJob
from lab.experiments.export import QUESTION_COLUMNS, question_csv, to_csv, write_atomic
from lab.evaluation.golden import GoldenQuestion
from lab.experiments.answer_paths import PathContext
from lab.index.retrieval import Hit
from lab.experiments.run_store import RunStore
from lab.evaluation.summary import summarize, summary_rows, win_matrix


class Retriever:
    name = "fake"

    def search(self, query, k):
        return [Hit("c1", "ports.md", "The API listens on port 7443.", 0.9)][:k]


class Generator:
    """Answers 7443 (citing [1]) when it sees the context, else guesses; JSON when the adapter is on."""

    name = "fake-model"

    def generate(self, conversations, decoding, adapter=None, **_):
        from lab.generation.models import Generation

        out = []
        for messages in conversations:
            seen = "7443" in messages[-1]["content"]
            text = "Port 7443 [1]." if seen else "Port 8080."
            if adapter:
                text = '{"answer": "%s", "sources": [%s], "confidence": "high"}' % (
                    "7443" if seen else "8080", "1" if seen else "")
            out.append(Generation(text, 10 + 20 * seen, 5, 0.01 * len(conversations)))
        return out


QUESTIONS = [GoldenQuestion(f"q{i}", f"Which port, case {i}?", "7443", [], ["ports.md"], "numeric") for i in range(12)]


@pytest.fixture
def runs(tmp_path):
    return RunStore(tmp_path / "runs.sqlite")


def test_a_run_scores_every_question_and_path(runs):
    ctx = PathContext(Generator(), Retriever(), Retriever(), k=1, adapter="fmt")
    job = CompareJob(QUESTIONS, ["prompt", "rag", "finetuned", "hybrid"], ctx, runs, {"collection": "t"},
                     batch_size=5)
    run_id = job.run().run_id
    record = runs.get(run_id)
    assert record.status == "done" and record.done == record.total == 48
    assert record.manifest.batch_size == 5 and record.manifest.paths == ("prompt", "rag", "finetuned", "hybrid")
    rows = runs.answers(run_id)
    by_path = {p: [r for r in rows if r.path == p] for p in ("prompt", "rag", "finetuned", "hybrid")}
    assert all(r.correct == 0.0 and r.hit_at_k is None and r.grounded is None for r in by_path["prompt"])
    assert all(r.correct == 1.0 and r.hit_at_k == 1.0 and r.cited_sources == ["ports.md"] for r in by_path["rag"])
    assert all(r.format_ok == 1.0 for r in by_path["finetuned"] + by_path["hybrid"])
    assert all(r.format_ok == 0.0 for r in by_path["rag"])
    assert all(r.correct == 1.0 for r in by_path["hybrid"]), "JSON answers are scored on their answer field"
    assert by_path["rag"][0].tokens_in == 30 and by_path["rag"][0].cost_usd > by_path["prompt"][0].cost_usd
    assert by_path["rag"][0].messages[1]["content"].startswith("Context")
    assert by_path["rag"][0].chunks[0].source == "ports.md" and all(r.run_id == run_id for r in rows)

    summary = summarize(rows)
    paths = {p.path: p for p in summary.paths}
    assert paths["rag"].quality["correct"].mean == 1.0 and paths["prompt"].quality["correct"].mean == 0.0
    rag_vs_prompt = next(t for t in summary.pairs if {t.a, t.b} == {"rag", "prompt"})
    assert rag_vs_prompt.separable
    assert win_matrix(summary)["rag"]["prompt"] == (12, 0, 0)
    assert any("Only 12 questions" in w for w in summary.warnings)
    assert {"correct", "correct_ci_low", "latency_ms_total_p95", "cost_usd_per_query"} <= set(summary_rows(summary, run_id)[0])


def test_unavailable_paths_are_reported_not_dropped(runs):
    job = CompareJob(QUESTIONS[:2], ["prompt", "rag", "finetuned"], PathContext(Generator()), runs, {})
    rows = runs.answers(job.run().run_id)
    assert len(rows) == 6
    errors = {r.path: r.error for r in rows if r.error}
    assert set(errors) == {"rag", "finetuned"} and "needs an index" in errors["rag"]
    summary = summarize(rows)
    assert any("rag: 2 answer(s) could not be produced" in w for w in summary.warnings)


def test_a_cancelled_background_run_keeps_what_finished(runs):
    job = CompareJob(QUESTIONS, ["prompt"], PathContext(Generator()), runs, {}, batch_size=1)
    job.cancel()
    job.start().wait(10)
    assert runs.get(job.run_id).status == "cancelled"
    assert not job.running


def test_a_run_killed_mid_way_is_interrupted_with_finished_answers_kept(tmp_path):
    db = tmp_path / "runs.sqlite"
    script = textwrap.dedent(f"""
        import os, signal
        from lab.evaluation.record import AnswerRecord
        from lab.experiments.run_store import RunStore
        runs = RunStore({str(db)!r})
        run_id = runs.create({{"paths": ["prompt"]}}, 4)
        runs.add_answers(run_id, [AnswerRecord(question_id="q1", path="prompt")])
        print(run_id, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=os.getcwd())
    run_id = out.stdout.strip()
    record = RunStore(db).get(run_id)
    assert record.status == "interrupted" and record.done == 1
    assert RunStore(db).answers(run_id)[0].question_id == "q1"


def test_csv_export_is_safe_and_complete(tmp_path, runs):
    job = CompareJob(QUESTIONS[:2], ["rag"], PathContext(Generator(), Retriever(), k=1), runs, {})
    rows = runs.answers(job.run().run_id)
    rows[0].answer = "=HYPERLINK(\"http://evil\")"
    text = question_csv(rows)
    parsed = list(csv.DictReader(io.StringIO(text)))
    assert list(parsed[0]) == QUESTION_COLUMNS
    assert parsed[0]["answer"].startswith("'=") and parsed[0]["retrieved_sources"] == "ports.md"
    target = write_atomic(tmp_path / "out" / "q.csv", text)
    assert target.read_bytes() == text.encode() and not list(target.parent.glob("*.partial"))
    assert to_csv([{"a": -1.5}]) == "a\r\n-1.5\r\n"


def test_a_long_batch_in_a_live_process_is_not_called_interrupted(runs):
    import sqlite3

    run_id = runs.create({}, 10)
    with sqlite3.connect(runs.path) as db:
        db.execute("update runs set heartbeat = 0 where run_id = ?", (run_id,))
    assert runs.get(run_id).status == "running"


def test_a_dead_process_left_as_a_zombie_is_not_alive():
    """A killed run whose parent has not reaped it yet is a zombie: its pid exists but it runs nothing."""
    import time

    from lab.jobs import process_alive

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        for _ in range(100):  # wait until it has exited, without reaping it
            with open(f"/proc/{child.pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    break
            time.sleep(0.05)
        assert not process_alive(child.pid)
    finally:
        child.wait()
    assert process_alive(os.getpid())


def test_runs_started_in_the_same_second_list_newest_first(runs):
    """The Results page opens the first listed run: it must be the latest even when ids share a second."""
    started = [runs.create({"n": i}, 1) for i in range(20)]
    assert [r.run_id for r in runs.list()] == started[::-1]


def test_a_cancel_during_a_batch_stops_at_the_next_answer_and_keeps_what_was_stored(tmp_path):
    runs = RunStore(tmp_path / "runs.sqlite")
    job = None

    class Cancelling(Generator):
        calls = 0

        def generate(self, conversations, decoding, adapter=None, **_):
            Cancelling.calls += 1
            if Cancelling.calls == 3:  # the second batch's first path: the user presses Cancel
                job.cancel()
            return super().generate(conversations, decoding, adapter)

    job = CompareJob(QUESTIONS, ["prompt", "finetuned"], PathContext(Cancelling(), adapter="ft"), runs, {},
                     batch_size=4)
    job.run()
    assert job.state == "cancelled" and runs.get(job.run_id).status == "cancelled"
    # each answer is stored as it arrives: the first batch (4 questions x 2 paths) and the answer that finished when
    # the cancel was seen; the progress shown is what is stored
    assert len(runs.answers(job.run_id)) == 9 == job.progress.done == runs.get(job.run_id).done
    assert Cancelling.calls == 3
