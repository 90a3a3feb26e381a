"""The Results page's Resume button finishes a stopped run in the background with the run's own settings."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("show_error_details")]
REPO = Path(__file__).resolve().parent.parent


def test_a_cancelled_run_is_resumed_from_the_results_page(fake_app, tmp_path, monkeypatch):
    from lab.evaluation.golden import GoldenQuestion
    from lab.experiments.run_store import RunStore
    from lab.session import Settings, compare_job
    from pages.ui import resources
    from pages.ui.resources import PageResources

    questions = [GoldenQuestion(f"q{i}", f"How long is retention, case {i}?", "45 days") for i in range(6)]
    job = compare_job(Settings(collection=fake_app), PageResources, questions, "six questions", ["prompt", "rag"])
    job.questions = questions[:2]  # answer a third of it, then stop as a cancel does
    job.run()
    runs = RunStore()
    runs.finish(job.run_id, "cancelled")
    assert runs.get(job.run_id).done == 4

    at = AppTest.from_file(str(REPO / "pages" / "results.py"), default_timeout=120)
    at.run()
    label = next(o for o in at.selectbox(key="results_run").options if o.startswith(job.run_id))
    at.selectbox(key="results_run").set_value(label).run()
    at.button(key="results_resume").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    resumed = resources.jobs()[job.run_id]
    resumed.wait(120)
    run = runs.get(job.run_id)
    assert run.status == "done" and run.done == run.total == 12
    assert len({(r.question_id, r.path) for r in runs.answers(job.run_id)}) == 12
