"""LLM-as-judge: verdicts stored on a run's answers in order, the judge named on the run, Cohen's kappa against
containment, the strict rule and blind-mode votes; the command line and the Results page. The judge is an
OpenAI-compatible endpoint at the protocol level (tests/conftest.py ChatHandler) and, once, the real embedded
model through the same `Generator` interface."""

import json

import pytest

from lab import cli
from lab.evaluation.judge import Judge, agreement, messages, parse_verdict
from lab.evaluation.record import AnswerRecord
from lab.experiments.judging import JudgeJob
from lab.experiments.run_store import RunStore
from lab.generation.endpoint import EndpointGenerator


def answers(run_id=""):
    """Four questions through two paths: containment credits q2's negated answer, the strict rule does not."""
    rows = [("q1", "rag", "Port 7443 [1].", "7443", 1.0, 1.0), ("q1", "prompt", "Port 80.", "7443", 0.0, 0.0),
            ("q2", "rag", "Windows is not supported.", "supported", 1.0, 0.0),
            ("q2", "prompt", "It is supported.", "supported", 1.0, 1.0),
            ("q3", "rag", "45 days", "45 days", 1.0, 1.0), ("q3", "prompt", "30 days", "45 days", 0.0, 0.0),
            ("q4", "rag", "", "", None, None), ("q4", "prompt", "", "14", None, None)]
    records = [AnswerRecord(question_id=q, question=f"question {q}?", path=p, answer=a, gold=g, correct=c,
                            correct_strict=s, run_id=run_id, tokens_in=20, tokens_out=5, cost_usd=0.0)
               for q, p, a, g, c, s in rows]
    records[-1].error = "generation failed"
    return records


@pytest.fixture
def run(tmp_path):
    runs = RunStore(tmp_path / "runs.sqlite")
    run_id = runs.create({"paths": ["rag", "prompt"]}, 8)
    runs.add_answers(run_id, answers(run_id))
    runs.finish(run_id, "done")
    return runs, run_id


def test_verdicts_and_the_conversation():
    assert [parse_verdict(t) for t in ["CORRECT", "incorrect.", "Verdict: Correct", "yes", ""]] == [1.0, 0.0, 1.0,
                                                                                                      None, None]
    user = messages("Which port?", "7443", '{"answer": "Port 7443 [1]."}')[1]["content"]
    assert "Reference answer: 7443" in user and "Candidate answer: Port 7443 [1]." in user


def test_a_judged_run_keeps_its_order_and_names_its_judge(run, chat_server):
    runs, run_id = run
    before = [(r.question_id, r.path) for r in runs.answers(run_id)]
    job = JudgeJob(runs, run_id, Judge(EndpointGenerator(chat_server[0], "judge"), batch=3)).run()
    assert job.state == "done" and job.progress.done == job.progress.total == 6  # no gold, or failed: not sent
    stored = runs.answers(run_id)
    assert [(r.question_id, r.path) for r in stored] == before
    assert [r.judge_correct for r in stored] == [1.0, 0.0, 0.0, 1.0, 1.0, 0.0, None, None]
    assert runs.get(run_id).manifest.judge.startswith("judge @ 127.0.0.1:")
    assert runs.get(run_id).manifest.paths == ("rag", "prompt") and runs.get(run_id).done == 8


def test_agreement_is_kappa_with_an_interval_and_counts_votes(run, chat_server):
    runs, run_id = run
    JudgeJob(runs, run_id, Judge(EndpointGenerator(chat_server[0], "judge"))).run()
    runs.add_vote(run_id, "q1", "rag", "viewer-1")
    runs.add_vote(run_id, "q2", "prompt", "viewer-1")
    votes = runs.votes_by_question(run_id)
    assert votes == {"q1": {"rag": 1}, "q2": {"prompt": 1}}
    found = {(a.a, a.b): a for a in agreement(runs.answers(run_id), votes)}
    assert set(found) == {("judge", "containment"), ("judge", "strict"), ("judge", "stakeholder votes"),
                          ("containment", "strict"), ("containment", "stakeholder votes"),
                          ("strict", "stakeholder votes")}
    strict = found[("judge", "strict")]
    assert strict.kappa.mean == 1.0 and strict.agree == 1.0 and strict.kappa.n == 6
    contain = found[("judge", "containment")]  # they differ on q2's negated answer only: 5 of 6 agree
    assert contain.agree == pytest.approx(5 / 6) and contain.kappa.low <= contain.kappa.mean <= contain.kappa.high
    assert contain.kappa.mean == pytest.approx((5 / 6 - 0.5) / 0.5)  # chance agreement 1/2 here
    assert found[("judge", "stakeholder votes")].kappa.n == 4  # the two voted questions, both paths


