"""Blind stakeholder mode: the shuffle, what is hidden, votes stored with a run, and the Compare page (AppTest)."""

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lab.experiments import blind
from lab.errors import InputError
from lab.evaluation.golden import GoldenQuestion
from lab.evaluation.record import AnswerRecord
from lab.experiments.run_store import RunStore

REPO = Path(__file__).resolve().parent.parent
PATHS = ["prompt", "rag", "hybrid-rag"]


def _record(qid, path, answer, question="Q?"):
    return AnswerRecord(question_id=qid, question=question, path=path, answer=answer)


def test_the_order_is_seeded_per_question_and_independent_of_the_given_order():
    first = blind.blind_order(PATHS, "run:q1")
    assert sorted(first) == sorted(PATHS)
    assert blind.blind_order(list(reversed(PATHS)), "run:q1") == first, "same question, same order"
    orders = {tuple(blind.blind_order(PATHS, f"run:q{i}")) for i in range(30)}
    assert len(orders) > 1, "questions get different orders"
    assert blind.letters(2) == ["A", "B"]
    with pytest.raises(InputError):
        blind.letters(27)


def test_what_a_viewer_sees_hides_citations_and_the_json_wrapper():
    assert blind.blind_text("Port 7443 [1][2, 3].") == "Port 7443."
    assert blind.blind_text('{"answer": "Yes [2]", "sources": [2], "confidence": "low"}') == "Yes"
    # retrieved document names give retrieval away too, also in the prompt's copied scaffolding
    assert blind.blind_text("As privacy-policy.pdf says [1], source: faq.html lists it.",
                            ["privacy-policy.pdf", "faq.html"]) == "As a document says, a document lists it."
    records = [_record("q1", p, f"{p} answer [1]") for p in PATHS] + [_record("q2", "rag", "x")]
    answers = blind.blind_answers(records, "run", "q1")
    assert [a.letter for a in answers] == ["A", "B", "C"]
    assert [a.path for a in answers] == blind.blind_order(PATHS, "run:q1")
    assert all("[1]" not in a.text for a in answers)
    with pytest.raises(InputError, match="no answers"):
        blind.blind_answers(records, "run", "q9")
    assert blind.run_questions(records) == [("q1", "Q?"), ("q2", "Q?")]


def test_a_one_off_question_is_stored_as_a_blind_run_and_votes_count(fake_generator):
    from lab.experiments.answer_paths import PathContext, run_path

    runs = RunStore()
    ctx = PathContext(fake_generator)
    answers = [run_path("prompt", "Why?", ctx), run_path("finetuned", "Why?", ctx)]
    qid = blind.question_id("Why?")
    assert qid == blind.question_id(" Why? ") and qid.startswith("typed-")
    run_id = blind.store_answers(answers, GoldenQuestion(qid, "Why?", ""), runs, {"model": "fake"})
    run = runs.get(run_id)
    assert run.status == "done" and run.manifest.blind is True and run.manifest.paths == ("prompt", "finetuned")
    stored = runs.answers(run_id)
    assert {r.path for r in stored} == {"prompt", "finetuned"}
    assert all(r.correct is None and r.f1 is None for r in stored), "no gold answer: no gold scores"
    shown = blind.blind_answers(stored, run_id, qid)
    assert blind.vote(runs, run_id, qid, shown[0], "viewer-1")
    assert blind.vote(runs, run_id, qid, shown[0], "Dana")
    assert not blind.vote(runs, run_id, qid, shown[1], "Dana")  # one vote per viewer per question
    assert runs.voted(run_id, qid, "Dana") == shown[0].path and runs.voted(run_id, qid, "Eve") is None
    assert runs.votes(run_id) == {shown[0].path: 2} == runs.votes(run_id, qid)
    assert runs.votes(run_id, "other") == {}
    table = blind.reveal(shown, runs.votes(run_id, qid), runs.votes(run_id))
    assert table[0] == {"answer": "Answer A", "path": shown[0].path, "votes (this question)": 2,
                        "votes (whole run)": 2}


def _visible_text(at) -> str:
    parts = [e.value for e in list(at.markdown) + list(at.subheader) + list(at.code) + list(at.text)]
    return "\n".join(parts + [e.label for e in at.expander])


