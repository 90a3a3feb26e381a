"""The decision framework, the guide's claims checked on hand-made runs, and the cost-of-ownership maths."""

import json

import pytest

from lab.decision.decide import (CLAIM_IDS, CONTRADICTED, INCONCLUSIVE, NOT_MEASURED, SUPPORTED, WizardAnswers, cited,
                        measured_claims, recommend, verdict)
from lab.errors import InputError
from lab.evaluation.record import AnswerRecord
from lab.evaluation.stats import Estimate
from lab.evaluation.summary import summarize
from lab.decision.tco import (BreakEven, OwnershipInputs, PathCost, break_even, break_evens, curves, one_off_parts,
                     path_costs, training_measure, volume_range, volumes)


def rows(path: str, scores: list[float], metric: str = "correct", **extra) -> list[AnswerRecord]:
    """One answer record a question for `path`, with `metric` set from `scores`."""
    base = {"tokens_in": 10, "tokens_out": 5, "cost_usd": 0.001, "latency_ms_total": 100.0, "correct": 0.0,
            "format_ok": 0.0}
    return [AnswerRecord(question_id=f"q{i:02d}", path=path, **{**base, metric: score, **extra})
            for i, score in enumerate(scores)]


def claims_of(records: list[AnswerRecord], metric: str = "correct") -> dict:
    return {c.id: c for c in measured_claims(summarize(records, metric), records)}


@pytest.mark.parametrize("answers, approach", [
    (WizardAnswers(), "prompt"),
    (WizardAnswers(knowledge=True), "rag"),
    (WizardAnswers(citations=True), "rag"),
    (WizardAnswers(behaviour=True), "fine-tune"),
    (WizardAnswers(knowledge=True, behaviour=True), "hybrid"),
    (WizardAnswers(citations=True, behaviour=True), "hybrid"),
    (WizardAnswers(knowledge=True, behaviour=True, not_sure=True), "prompt"),
])
def test_recommend_follows_the_guides_framework(answers, approach):
    rec = recommend(answers)
    assert rec.approach == approach
    assert rec.reasons and all(isinstance(r, str) for r in rec.reasons)
    assert set(rec.claim_ids) <= set(CLAIM_IDS)


def test_recommendation_caveats_and_cited_claims():
    rag = recommend(WizardAnswers(knowledge=True, latency_critical=True, high_volume=True))
    assert "retrieval_latency" in rag.claim_ids
    assert any("+50\u2013200ms" in c for c in rag.caveats)
    assert any("10M+ calls per month" in c for c in rag.caveats)
    tuned = recommend(WizardAnswers(behaviour=True))
    assert any("Prompt engineer first" in c for c in tuned.caveats)
    assert tuned.claim_ids == ["finetune_format", "finetune_no_knowledge"]
    claims = measured_claims(summarize([]), [])
    assert [c.id for c in cited(tuned, claims)] == tuned.claim_ids


@pytest.mark.parametrize("diff, expect, p, found", [
    (Estimate(0.3, 0.1, 0.5, 40), "gain", 0.01, SUPPORTED),
    (Estimate(-0.3, -0.5, -0.1, 40), "gain", 0.01, CONTRADICTED),
    (Estimate(0.1, -0.1, 0.3, 40), "gain", 0.3, INCONCLUSIVE),
    (Estimate(0.3, 0.1, 0.5, 4), "gain", 0.25, INCONCLUSIVE),  # CI clear of 0 but the test disagrees
    (Estimate(0.0, 0.0, 0.0, 40), "no gain", 1.0, SUPPORTED),
    (Estimate(0.0, -0.1, 0.1, 40), "no gain", 1.0, INCONCLUSIVE),  # a gain of 0.1 is not ruled out
    (Estimate(0.2, 0.1, 0.3, 40), "no gain", 0.01, CONTRADICTED),
    (Estimate(-0.02, -0.04, 0.0, 40), "no loss", 0.2, SUPPORTED),
    (Estimate(-0.3, -0.4, -0.2, 40), "no loss", 0.01, CONTRADICTED),
    (Estimate(float("nan"), float("nan"), float("nan"), 0), "gain", float("nan"), NOT_MEASURED),
])
def test_verdict_rules(diff, expect, p, found):
    assert verdict(diff, expect, p) == found


