"""Anytime-valid confidence sequences: the coverage holds under a look after every answer (where a fixed-n interval
looked at the same way does not), the stop rule decides winners and equivalence, and a batch stops once decided."""

from __future__ import annotations

import numpy as np
import pytest

from lab.evaluation.sequential import StopRule, confidence_sequence, parse_pairs

SCENARIOS = [(0.5, 0.4), (0.3, 0.3), (0.9, 0.2), (0.05, 0.0)]  # per-question accuracy of two paths


@pytest.mark.parametrize("pa,pb", SCENARIOS)
def test_the_sequence_covers_at_every_look_and_a_peeked_fixed_interval_does_not(pa, pb):
    """2,000 simulated runs of 300 paired questions, each looked at after every answer: the share of runs in which
    the 95% sequence ever misses the true difference stays under 5%; the fixed-n normal interval, read the same way
    from the 5th answer on, misses in far more (about half)."""
    rng = np.random.default_rng(7)
    runs, n = 2000, 300
    d = (rng.random((runs, n)) < pa).astype(float) - (rng.random((runs, n)) < pb)
    truth = pa - pb
    cs = confidence_sequence(d)
    missed = ((cs.low > truth) | (cs.high < truth)).any(axis=1).mean()
    t = np.arange(1, n + 1)
    mean = np.cumsum(d, axis=1) / t
    sd = np.sqrt(np.maximum(np.cumsum(d * d, axis=1) / t - mean ** 2, 0) * t / np.maximum(t - 1, 1))
    half = 1.96 * sd / np.sqrt(t)
    peeked = (((mean - half > truth) | (mean + half < truth))[:, 4:]).any(axis=1).mean()
    assert missed <= 0.05 + 2 * np.sqrt(0.05 * 0.95 / runs), missed
    if pa != 0.05:  # (a near-constant difference gives the normal interval nothing to miss by)
        assert peeked > 0.2, peeked


def test_the_sequence_narrows_and_never_widens():
    rng = np.random.default_rng(1)
    cs = confidence_sequence((rng.random(200) < 0.5).astype(float))
    widths = cs.high - cs.low
    assert (np.diff(cs.low) >= 0).all() and (np.diff(cs.high) <= 0).all() and widths[-1] < widths[20] < 2


def test_a_clear_winner_is_decided_and_an_even_split_is_not():
    rule = StopRule((("rag", "prompt"),), margin=0.0)
    winner = {f"q{i}": {"rag": 1.0 if i % 5 else 0.0, "prompt": 0.0} for i in range(40)}
    states = rule.states(winner)
    assert states[0].verdict == "a better" and rule.decided(winner)
    assert "rag is better" in states[0].text() and "after 40 questions" in states[0].text()
    even = {f"q{i}": {"rag": float(i % 2), "prompt": float(1 - i % 2)} for i in range(40)}
    assert rule.states(even)[0].verdict == "undecided" and not rule.decided(even)


def test_equivalence_within_the_margin_decides_when_more_questions_cannot_change_it():
    same = {f"q{i}": {"a": 1.0, "b": 1.0} for i in range(200)}
    assert StopRule((("a", "b"),), margin=0.1).states(same)[0].verdict == "equivalent"
    assert StopRule((("a", "b"),), margin=0.0).states(same)[0].verdict == "undecided"


def test_few_questions_never_decide():
    rule = StopRule((("a", "b"),), margin=0.0, min_questions=5)
    assert rule.states({f"q{i}": {"a": 1.0, "b": 0.0} for i in range(4)})[0].verdict == "undecided"
    assert rule.states({})[0].n == 0


@pytest.mark.parametrize("text", ["rag", "rag:rag", "rag:nosuch", ",", "finetuned:prompt"])
def test_bad_pairs_are_one_message(text):
    from lab.errors import InputError

    with pytest.raises(InputError, match="rag:prompt"):
        parse_pairs(text, ["prompt", "rag", "hybrid-rag"])


def test_a_batch_stops_once_its_pair_is_decided_and_says_what_it_saved(tmp_path):
    """200 questions where rag is always right and prompt never: the run stops, done, after a few batches; the
    decision and its savings are stored with the run; resuming it asks the rest without the rule."""
    from lab.experiments.answer_paths import PathContext
    from lab.experiments.batch import CompareJob
    from lab.experiments.run_store import RunStore
    from lab.evaluation.golden import GoldenQuestion
    from test_compare_runs import Generator, Retriever

    runs = RunStore(tmp_path / "runs.sqlite")
    questions = [GoldenQuestion(f"q{i}", f"Which port, case {i}?", "7443", [], ["ports.md"], "numeric")
                 for i in range(200)]
    ctx = PathContext(Generator(), Retriever(), Retriever(), k=1)
    rule = StopRule((("rag", "prompt"),), margin=0.0)
    job = CompareJob(questions, ["prompt", "rag"], ctx, runs, {"collection": "t"}, batch_size=4, stop=rule).run()
    record = runs.get(job.run_id)
    assert record.status == "done" and job.state == "done"
    assert 5 <= job.decision.asked < 40 and record.done < record.total == 400
    assert job.decision.answers_saved == 400 - record.done and job.decision.seconds_saved > 0
    stored = runs.decision(job.run_id)
    assert stored["states"][0]["verdict"] == "a better" and "stopping saved" in stored["text"]
    assert stored["rule"]["pairs"] == [["rag", "prompt"]]


