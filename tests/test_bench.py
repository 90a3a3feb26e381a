"""The benchmark's ratio plumbing on small inputs (speed itself is claimed by `python -m lab bench`, not here)."""

from lab.bench import Figure, _median_ms, bench_bm25


def test_bm25_figure_compares_against_rank_bm25_on_the_same_corpus():
    texts = [f"error HX-{i} means thing {i % 7} happened on port {7000 + i}" for i in range(200)]
    figure = bench_bm25(texts, ["what does HX-12 mean", "port 7005"], repeats=1)
    assert isinstance(figure, Figure) and figure.name == "bm25" and figure.ratio > 0
    assert figure.detail["chunks"] == 200 and figure.met == (figure.ratio <= 0.1)


def test_median_ms_counts_each_repeat():
    calls = []
    assert _median_ms(lambda: calls.append(1), 5) >= 0 and len(calls) == 5
