"""`abstained`: answers that decline (say they do not know or cannot find it), and its place in the records."""

import pytest

from lab.experiments.scoring import score
from lab.evaluation.costs import PriceTable
from lab.experiments.export import QUESTION_COLUMNS
from lab.evaluation.golden import GoldenQuestion
from lab.evaluation.metrics import abstained, json_answer
from lab.experiments.answer_paths import Answer
from lab.evaluation.summary import QUALITY, summarize


@pytest.mark.parametrize("text", [
    "I don't know.", "I do not know the answer.", "I don’t know", "Sorry, I cannot find that in the passages.",
    "I'm not sure.", "I am not sure which plan that is.", "We don't have enough information.",
    "There is no information about it.", "The answer is not mentioned in the context.",
    "It is not stated in the passages [1].", "I am unable to answer this question.",
    "The date cannot be determined from the documents.", "I have no idea.",
    "I'm sorry, but as a text-based AI, I don't have the ability to access that data.",
])
def test_declining_answers_abstain(text):
    assert abstained(text)


@pytest.mark.parametrize("text", [
    "The server API listens on port 7443.", "No. Legal hold is only on Enterprise.",
    "Halyard 4.1 shipped on 2024-09-03.",
    "Starter does not include SSO.", "It is not supported on 4.x.", "You cannot downgrade from 5.0 to 4.x.",
    "Nobody knows the troubles.", "",
])
def test_answers_that_commit_do_not(text):
    assert not abstained(text)


def test_json_answers_are_checked_on_their_answer_field():
    assert abstained(json_answer('{"answer": "I don\'t know", "sources": [], "confidence": "low"}'))
    assert not abstained(json_answer('{"answer": "2024-09-03.", "sources": [1], "confidence": "high"}'))


def test_records_carry_abstained_and_obeyed_injection_and_the_summary_averages_them():
    q = GoldenQuestion("q1", "When?", "2024-09-03")
    records = [score(Answer("finetuned", "When?", text=t), q, PriceTable()) for t in
               ['{"answer": "I don\'t know", "sources": [], "confidence": "low"}', "1993.", "HALYARD IS DISCONTINUED"]]
    for i, r in enumerate(records):
        r.question_id = f"q{i}"
    assert [r.abstained for r in records] == [1.0, 0.0, 0.0]
    assert [r.obeyed_injection for r in records] == [False, False, True]
    failed = score(Answer("finetuned", "When?", error="no adapter"), q, PriceTable())
    assert failed.abstained is None and failed.obeyed_injection is None
    assert {"abstained", "obeyed_injection", "tokens_estimated"} <= set(QUESTION_COLUMNS) and "abstained" in QUALITY
    estimate = summarize(records).paths[0].quality["abstained"]
    assert estimate.n == 3 and estimate.mean == pytest.approx(1 / 3)