def test_an_unreadable_verdict_is_left_empty_and_counted(run, chat_server, monkeypatch, tmp_path, capsys):
    runs, run_id = run
    monkeypatch.setenv("LAB_DATA_DIR", str(tmp_path))
    code = cli.main(["judge", run_id, "--endpoint-url", chat_server[0], "--endpoint-model", "judge-unsure", "--json"])
    document = json.loads(capsys.readouterr().out)
    assert code == 0 and document["judged"] == 0 and document["unreadable"] == 6
    assert all(r.judge_correct is None for r in runs.answers(run_id))


def test_the_command_line_judges_and_reports(run, chat_server, monkeypatch, tmp_path, capsys):
    runs, run_id = run
    monkeypatch.setenv("LAB_DATA_DIR", str(tmp_path))
    assert cli.main(["judge", run_id, "--json"]) == 2  # not judged yet, and no judge given: says how
    assert "--endpoint-url" in json.loads(capsys.readouterr().out)["error"]
    assert cli.main(["judge", run_id, "--endpoint-url", chat_server[0], "--endpoint-model", "judge", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["judged"] == 6 and document["judge"].startswith("judge @")
    rag = document["accuracy"]["rag"]
    assert rag["correct"]["mean"] == 1.0 and rag["judge_correct"]["mean"] == pytest.approx(2 / 3)
    assert {(k["a"], k["b"]) for k in document["agreement"]} >= {("judge", "containment"), ("judge", "strict")}
    assert cli.main(["judge", run_id]) == 0  # the report of what is stored, as text
    assert "kappa judge vs containment" in capsys.readouterr().out
    assert cli.main(["judge", "no-such-run", "--json"]) == 2


@pytest.mark.slow
def test_the_embedded_model_through_the_judge(real_generator):
    """The real generator behind the same interface: every verdict is a verdict or None, never an exception
    (a 135M model is no judge; an endpoint is the judge users should pick)."""
    verdicts = Judge(real_generator, batch=4).grade(answers())
    assert len(verdicts) == 8 and verdicts[-2:] == [None, None]
    assert all(v in (0.0, 1.0, None) for v in verdicts)


def table(at, column):
    return next(d.value for d in at.dataframe if column in d.value.columns)


@pytest.mark.usefixtures("show_error_details")
def test_the_results_page_judges_the_run_in_the_background_and_shows_agreement(chat_server):
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    from pages.ui import resources

    runs = RunStore()
    run_id = runs.create({"paths": ["rag", "prompt"], "collection": "sample"}, 8)
    runs.add_answers(run_id, answers(run_id))
    runs.finish(run_id, "done")
    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "pages" / "results.py"), default_timeout=120)
    at.session_state["endpoint"] = {"base_url": chat_server[0], "model": "judge", "api_key_env": None}
    at.run()
    assert not at.exception and at.selectbox(key="results_run").value.startswith(run_id)
    assert "Which metric decides" in [s.value for s in at.subheader]
    pairs = table(at, "Cohen's kappa [95% CI]")
    assert list(zip(pairs["a"], pairs["b"])) == [("containment", "strict")]
    at.button(key="results_judge").click().run()
    judging = [j for j in resources.jobs().values() if getattr(j, "run_id", None) == run_id]
    assert len(judging) == 1
    judging[0].wait(60)
    at.run()
    assert not at.exception
    pairs = table(at, "Cohen's kappa [95% CI]").to_dict("records")
    assert {(p["a"], p["b"]) for p in pairs} == {("judge", "containment"), ("judge", "strict"),
                                                 ("containment", "strict")}
    judge_vs_strict = next(p for p in pairs if (p["a"], p["b"]) == ("judge", "strict"))
    assert judge_vs_strict["Cohen's kappa [95% CI]"].startswith("1.00") and judge_vs_strict["answers"] == 6
    assert "accuracy, judged by a model" in table(at, "p50 ms").columns
    at.selectbox(key="results_metric").set_value("judge_correct").run()  # the per-question marks follow it
    assert any("OK / x: right or wrong by accuracy, judged by a model" in c.value for c in at.caption)
    marks = table(at, "rag cites").set_index("id")
    assert marks.loc["q2", "rag"].startswith("x ") and marks.loc["q2", "prompt"].startswith("OK ")


def test_a_second_start_joins_the_judging_going(run):
    """A double click or a second tab finds the job judging this run instead of starting another."""
    import threading

    from lab.experiments.judging import running
    from lab.generation.models import Generation

    runs, run_id = run
    release = threading.Event()

    class Slow:
        name = "slow-judge"

        def generate(self, conversations, decoding, adapter=None, **_):
            release.wait(30)
            return [Generation("CORRECT", 1, 1, 0.0) for _ in conversations]

    job = JudgeJob(runs, run_id, Judge(Slow())).start()
    try:
        assert running([job], run_id) is job and running([job], "another-run") is None
    finally:
        release.set()
        job.wait(30)
    assert running([job], run_id) is None and job.state == "done"
