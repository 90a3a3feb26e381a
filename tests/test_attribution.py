"""The 2x2 attribution on runs whose effects are known by construction, through the answer records the lab stores,
and Holm's adjustment beside each pair's p-value."""

import pytest

from lab.evaluation.attribution import attribute, attribute_records
from lab.evaluation.record import AnswerRecord
from lab.evaluation.stats import holm
from lab.evaluation.summary import pair_rows, summarize


def _records(cells: dict[str, list[float]]) -> list[AnswerRecord]:
    return [AnswerRecord(question_id=f"q{i:02d}", path=path, correct=value, f1=value, tokens_in=0, tokens_out=0,
                         cost_usd=0.0)
            for path, values in cells.items() for i, value in enumerate(values)]


def test_a_negative_interaction_is_found_and_worded():
    """RAFT's naive case: the adapter alone helps as much as retrieval, but adds nothing on top of it."""
    n = 30
    records = _records({"prompt": [0.0] * n, "hybrid-rag": [1.0] * n, "finetuned": [1.0] * n, "hybrid": [1.0] * n})
    found = attribute_records(records)
    assert (found.retrieval.mean, found.finetuning.mean, found.interaction.mean, found.n) == (0.5, 0.5, -1.0, n)
    assert found.interaction.high < 0
    verdicts = found.verdicts()
    assert verdicts["retrieval"].startswith("retrieval helps") and "less than the sum" in verdicts["interaction"]


def test_gains_that_add_up_have_no_separable_interaction():
    """A varied run built additively: H = F + R - P question by question, so the interaction is exactly 0."""
    import random

    rng = random.Random(3)
    p = [rng.choice([0.0, 0.25]) for _ in range(40)]
    r = [x + rng.choice([0.25, 0.5]) for x in p]
    f = [x + rng.choice([0.0, 0.25]) for x in p]
    h = [ri + fi - pi for pi, ri, fi in zip(p, r, f)]
    found = attribute({"prompt": p, "rag": r, "finetuned": f, "hybrid": h}, "f1")
    assert found.retrieval_path == "rag" and abs(found.interaction.mean) < 1e-12
    assert found.interaction.low <= 0 <= found.interaction.high
    assert "add up" in found.verdicts()["interaction"] and found.retrieval.low > 0


def test_a_missing_cell_or_unscored_questions():
    assert attribute({"prompt": [1.0], "rag": [1.0], "finetuned": [1.0]}, "correct") is None
    found = attribute({"prompt": [0.0, None], "hybrid-rag": [1.0, 1.0], "finetuned": [0.0, 1.0],
                       "hybrid": [1.0, 1.0]}, "correct")
    assert found.n == 1  # the design stays paired: a question without every cell is left out
    records = _records({"prompt": [0.0], "hybrid-rag": [1.0], "finetuned": [0.0], "hybrid": [1.0]})
    records += [AnswerRecord(question_id="q00", path="prompt@endpoint", correct=1.0)]
    assert attribute_records(records).n == 1  # the endpoint twins are not mixed into the local 2x2


def test_holm_beside_each_pair_and_the_verdict_it_gives():
    assert holm([0.01, 0.04, 0.03, 0.20]) == pytest.approx([0.04, 0.09, 0.09, 0.2])
    n = 20
    records = _records({"prompt": [0.0] * n, "rag": [1.0] * 12 + [0.0] * 8, "hybrid-rag": [1.0] * 13 + [0.0] * 7})
    summary = summarize(records)
    rows = pair_rows(summary, "accuracy")
    assert all("p (Holm)" in row and row["p (Holm)"] >= row["p"] for row in rows)
    assert [t.separable_holm for t in summary.pairs] == [t.p_holm < 0.05 for t in summary.pairs]
    single = summarize(_records({"prompt": [0.0] * n, "rag": [1.0] * n}))
    assert single.pairs[0].p_holm is None  # one pair read alone needs no adjustment
