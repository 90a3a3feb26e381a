"""Runs that mean what they say: pages open on the latest complete run, not a blind-mode question or an empty
cancelled run; words follow the numbers (plurals, no -0.00)."""

from lab.evaluation.record import AnswerRecord
from lab.evaluation.summary import signed, summarize
from lab.experiments.manifest import RunManifest
from lab.experiments.run_store import RunRecord, default_run


def _run(run_id, status="done", done=10, blind=False, paths=("prompt", "rag")):
    return RunRecord(run_id, "2026-12-07", status, RunManifest(paths=paths, blind=blind), 10, done, None)


def test_pages_open_on_the_latest_complete_run():
    runs = [_run("blind", blind=True, done=2, paths=("prompt", "rag")), _run("cancelled", "cancelled", done=0),
            _run("complete"), _run("older")]
    assert runs[default_run(runs)].run_id == "complete"
    assert default_run([_run("cancelled", "cancelled", done=3), _run("blind", blind=True)]) == 0
    assert default_run([]) == 0


def test_words_follow_the_numbers():
    assert signed(-0.0001) == "+0.00" and signed(-0.126) == "-0.13"
    records = [AnswerRecord(question_id="q1", path=p, correct=c, tokens_in=0, tokens_out=0, cost_usd=0.0)
               for p, c in (("prompt", 0.0), ("rag", 1.0))]
    warnings = summarize(records).warnings
    assert warnings[0].startswith("Only 1 question:")
    assert any("1 question cannot separate" in w for w in warnings)
    assert not any("needs about" in w for w in warnings if "1 question" in w)


def test_the_power_sentence_never_asks_for_fewer_questions_than_were_asked():
    """15 questions, 5 splitting the paths 4-1: not separable, and any number of questions named is above 15 (the
    sentence once read "15 questions cannot separate them ... about 9 questions would separate")."""
    from lab.evaluation.stats import compare_pair

    for wins, losses in ((4, 1), (3, 0), (5, 2), (2, 1), (6, 3)):
        a = [1.0] * wins + [0.0] * losses + [0.0] * (15 - wins - losses)
        b = [0.0] * wins + [1.0] * losses + [0.0] * (15 - wins - losses)
        test = compare_pair(a, b)
        assert test.questions_needed is None or (not test.separable and test.questions_needed > 15), test