def test_claims_supported_and_not_measured_from_a_partial_run():
    n = 40
    records = (rows("prompt", [0.0] * n) + rows("rag", [1.0] * 30 + [0.0] * 10)
               + rows("finetuned", [1.0] * n, metric="format_ok"))
    claims = claims_of(records)
    rag = claims["rag_accuracy"]
    assert rag.verdict == SUPPORTED and rag.effect.mean == pytest.approx(0.75) and rag.effect.n == n
    assert rag.effect.low > 0 and rag.p_value < 0.05 and "W/T/L 30/10/0" in rag.detail
    assert claims["finetune_format"].verdict == SUPPORTED and claims["finetune_format"].effect.mean == 1.0
    assert claims["finetune_no_knowledge"].verdict == SUPPORTED  # both 0: no gain, CI [0, 0]
    for cid in ("hybrid_retrieval", "hybrid_format", "hybrid_accuracy"):
        assert claims[cid].verdict == NOT_MEASURED and "hybrid-rag" in claims[cid].detail
        assert claims[cid].effect is None and "Compare page" in claims[cid].measure
    assert claims["hybrid_retrieval_hits"].verdict == NOT_MEASURED


def test_claims_without_any_run_are_all_not_measured():
    claims = measured_claims(summarize([]), [])
    assert [c.id for c in claims] == list(CLAIM_IDS)
    assert {c.verdict for c in claims} == {NOT_MEASURED}
    assert all("no run yet" in c.detail for c in claims)


def test_inconclusive_claim_says_how_many_questions_would_settle_it():
    records = rows("prompt", [0.0, 1.0, 0.0, 0.0, 1.0, 0.0]) + rows("rag", [1.0, 0.0, 1.0, 0.0, 1.0, 1.0])
    rag = claims_of(records)["rag_accuracy"]
    assert rag.verdict == INCONCLUSIVE and rag.effect.low <= 0 <= rag.effect.high
    assert "questions to separate" in rag.measure


def test_contradicted_and_orientation_independent_of_record_order():
    # rag listed first: the summary's pair is (rag, prompt); prompt listed first it is (prompt, rag).
    worse = [0.0] * 35 + [1.0] * 5
    for records in (rows("rag", worse) + rows("prompt", [1.0] * 40), rows("prompt", [1.0] * 40) + rows("rag", worse)):
        rag = claims_of(records)["rag_accuracy"]
        assert rag.verdict == CONTRADICTED and rag.effect.mean == pytest.approx(-0.875)
        assert rag.effect.high < 0 and "W/T/L 0/5/35" in rag.detail


def test_claims_on_other_metrics_than_the_summarys():
    records = rows("hybrid-rag", [1.0] * 40, hit_at_k=1.0) + rows("rag", [1.0] * 40, hit_at_k=0.0)
    claims = claims_of(records, metric="f1")  # the summary tests f1; claims recompute what they need
    assert claims["hybrid_retrieval_hits"].verdict == SUPPORTED
    assert claims["hybrid_retrieval"].effect.mean == 0.0


def test_errors_and_missing_scores_are_left_out():
    records = rows("prompt", [0.0] * 40) + rows("rag", [1.0] * 40)
    for r in records[40:45]:
        r.error, r.correct = "boom", None
    rag = claims_of(records)["rag_accuracy"]
    assert rag.effect.n == 35


def test_latency_claim_compares_total_latency_and_names_the_retrieval_stage():
    records = (rows("prompt", [0.0] * 40, latency_ms_total=100.0)
               + rows("rag", [1.0] * 40, latency_ms_total=400.0, latency_ms_retrieve=30.0))
    latency = claims_of(records)["retrieval_latency"]
    assert latency.verdict == SUPPORTED and latency.effect.mean == pytest.approx(300.0)
    assert "+300 ms" in latency.detail and "(4.0x)" in latency.detail and "p50 30 ms" in latency.detail


