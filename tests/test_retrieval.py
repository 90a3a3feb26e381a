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


def _plain_hybrid(modes, query, k):
    """Hybrid fused from two full searches (texts read from Chroma): what the fast path must equal."""
    from lab.fusion import rrf

    dense, lexical = modes["dense"].search(query, 20), modes["bm25"].search(query, 20)
    by_id = {h.id: h for h in dense + lexical}
    return [(i, by_id[i].text, by_id[i].source, round(s, 9)) for i, s in rrf([[h.id for h in dense],
                                                                            [h.id for h in lexical]])][:k]


@pytest.mark.parametrize("query", ["HX-3021 SSO", "storage runs out", "agent server", "nothing matches zzz"])
def test_hybrid_reads_texts_from_the_lexical_index_with_the_same_hits(modes, query):
    hits = modes["hybrid"].search(query, 4)
    assert [(h.id, h.text, h.source, round(h.score, 9)) for h in hits] == _plain_hybrid(modes, query, 4)
    dense = {h.id: h for h in modes["dense"].search(query, 20)}
    for h in hits:
        if h.id in dense:
            assert h.scores["dense"] == pytest.approx(dense[h.id].scores["dense"])
            assert h.ranks["dense"] == dense[h.id].ranks["dense"]


def test_hybrid_still_finds_a_chunk_the_lexical_index_has_not_seen(tmp_path, fake_embedder, any_store):
    from lab.retrieval import bm25_index

    (tmp_path / "a.md").write_text("# A\nThe API listens on port 7443.\n")
    ingest([tmp_path], "t-stale", fake_embedder, any_store)
    index = bm25_index(any_store, "t-stale")  # built before b.md arrives
    (tmp_path / "b.md").write_text("# B\nBackups run nightly at 02:00 UTC.\n")
    ingest([tmp_path], "t-stale", fake_embedder, any_store)
    hybrid = retrievers_for(any_store, "t-stale", fake_embedder, index=index)["hybrid"]
    texts = {h.text for h in hybrid.search("Backups run nightly at 02:00 UTC.", 4)}
    assert "Backups run nightly at 02:00 UTC." in {t.splitlines()[-1] for t in texts}


def test_a_collection_deleted_and_rebuilt_under_its_name_is_queried_afresh(tmp_path, fake_embedder, any_store):
    (tmp_path / "a.md").write_text("# A\nThe API listens on port 7443.\n")
    ingest([tmp_path], "t-rebuilt", fake_embedder, any_store)
    dense = retrievers_for(any_store, "t-rebuilt", fake_embedder)["dense"]
    assert "7443" in dense.search("port", 1)[0].text
    any_store.client.delete_collection("t-rebuilt")  # as another process would: this store is not told
    (tmp_path / "a.md").write_text("# A\nThe API listens on port 9443.\n")
    ingest([tmp_path], "t-rebuilt", fake_embedder, any_store)
    assert "9443" in dense.search("port", 1)[0].text