def _page(**state) -> AppTest:
    at = AppTest.from_file(str(REPO / "pages" / "compare.py"), default_timeout=120)
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.mark.slow  # ingest, then the whole blind flow through AppTest reruns
@pytest.mark.usefixtures("show_error_details")
def test_blind_mode_hides_the_paths_stores_votes_and_reveals(fake_app):
    at = _page(collection=fake_app)
    at.multiselect(key="paths").set_value(PATHS)
    at.selectbox(key="golden_pick").select_index(1)
    at.toggle(key="blind_mode").set_value(True)
    at.button(key="ask").click().run()
    assert not at.exception and not at.error, [e.value for e in at.exception or at.error]
    run_id, qid = at.session_state["blind_current"]
    assert [h.value for h in at.subheader] == ["Answer A", "Answer B", "Answer C"]
    shown = _visible_text(at)
    for path in PATHS:
        assert not re.search(rf"(?<![\w-]){re.escape(path)}(?![\w-])", shown), f"{path} is visible before the reveal"
    assert not at.expander, "retrieved chunks are hidden before the reveal"
    order = blind.blind_order(PATHS, f"{run_id}:{qid}")

    at.text_input(key="blind_voter").set_value("Dana")
    at.button(key=f"blind_vote_{run_id}_{qid}_B").click().run()
    assert RunStore().votes(run_id) == {order[1]: 1}
    assert any("Your vote on this question: Answer B" in s.value for s in at.info)
    assert not [b for b in at.button if b.key.startswith(f"blind_vote_{run_id}_{qid}_")], "one vote per viewer"
    assert [h.value for h in at.subheader] == ["Answer A", "Answer B", "Answer C"], "same order after a rerun"

    at.button(key=f"blind_reveal_{run_id}_{qid}").click().run()
    assert not at.exception
    assert [h.value for h in at.subheader] == [f"Answer {letter}: {path}" for letter, path in zip("ABC", order)]
    tally = at.dataframe[0].value
    assert list(tally["path"]) == order and list(tally["votes (this question)"]) == [0, 1, 0]
    assert len(at.expander) == 4, "the chunks rag and hybrid-rag retrieved (2 each) are shown after the reveal"


@pytest.mark.slow  # ingest, a batch run, then the blind flow through AppTest reruns
@pytest.mark.usefixtures("show_error_details")
def test_blind_mode_steps_through_a_finished_batch_run(fake_app, fake_generator):
    from lab.experiments.batch import CompareJob
    from lab.experiments.answer_paths import PathContext

    questions = [GoldenQuestion(f"s{i}", f"Question number {i}?", "x") for i in range(3)]
    runs = RunStore()
    run_id = CompareJob(questions, ["prompt", "finetuned"], PathContext(fake_generator, adapter="ft"), runs,
                        {"model": "fake"}).run().run_id
    at = _page(collection=fake_app, blind_mode=True)
    at.radio(key="blind_source").set_value("A finished batch run").run()
    at.selectbox(key="blind_run").set_value(run_id).run()
    assert at.selectbox(key="blind_question").value == "s0"
    at.button(key="blind_next").click().run()
    assert at.selectbox(key="blind_question").value == "s1"
    assert "Question number 1?" in [t.value for t in at.text]
    assert [h.value for h in at.subheader] == ["Answer A", "Answer B"]
    at.button(key=f"blind_vote_{run_id}_s1_A").click().run()
    assert RunStore().votes(run_id, "s1") == {blind.blind_order(["prompt", "finetuned"], f"{run_id}:s1")[0]: 1}
    at.button(key="blind_prev").click().run()
    assert at.selectbox(key="blind_question").value == "s0"


def test_blind_mode_takes_an_agentic_path_and_stores_its_decisions(fake_app):
    at = _page(collection=fake_app)
    at.multiselect(key="paths").set_value(["rag", "agentic-rag"])
    at.selectbox(key="golden_pick").select_index(1)
    at.toggle(key="blind_mode").set_value(True)
    at.button(key="ask").click().run()
    assert not at.exception and not at.error, [e.value for e in at.exception or at.error]
    run_id, _ = at.session_state["blind_current"]
    assert [h.value for h in at.subheader] == ["Answer A", "Answer B"]
    assert "agentic" not in _visible_text(at)
    stored = {r.path: r for r in RunStore().answers(run_id)}
    assert stored["agentic-rag"].agent["steps"] >= 1 and stored["rag"].agent is None
