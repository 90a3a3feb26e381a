"""Scoring maths against hand-computed values."""

import math

import pytest

from lab.evaluation import metrics
from lab.evaluation.costs import PriceTable, monthly_cost, query_cost
from lab.errors import InputError
import numpy as np

from lab.evaluation import stats
from lab.evaluation.stats import compare_pair, mean_ci


@pytest.mark.parametrize("answer,gold,aliases,expected", [
    ("The API listens on port 7443.", "7443", [], True),
    ("It is 17443.", "7443", [], False),  # whole words only
    ("Team costs $14 per user.", "$14", ["14 USD"], True),
    ("The key is retention.snapshot_days.", "retention.snapshot_days", [], True),
    ("Set retention.snapshot_days_max.", "retention.snapshot_days", [], False),
    ("It costs fourteen dollars.", "$14", ["fourteen dollars"], True),
    ("7,443 is the port", "7443", [], True),
])
def test_alias_match(answer, gold, aliases, expected):
    assert metrics.is_correct(answer, gold, aliases) is expected


def test_token_f1_hand_computed():
    # answer tokens: port 7443 used (3); gold: port 7443 (2); common 2 -> P 2/3, R 1 -> F1 0.8
    assert metrics.token_f1("port 7443 used", "port 7443") == pytest.approx(0.8)
    assert metrics.token_f1("nothing here", "7443") == 0.0
    assert metrics.token_f1("x 7443", "port", ["7443"]) == pytest.approx(2 * 0.5 * 1 / 1.5)


def test_groundedness_and_citations():
    passages = ["The server API listens on port 7443 by default.", "Agents use port 7444."]
    assert metrics.groundedness("The API listens on port 7443 [1].", passages) == 1.0
    assert metrics.groundedness("The API listens on port 7443. Pricing starts at 99 euros.", passages) == 0.5
    assert metrics.groundedness("Anything.", []) is None
    assert metrics.citations("Port 7443 [1][2], see [2, 3].") == [1, 2, 3]
    assert metrics.citation_validity([1, 2, 5], 4) == pytest.approx(2 / 3)
    assert metrics.citation_validity([], 4) is None


@pytest.mark.parametrize("text,ok", [
    ('{"answer": "Paris", "sources": [1], "confidence": "high"}', True),
    ('{"answer": "Paris", "sources": ["1"], "confidence": "high"}', False),
    ('{"sources": [], "answer": "Paris", "confidence": "high"}', False),
    ('{"answer": "Paris", "sources": [], "confidence": "sure"}', False),
    ("Paris", False),
    ('```json\n{"answer": "Paris", "sources": [], "confidence": "high"}\n```', False),
])
def test_json_format(text, ok):
    assert metrics.json_format_ok(text) is ok


def test_json_answers_are_scored_on_their_answer_field():
    assert metrics.json_answer('{"answer": "7443", "sources": [1], "confidence": "high"}') == "7443"
    assert metrics.json_answer("plain text") == "plain text"


def test_mean_ci_brackets_the_mean_and_ignores_missing():
    est = mean_ci([1, 0, 1, 1, None, 0, 1, 1, 0, 1])
    assert est.n == 9 and est.mean == pytest.approx(6 / 9)
    assert 0 <= est.low <= est.mean <= est.high <= 1
    assert mean_ci([1, 1, 1]).low == 1.0
    assert math.isnan(mean_ci([None]).mean)


def test_paired_test_separates_a_clear_effect_and_not_noise():
    clear = compare_pair([1] * 40, [0] * 30 + [1] * 10, "a", "b")
    assert clear.separable and clear.p_value < 0.01 and (clear.wins, clear.ties, clear.losses) == (30, 10, 0)
    noise = compare_pair([1, 0, 1, 0, 1, 0], [0, 1, 0, 1, 1, 0], "a", "b")
    assert not noise.separable and noise.p_value > 0.2
    small = compare_pair([1, 1, 0, 1, 0, 1, 0, 0], [0, 1, 0, 0, 0, 1, 0, 0])
    assert not small.separable and small.questions_needed and small.questions_needed > 8