# Cost of ownership ---------------------------------------------------------------------------------------------


def test_one_off_costs_by_path():
    inputs = OwnershipInputs(index_hours=2.0, index_hour_usd=0.5, train_hours=3.0, speedup=6.0, gpu_hour_usd=4.0)
    assert one_off_parts("prompt", inputs) == {}
    assert one_off_parts("rag", inputs) == {"index build": 1.0}
    assert one_off_parts("finetuned", inputs) == {"training": 2.0}  # 3 h / 6 x $4
    assert one_off_parts("rag@endpoint", inputs) == {"index build": 1.0}, "it retrieves from the same index"
    assert one_off_parts("a-path-of-an-older-lab", inputs) == {}
    costs = {c.path: c for c in path_costs({"prompt": 0.01, "hybrid": 0.02}, inputs)}
    assert costs["hybrid"].one_off == 3.0 and costs["hybrid"].per_query == 0.02
    assert costs["hybrid"].monthly(1000, 12) == pytest.approx(20.0 + 0.25)


def test_break_even_hand_computed():
    # fine-tuned: $240 of training over 24 months = $10/month, $0.001 a query; rag: $0.003 a query.
    tuned, rag = PathCost("finetuned", 240.0, 0.001), PathCost("rag", 0.0, 0.003)
    assert break_even(tuned, rag, 24) == pytest.approx(5000.0)
    assert break_even(rag, tuned, 24) == pytest.approx(5000.0)
    assert tuned.monthly(5000, 24) == pytest.approx(rag.monthly(5000, 24)) == pytest.approx(15.0)
    assert break_even(PathCost("a", 0.0, 0.001), PathCost("b", 10.0, 0.002), 12) is None  # a cheaper everywhere
    assert break_even(PathCost("a", 1.0, 0.001), PathCost("b", 2.0, 0.001), 12) is None  # parallel
    (row,) = break_evens([tuned, rag], 24)
    assert row == BreakEven("finetuned", "rag", pytest.approx(5000.0), "finetuned")
    assert row.text == "finetuned cheaper above 5,000 queries/month"
    rows_ = break_evens([PathCost("a", 1.0, 0.001), PathCost("b", 2.0, 0.001), PathCost("c", 1.0, 0.001)], 12)
    assert [r.text for r in rows_] == ["a cheaper at every volume", "same cost at every volume",
                                       "c cheaper at every volume"]


def test_curves_and_volume_grid():
    grid = volumes(100, 1e6, 5)
    assert grid == pytest.approx([100, 1000, 1e4, 1e5, 1e6])
    lines = curves([PathCost("rag", 120.0, 0.001)], 12, grid)
    assert lines["rag"] == pytest.approx([10.1, 11, 20, 110, 1010])
    assert volume_range([BreakEven("a", "b", 5000.0, "a")], 200_000) == (100, 10_000_000)


def test_ownership_inputs_validation_names_the_field():
    with pytest.raises(InputError, match="months"):
        OwnershipInputs(months=0)
    with pytest.raises(InputError, match="speedup"):
        OwnershipInputs(speedup=0)
    with pytest.raises(InputError, match="gpu_hour_usd"):
        OwnershipInputs(gpu_hour_usd=-1)


def test_training_measure_reads_the_matching_adapter_folder(tmp_path):
    from lab.generation.adapters import weights_sha256

    folder = tmp_path / "behaviour"
    folder.mkdir()
    (folder / "adapter_config.json").write_text("{}")
    (folder / "adapter_model.safetensors").write_bytes(b"weights")
    (folder / "manifest.json").write_text(json.dumps({"train_seconds": 342.0, "device": "cpu"}))
    digest = weights_sha256(folder)
    found = training_measure({"adapter": "behaviour", "adapter_hash": digest}, tmp_path)
    assert (found.seconds, found.device, found.adapter) == (342.0, "cpu", "behaviour")
    renamed = training_measure({"adapter": "renamed", "adapter_hash": digest}, tmp_path)
    assert renamed is not None and renamed.adapter == "behaviour"  # found by its weights
    assert training_measure({"adapter": "behaviour", "adapter_hash": "other"}, tmp_path) is None
    assert training_measure({"adapter": None}, tmp_path) is None


