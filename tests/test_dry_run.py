"""A dry run before a batch: tokens, cost, time per path and the detectable difference; nothing is stored."""

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.server
def test_compare_dry_run_estimates_and_stores_nothing(chat_server, tmp_path, monkeypatch, capsys):
    from lab import cli
    from lab.experiments.run_store import RunStore

    monkeypatch.setenv("LAB_DATA_DIR", str(tmp_path))
    questions = tmp_path / "q.jsonl"
    questions.write_text("".join(json.dumps({"id": f"q{i}", "question": f"Which port, case {i}?", "answer": "7443"})
                                 + "\n" for i in range(10)))
    code = cli.main(["compare", "--questions", str(questions), "--paths", "prompt@endpoint", "--endpoint-url",
                     chat_server[0], "--endpoint-model", "tiny", "--collection", "none-here", "--out",
                     str(tmp_path / "r.csv"), "--dry-run", "--json"])
    document = json.loads(capsys.readouterr().out)
    assert code == 0 and document["dry_run"] and document["questions"] == 10
    path = document["paths"][0]
    assert path["path"] == "prompt@endpoint" and path["answers"] == 10 and path["sampled"] == 3
    assert path["tokens_in"] > 0 and path["estimated_tokens"] and path["tokens_out"] == 40  # 4 a answer, measured
    assert 0.5 < document["detectable_difference"] < 1  # 10 questions cannot tell small differences apart
    assert RunStore().list() == [] and not (tmp_path / "r.csv").exists()


@pytest.mark.slow
@pytest.mark.usefixtures("show_error_details")
def test_the_compare_page_estimates_before_a_batch(fake_app):
    at = AppTest.from_file(str(REPO / "pages" / "compare.py"), default_timeout=120)
    at.session_state["collection"] = fake_app
    at.run()
    at.multiselect(key="paths").set_value(["prompt", "rag"]).run()
    at.button(key="batch_dry_run").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    table = [d.value for d in at.dataframe if "completion tokens" in d.value.columns][0]
    assert list(table["path"]) == ["prompt", "rag"] and all(table["answers"] > 0)
    assert any("detects a difference in accuracy" in c.value for c in at.caption)


def test_power_comes_from_the_previous_run_and_answers_the_users_difference(tmp_path):
    """A complete run of prompt and rag on collection t (rag right on 3 of 4 questions, prompt never): the planning
    sd is that run's, and the sentence gives what n detects and what a chosen difference needs, consistently."""
    from lab.evaluation.golden import GoldenQuestion
    from lab.evaluation.stats import detectable_difference, questions_needed
    from lab.experiments.answer_paths import PathContext
    from lab.experiments.batch import CompareJob
    from lab.experiments.estimate import DryRun, planning_sd, power_text
    from lab.experiments.run_store import RunStore
    from test_compare_runs import Generator, Retriever

    runs = RunStore(tmp_path / "runs.sqlite")
    assert planning_sd(runs, "t", ["prompt", "rag"]) is None
    questions = [GoldenQuestion(f"q{i}", f"Which port, case {i}?", "7443" if i % 4 else "9999") for i in range(40)]
    job = CompareJob(questions, ["prompt", "rag"], PathContext(Generator(), Retriever(), Retriever(), k=1), runs,
                     {"collection": "t"}).run()
    sd, source = planning_sd(runs, "t", ["prompt", "rag", "hybrid"])
    expected = float(__import__("numpy").std([1.0 if i % 4 else 0.0 for i in range(40)], ddof=1))
    assert abs(sd - expected) < 1e-9 and job.run_id in source
    assert planning_sd(runs, "other", ["prompt", "rag"]) is None and planning_sd(runs, "t", ["prompt"]) is None
    estimate = DryRun(16, [], "defaults", detectable_difference(16, sd), sd, source, 0.2, questions_needed(0.2, sd))
    text = power_text(estimate)
    assert f"with 16 questions a paired comparison detects a difference in accuracy of about " \
           f"{detectable_difference(16, sd):.2f}" in text and f"a difference of 0.20 needs about " \
           f"{questions_needed(0.2, sd)} questions" in text
    assert ("(enough)" in text) == (questions_needed(0.2, sd) <= 16)