def test_costs():
    api = PriceTable(api_input_per_m=2.0, api_output_per_m=8.0, vector_db_per_1k=1.0)
    assert query_cost(1_000_000, 0, 0, False, api) == pytest.approx(2.0)
    assert query_cost(0, 1000, 0, True, api) == pytest.approx(0.008 + 0.001)
    hosted = PriceTable(mode="self-hosted", serving_hour=3.6, vector_db_per_1k=0.0)
    assert query_cost(999, 999, 1000.0, True, hosted) == pytest.approx(0.001)  # 1 s of a $3.60/h GPU
    assert monthly_cost(0.01, 1000, one_off=120, months=12) == pytest.approx(20.0)
    with pytest.raises(InputError, match="PriceTable.mode"):
        PriceTable(mode="free")
    assert "2024" in PriceTable().source


def test_self_hosted_cost_is_priced_on_the_named_machine_at_the_stated_throughput():
    """self-hosted cost was this CPU's latency x an A10G's hourly price, stated as a fact."""
    from lab.evaluation.costs import MACHINES

    default = PriceTable(mode="self-hosted")
    assert default.serving_machine == MACHINES[0].name and "CPU only" in default.serving_machine
    assert default.serving_hour == MACHINES[0].hour_usd and default.serving_speedup == 1.0
    gpu = PriceTable(mode="self-hosted", serving_machine="1x A10G", serving_hour=1.0, serving_speedup=10.0,
                     vector_db_per_1k=0.0)
    assert query_cost(0, 0, 36_000.0, False, gpu) == pytest.approx(0.001)  # 36 s measured, 3.6 s there, $1/h
    assert gpu.assumption.startswith("assumption: served on 1x A10G at $1/h, at 10x the throughput")
    assert gpu.assumption in gpu.basis and PriceTable().assumption == ""
    assert query_cost(1000, 100, 36_000.0, True, PriceTable()) == query_cost(1000, 100, 0.0, True, PriceTable()), \
        "api mode prices tokens only, as before"
    with pytest.raises(InputError, match="serving_speedup"):
        PriceTable(mode="self-hosted", serving_speedup=0)
    with pytest.raises(InputError, match="serving_machine"):
        PriceTable(mode="self-hosted", serving_machine=" ")
    old_run = {"mode": "self-hosted", "gpu_hour": 1.006, "api_input_per_m": 0.15, "api_output_per_m": 0.6,
               "vector_db_per_1k": 0.00825, "source": "2024 defaults"}  # recorded before machines were named
    assert PriceTable.from_dict(old_run) == PriceTable(mode="self-hosted", source="2024 defaults")


def test_reprice_uses_measured_usage():
    from lab.evaluation.costs import reprice

    from lab.evaluation.record import AnswerRecord

    records = [AnswerRecord(question_id="q1", path="rag", tokens_in=1000, tokens_out=0, latency_ms_generate=3600.0,
                            retrieved_sources=["a.md"], cost_usd=9.9),
               AnswerRecord(question_id="q1", path="finetuned", error="no adapter")]
    hosted = reprice(records, PriceTable(mode="self-hosted", serving_hour=1.0, vector_db_per_1k=0.0))
    assert hosted[0].cost_usd == pytest.approx(0.001) and hosted[1].cost_usd is None
    api = reprice(records, PriceTable(api_input_per_m=1.0, vector_db_per_1k=1.0))
    assert api[0].cost_usd == pytest.approx(0.001 + 0.001)
    assert records[0].cost_usd == 9.9, "the stored records are not changed"


def test_json_answers_cite_through_their_sources_field():
    """The fine-tuned paths answer {"answer", "sources": [n], ...}: those numbers are their citations."""
    assert metrics.cited('{"answer": "Port 7443.", "sources": [1, 3], "confidence": "high"}') == [1, 3]
    assert metrics.cited('{"answer": "Port 7443 [2].", "sources": [1], "confidence": "high"}') == [1, 2]
    assert metrics.cited('{"answer": "I don\'t know", "sources": [], "confidence": "low"}') == []
    assert metrics.cited('{"answer": "x", "sources": ["1", true, 2.5, 4], "confidence": "low"}') == [4]
    assert metrics.cited("Port 7443 [1][2].") == [1, 2]