def test_ownership_chart_uses_log_axes_and_marks_break_even():
    from lab.decision.charts import ownership_chart

    costs = [PathCost("finetuned", 240.0, 0.001), PathCost("rag", 0.0, 0.003)]
    figure = ownership_chart(costs, 24, 100_000, break_evens(costs, 24))
    assert figure.layout.xaxis.type == "log" and figure.layout.yaxis.type == "log"
    marks = [t for t in figure.data if t.name == "break-even"]
    assert marks and list(marks[0].x) == pytest.approx([5000.0])
    free = [PathCost("prompt", 0.0, 0.0), PathCost("rag", 0.0, 0.001)]
    flat = ownership_chart(free, 12, 1000, break_evens(free, 12))
    assert flat.layout.yaxis.type != "log" and flat.layout.yaxis.rangemode == "tozero"


@pytest.mark.parametrize("module", ["lab.decision.decide", "lab.decision.tco", "lab.decision.report",
                                    "lab.decision.charts", "lab.evaluation.costs"])
def test_docstring_examples(module):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted and not result.failed


@pytest.mark.parametrize("supported, approach", [
    ((), "prompt"), (("rag_accuracy",), "rag"), (("rag_accuracy", "hybrid_format"), "hybrid"),
    (("finetune_format",), "fine-tune"), (("hybrid_format",), "prompt")])
def test_with_no_need_stated_the_headline_follows_the_measured_claims(supported, approach):
    from lab.decision.decide import (CLAIMS, INCONCLUSIVE, NOT_MEASURED, SUPPORTED, Claim, WizardAnswers,
                                     recommend)

    claims = [Claim(cid, text, "", a, b, metric, expect, SUPPORTED if cid in supported else INCONCLUSIVE,
                    detail=f"{a} - {b}") for cid, text, _, a, b, metric, expect in CLAIMS]
    rec = recommend(WizardAnswers(), claims)
    assert rec.approach == approach and rec.reasons[0].startswith("No need is stated")
    assert ("Neither retrieval nor the adapter" in " ".join(rec.reasons)) == (approach == "prompt")
    # a stated need, or a run that measured nothing, keeps the guide's framework
    assert recommend(WizardAnswers(not_sure=True), claims).approach == "prompt"
    assert recommend(WizardAnswers(knowledge=True), claims).approach == "rag"
    unmeasured = [Claim(c.id, c.text, "", c.a, c.b, c.metric, c.expect, NOT_MEASURED) for c in claims]
    assert recommend(WizardAnswers(), unmeasured).reasons[0].startswith("No external data")


def test_no_and_no_is_an_answer_not_an_unanswered_wizard_in_the_page_the_address_the_brief_and_the_command_line():
    from lab.decision.decide import (CLAIMS, FROM_RUN, SUPPORTED, Claim, WizardAnswers, answers_from_url,
                                     answers_to_url, recommend, stated)
    from lab.decision.report import parse_needs

    claims = [Claim(cid, text, "", a, b, metric, expect, SUPPORTED, detail=f"{a} - {b}")
              for cid, text, _, a, b, metric, expect in CLAIMS]
    no_no = WizardAnswers(knowledge=False, behaviour=False)
    assert not stated(WizardAnswers()) and stated(no_no)
    assert recommend(WizardAnswers(), claims).reasons[0] == FROM_RUN
    framework = recommend(no_no, claims)
    assert framework.approach == "prompt" and framework.reasons[0].startswith("No external data")
    for answers in (WizardAnswers(), no_no, WizardAnswers(knowledge=True, behaviour=False, citations=True)):
        assert answers_from_url(answers_to_url(answers)) == answers  # a refresh keeps a No, and keeps no answer
    assert answers_to_url(WizardAnswers()) == "" and answers_to_url(no_no) == "no-knowledge,no-behaviour"
    assert parse_needs(None) is None and parse_needs("none") == no_no
    assert parse_needs("knowledge") == WizardAnswers(knowledge=True, behaviour=False)