def test_without_a_rule_a_batch_asks_everything(tmp_path):
    from lab.experiments.answer_paths import PathContext
    from lab.experiments.batch import CompareJob
    from lab.experiments.run_store import RunStore
    from test_compare_runs import QUESTIONS, Generator, Retriever

    runs = RunStore(tmp_path / "runs.sqlite")
    job = CompareJob(QUESTIONS, ["prompt", "rag"], PathContext(Generator(), Retriever(), Retriever(), k=1), runs,
                     {}).run()
    assert job.decision is None and runs.decision(job.run_id) is None and runs.get(job.run_id).done == 24


@pytest.mark.usefixtures("show_error_details")
def test_the_batch_tab_stops_a_run_once_its_pair_is_decided(fake_app, tmp_path, monkeypatch):
    """On the Compare page: the toggle, the pair, a start; the run ends done before its last question, and the tab
    shows the decision and what stopping saved (fake models: this tests the page's plumbing, the real run is in
    the results)."""
    import time
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    from lab.evaluation.golden import GoldenQuestion
    from lab.evaluation.golden_store import GoldenStore
    from lab.experiments.run_store import RunStore

    GoldenStore().save("passages", [GoldenQuestion(f"q{i}", f"Question {i}?", "saw 2 passages") for i in range(120)],
                       collection=fake_app)
    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "pages" / "compare.py"), default_timeout=120)
    at.session_state["collection"] = fake_app
    at.run()
    at.multiselect(key="paths").set_value(["prompt", "rag"]).run()
    chosen = next(o for o in at.selectbox(key="batch_golden").options if o.startswith("passages@"))
    at.selectbox(key="batch_golden").set_value(chosen).run()  # other tests keep sets in the same data directory
    at.toggle(key="batch_stop").set_value(True).run()
    at.multiselect(key="batch_stop_pairs").set_value(["prompt vs rag"]).run()
    at.button(key="batch_start").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    run_id = at.session_state["batch_job"]
    deadline = time.time() + 60
    while RunStore().get(run_id).status == "running" and time.time() < deadline:
        time.sleep(0.2)
    record = RunStore().get(run_id)
    assert record.status == "done" and record.done < record.total == 240
    at.run()
    assert any("stopping saved" in s.value for s in at.success), [s.value for s in at.success]
    assert any("rag is better" in c.value for c in at.caption), [c.value for c in at.caption]


def test_a_cancel_reads_cancelling_until_the_answer_in_progress_ends_and_keeps_what_was_stored(fake_app, monkeypatch):
    """Cancel on the batch tab: the bar says "cancelling" at once (no second Cancel button), the run ends cancelled
    with every stored answer kept and the count shown equal to what is stored."""
    import threading
    import time
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    from lab.evaluation.golden import GoldenQuestion
    from lab.evaluation.golden_store import GoldenStore
    from lab.experiments.run_store import RunStore
    from pages.ui import resources

    gate = threading.Event()
    fake = resources.generator()

    class Held(type(fake)):
        def generate(self, conversations, decoding, adapter=None, **kw):
            gate.wait(30)  # the batch is generating when Cancel is pressed
            return super().generate(conversations, decoding, adapter, **kw)

    held = Held()
    monkeypatch.setattr(resources, "generator", lambda name=None, backend="transformers": held)
    GoldenStore().save("cancel-me", [GoldenQuestion(f"c{i}", f"Question {i}?", "x") for i in range(40)],
                       collection=fake_app)
    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "pages" / "compare.py"), default_timeout=60)
    at.session_state["collection"] = fake_app
    at.run()
    at.multiselect(key="paths").set_value(["prompt"]).run()
    chosen = next(o for o in at.selectbox(key="batch_golden").options if o.startswith("cancel-me@"))
    at.selectbox(key="batch_golden").set_value(chosen).run()
    at.number_input(key="batch_size").set_value(8).run()
    at.button(key="batch_start").click().run()
    run_id = at.session_state["batch_job"]
    at.button(key=f"batch_cancel_{run_id}").click().run()
    assert any("cancelling" in (p.text or "") for p in at.get("progress")), [p.text for p in at.get("progress")]
    at.run()  # the next redraw (the page polls every 2 s)
    assert not [b for b in at.button if b.key == f"batch_cancel_{run_id}"], "one cancel is enough"
    assert any("cancelling" in (p.text or "") for p in at.get("progress"))
    gate.set()
    deadline = time.time() + 30
    while RunStore().get(run_id).status == "running" and time.time() < deadline:
        time.sleep(0.1)
    record = RunStore().get(run_id)
    assert record.status == "cancelled" and record.done == len(RunStore().answers(run_id)) < 40
