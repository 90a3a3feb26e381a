"""Fusion maths against hand-computed values; BM25 and hybrid retrieval over a real Chroma."""

import pytest

from lab.index.fusion import rrf
from lab.index.ingest import ingest
from lab.index.retrieval import retrievers_for


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


def test_convex_fusion_keeps_a_strong_single_retriever_hit_that_rrf_drops():
    """BM25's first hit, far ahead of its second, is one dense did not return; dense's candidates are close
    together, and BM25 ranks them low. RRF sees ranks only: the chunks both lists hold pass the strong hit. The
    convex combination of normalised scores keeps it beside dense's own first hit, at the top."""
    from lab.index.fusion import convex

    dense = [(f"d{i}", 0.60 - i * 0.01) for i in range(10)]
    bm25 = [("exact", 14.0)] + [(f"d{i}", 3.0 - i * 0.1) for i in range(9, -1, -1)]
    by_rrf = [i for i, _ in rrf([[i for i, _ in dense], [i for i, _ in bm25]])]
    assert by_rrf.index("exact") > 3
    assert {i for i, _ in convex([dense, bm25])[:2]} == {"d0", "exact"}
    assert convex([[("a", 1.0)], []]) == [("a", 0.5)]  # one list empty: the other still ranks


def test_the_default_fusion_keeps_each_retrievers_first_hit_on_top_when_the_lists_nearly_tie():
    """The real case behind the default (the PDF manuals): BM25's first hit leads its second by a few percent and
    dense ranks it ninth, so every score fusion puts chunks that both rank middling ahead of it. `leaders` keeps
    both retrievers' first hits in the top two, in fused order, and otherwise orders by summed z-scores."""
    from lab.index.fusion import convex, leaders, zscore

    dense = [(f"d{i}", 0.55 - i * 0.005) for i in range(8)] + [("header", 0.50)]
    bm25 = [("header", 4.55)] + [(f"d{i}", 4.3 - i * 0.1) for i in range(2, 8)]
    for fuse in (convex, zscore):
        assert [i for i, _ in fuse([dense, bm25])].index("header") > 1
    top = [i for i, _ in leaders([dense, bm25])]
    assert set(top[:2]) == {"d0", "header"} and len(top) == len(set(top)) == 9
    assert [i for i, _ in leaders([dense, []])] == [i for i, _ in dense]  # one list empty: the other's order
    assert leaders([[], []]) == []


def test_hybrid_fusion_is_a_setting(any_store, fake_embedder, modes):
    rrf_modes = retrievers_for(any_store, "t-hybrid", fake_embedder, fusion="rrf")
    hit = rrf_modes["hybrid"].search("HX-3021 SSO", 4)[0]
    assert "rrf" in hit.scores and "leaders" not in hit.scores


def test_hybrid_fuses_by_id_and_keeps_every_stage(modes):
    hits = modes["hybrid"].search("HX-3021 SSO", 4)
    assert len(hits) == len({h.id for h in hits}) == 4
    top = hits[0]
    assert top.text.startswith("code: HX-3021")
    assert {"dense", "bm25", "leaders"} <= set(top.scores) and top.ranks["leaders"] == 1
    assert top.score == top.scores["leaders"]
    assert "rerank" not in modes, "no reranker given, no rerank mode"


def _plain_hybrid(modes, query, k):
    """Hybrid fused from two full searches (texts read from Chroma): what the fast path must equal."""
    from lab.index.fusion import leaders

    dense, lexical = modes["dense"].search(query, 20), modes["bm25"].search(query, 20)
    by_id = {h.id: h for h in dense + lexical}
    fused = leaders([[(h.id, h.score) for h in dense], [(h.id, h.score) for h in lexical]])
    return [(i, by_id[i].text, by_id[i].source, round(s, 9)) for i, s in fused][:k]


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
    from lab.index.retrieval import bm25_index

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


def test_bm25_query_path_returns_what_bm25s_retrieve_returns():
    """The index scores queries straight from bm25s's matrix (no tokenizer or retrieve call per query, whose
    progress-bar plumbing cost a third of each query): same scores, best first, on the sample corpus."""
    import bm25s

    from lab.index.bm25 import STOPWORDS, BM25Index
    from lab.config import SAMPLE_DOCS
    from lab.evaluation.golden import load_golden
    from lab.config import SAMPLE_GOLDEN

    texts = [line for f in sorted(SAMPLE_DOCS.glob("*.md")) for line in f.read_text().split("\n\n") if line.strip()]
    index = BM25Index.build([str(i) for i in range(len(texts))], texts, [{} for _ in texts])
    queries = [q.question for q in load_golden(SAMPLE_GOLDEN)] + ["HX-2107 HX-2107 quota", "the and of", "zzzz"]
    for query in queries:
        ours = index.search(query, 10)
        tokens = bm25s.tokenize([query], stopwords=STOPWORDS, return_ids=False, show_progress=False)
        docs, scores = (index._retriever.retrieve(tokens, k=10, show_progress=False) if tokens[0]
                        else ([[]], [[]]))
        theirs = [(int(d), float(s)) for d, s in zip(docs[0], scores[0]) if s > 0]
        assert [round(s, 5) for _, s in ours] == [round(s, 5) for _, s in theirs], query
        assert [s for _, s in ours] == sorted((s for _, s in ours), reverse=True)
        distinct = {round(s, 5) for _, s in theirs if [round(t, 5) for _, t in theirs].count(round(s, 5)) == 1}
        assert {d for d, s in ours if round(s, 5) in distinct} == {d for d, s in theirs if round(s, 5) in distinct}


def test_fusion_docstring_examples():
    import doctest

    import lab.index.fusion

    result = doctest.testmod(lab.index.fusion)
    assert result.attempted and not result.failed
