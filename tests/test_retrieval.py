"""Fusion maths against hand-computed values; BM25 and hybrid retrieval over a real Chroma."""

import pytest

from lab.fusion import rrf
from lab.ingest import ingest
from lab.retrieval import retrievers_for


def test_rrf_hand_computed():
    fused = dict(rrf([["a", "b", "c"], ["c", "a"]], k=1))
    assert fused["a"] == pytest.approx(1 / 2 + 1 / 3)
    assert fused["b"] == pytest.approx(1 / 3)
    assert fused["c"] == pytest.approx(1 / 4 + 1 / 2)
    assert [i for i, _ in rrf([["a", "b", "c"], ["c", "a"]], k=1)] == ["a", "c", "b"]


def test_rrf_weights_and_ties():
    assert [i for i, _ in rrf([["x"], ["y"]])] == ["x", "y"]  # a tie keeps first appearance
    assert [i for i, _ in rrf([["x"], ["y"]], weights=[1, 2])] == ["y", "x"]
    assert rrf([]) == []


@pytest.fixture
def modes(tmp_path, fake_embedder, any_store):
    (tmp_path / "errors.csv").write_text(
        "code,message\nHX-2107,storage quota exceeded for the organisation\nHX-3021,SSO assertion expired\n"
        "HX-1204,agent cannot reach server\n")
    (tmp_path / "guide.md").write_text("# Storage\nWhen storage runs out, uploads are refused until an admin "
                                       "buys more space.\n")
    ingest([tmp_path], "t-hybrid", fake_embedder, any_store)
    return retrievers_for(any_store, "t-hybrid", fake_embedder)


def test_bm25_finds_exact_identifiers(modes):
    hits = modes["bm25"].search("What does HX-3021 mean?", 3)
    assert hits[0].text.startswith("code: HX-3021")
    assert hits[0].ranks == {"bm25": 1} and hits[0].scores["bm25"] > 0
    assert modes["bm25"].search("zzz qqq", 3) == []


def test_hybrid_fuses_by_id_and_keeps_every_stage(modes):
    hits = modes["hybrid"].search("HX-3021 SSO", 4)
    assert len(hits) == len({h.id for h in hits}) == 4
    top = hits[0]
    assert top.text.startswith("code: HX-3021")
    assert {"dense", "bm25", "rrf"} <= set(top.scores) and top.ranks["rrf"] == 1
    assert top.score == top.scores["rrf"]
    assert "rerank" not in modes, "no reranker given, no rerank mode"
