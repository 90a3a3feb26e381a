"""Plotly figures built from the lab's records (the same records the CSVs and tables show)."""

from __future__ import annotations

from collections.abc import Sequence


def retrieval_chart(results: Sequence) -> "object":
    """Grouped bars of hit@k, recall@k and MRR per retrieval mode, on a full 0-1 axis."""
    import plotly.graph_objects as go

    figure = go.Figure()
    for metric, label in (("hit_at_k", "hit@k"), ("recall_at_k", "recall@k"), ("mrr", "MRR")):
        values = [getattr(r, metric) for r in results]
        figure.add_bar(name=label, x=[r.mode for r in results], y=values, text=[f"{v:.2f}" for v in values],
                       textposition="outside")
    k = results[0].k if results else "?"
    n = results[0].questions if results else 0
    figure.update_layout(barmode="group", yaxis={"range": [0, 1.1], "title": "score (0-1)"},
                         title=f"Retrieval quality at k={k} over {n} golden questions", legend_title="metric")
    return figure