def test_a_json_answer_gets_citation_validity_and_cited_sources():
    from lab.experiments.scoring import score
    from lab.evaluation.costs import PriceTable
    from lab.evaluation.golden import GoldenQuestion
    from lab.experiments.answer_paths import Answer
    from lab.index.retrieval import Hit

    hits = [Hit(f"c{i}", f"doc{i}.md", "text", 0.5) for i in (1, 2)]
    answer = Answer("hybrid", "Which port?", '{"answer": "7443", "sources": [2, 5], "confidence": "high"}', hits)
    record = score(answer, GoldenQuestion("q1", "Which port?", "7443", [], ["doc2.md"], "numeric"), PriceTable())
    assert record.citation_valid == 0.5 and record.cited_sources == ["doc2.md"]


def test_separable_and_the_interval_never_disagree():
    """One procedure decides: p < 0.05 exactly when the difference's 95% interval excludes 0 (300 random paired
    sets of 0/1 scores, 8 to 90 questions, the shapes a comparison produces)."""
    rng = np.random.default_rng(1)
    for _ in range(300):
        n = int(rng.integers(8, 90))
        a = (rng.random(n) < rng.random()).astype(float)
        b = (rng.random(n) < rng.random()).astype(float)
        t = stats.compare_pair(a, b)
        assert (t.diff.low > 0 or t.diff.high < 0) == t.separable == (t.p_value < 0.05)
        assert t.diff.low <= t.diff.mean <= t.diff.high


@pytest.mark.timeout(30)
@pytest.mark.parametrize("diffs", [[1.0], [1.0, 0.0], [1.0, 1.0, 1.0], [0.5, -1.0, 1.0, 1.0, 1.0], [0.2] * 5 + [0.3]])
def test_a_few_questions_give_a_finite_interval_at_once(diffs):
    """With five questions or fewer no sign-flip p-value can fall below 0.05, so the test never rejects: the
    interval must still come back (it looped forever, which hung the sweep on a three-question set) and hold 0."""
    t = stats.compare_pair(diffs, [0.0] * len(diffs))
    assert math.isfinite(t.diff.low) and math.isfinite(t.diff.high)
    assert (t.diff.low > 0 or t.diff.high < 0) == t.separable == (t.p_value < 0.05)
    assert t.diff.low <= t.diff.mean <= t.diff.high


def test_an_answer_that_loops_is_flagged_in_the_run_and_on_the_page(fake_app, monkeypatch):
    """The Home demo's hybrid-rag once answered "1. HALYARD 4.1 RELEASE NOTES" four times: the summary counts such
    answers per path and the answer card says the model looped instead of showing the loop as an answer."""
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    from lab.evaluation.record import AnswerRecord
    from lab.evaluation.summary import summarize
    from pages.ui import resources

    loop = "1. HALYARD 4.1 RELEASE NOTES 2. HALYARD 4.1 RELEASE NOTES 3. HALYARD 4.1 RELEASE NOTES 4. HALYARD 4.1"
    records = [AnswerRecord(question_id=f"q{i}", path=path, answer=loop if path == "rag" and i < 2 else "Port 7443.",
                            correct=1.0, tokens_in=9, tokens_out=4, cost_usd=0.0, latency_ms_total=5.0)
               for i in range(3) for path in ("rag", "prompt")]
    warnings = summarize(records).warnings
    assert "rag: 2 answers looped on a repeated phrase instead of answering (scored as written; see the answer " \
           "column)." in warnings and not any(w.startswith("prompt:") for w in warnings)

    fake = resources.generator()

    class Loops(type(fake)):
        def generate(self, conversations, decoding, adapter=None, **kw):
            from dataclasses import replace

            return [replace(g, text=loop) for g in super().generate(conversations, decoding, adapter, **kw)]

    looping = Loops()
    monkeypatch.setattr(resources, "generator", lambda name=None, backend="transformers": looping)
    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "pages" / "compare.py"), default_timeout=60)
    at.session_state["collection"] = fake_app
    at.run()
    at.multiselect(key="paths").set_value(["prompt"]).run()
    at.text_area(key="question_(type your own)").set_value("Which port?").run()
    at.button(key="ask").click().run()
    assert not at.exception, at.exception
    assert any('the model looped on "halyard 4' in w.value and 'release notes"' in w.value for w in at.warning), \
        [w.value for w in at.warning]
